// StoreClient: the GUI's asynchronous access to the Store. A job runs on the store thread
// and its result comes back on the GUI thread, so a slow disk never freezes the window:
//
//   m_storeClient->run(this, [id](StoreOps& ops) { return ops.active_path(id); },
//                      [this](Result<std::vector<Message>> path) { showPath(path); });
//
// Results come back in the order the jobs were queued. A callback whose context object
// was destroyed meanwhile is dropped.
#pragma once

#include <QObject>
#include <QPointer>
#include <memory>
#include <type_traits>

#include "pagoda/status.h"
#include "store/store.h"

namespace pagoda::bridge {

class StoreClient : public QObject {
    Q_OBJECT

public:
    // Opens (and migrates) the database; a newer schema, a corrupt or foreign file fails
    // with the Store's message and leaves the file alone.
    static Result<std::unique_ptr<StoreClient>> open(store::StoreOptions options);
    // Runs the queued jobs and writes streamed text before the store closes.
    ~StoreClient() override;

    store::Store& store() { return *m_store; }
    QString path() const;

    // fn(StoreOps&) -> Status or Result<T> on the store thread, then done(result) on this
    // object's thread if `context` still exists.
    template <typename F, typename Done>
    void run(QObject* context, F fn, Done done);
    // The same without a callback; a failure is reported through errorOccurred.
    template <typename F>
    void run(F fn);

signals:
    void errorOccurred(const QString& message);

private:
    explicit StoreClient(std::unique_ptr<store::Store> store) : m_store(std::move(store)) {}
    void reportError(const Status& status);

    std::unique_ptr<store::Store> m_store;
};

template <typename F, typename Done>
void StoreClient::run(QObject* context, F fn, Done done) {
    using R = std::invoke_result_t<F&, store::StoreOps&>;
    QPointer<QObject> guard(context);
    auto sharedDone = std::make_shared<Done>(std::move(done));
    m_store->submit(std::move(fn), [this, guard, sharedDone](R result) {
        auto shared = std::make_shared<R>(std::move(result));
        QMetaObject::invokeMethod(
            this,
            [guard, sharedDone, shared] {
                if (guard) (*sharedDone)(std::move(*shared));
            },
            Qt::QueuedConnection);
    });
}

template <typename F>
void StoreClient::run(F fn) {
    using R = std::invoke_result_t<F&, store::StoreOps&>;
    run(this, std::move(fn), [this](R result) {
        if constexpr (std::is_same_v<R, Status>) {
            if (!result.is_ok()) reportError(result);
        } else {
            if (!result.is_ok()) reportError(result.status());
        }
    });
}

}  // namespace pagoda::bridge
