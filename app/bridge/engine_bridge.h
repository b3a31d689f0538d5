// EngineBridge: the GUI's handle on the inference engine (DESIGN.md section 3).
//
//   GUI thread                 bridge worker thread              engine thread
//   loadModel() ──queued──►  open GGUF, pick device,
//                             upload weights, Engine::create
//   generate()  ──queued──►  render template, tokenize,
//                             Engine::submit ──────────────────► steps, Sink::on_delta
//   tokenReceived ◄───────── one queued call per event-loop turn ◄── (text coalesced)
//
// Every Engine call (load, unload, submit, cancel, stats) runs on the worker thread, so
// the GUI thread never waits on a model. Sink callbacks run on the engine thread: they
// append the text to the Store right there (so a GUI stall or a crash loses nothing the
// Store has flushed) and post to the GUI thread at most once per event-loop turn, so a
// fast model cannot flood the GUI with events. All signals are emitted on the GUI thread.
//
// Lifetime: the Store given to setStore() must outlive the bridge. The destructor unloads
// the model (requests end as cancelled, their text is kept) and joins the worker.
#pragma once

#include <QObject>
#include <QThread>
#include <QTimer>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bridge/bridge_types.h"
#include "pagoda/engine.h"

namespace pagoda::store {
class Store;
}
namespace pagoda::server {
struct ServedModel;
}

namespace pagoda::bridge {

struct StreamChannel;

class EngineBridge : public QObject {
    Q_OBJECT

public:
    explicit EngineBridge(BackendFactory backendFactory, QObject* parent = nullptr);
    ~EngineBridge() override;

    // Streamed replies with a persistMessageId are appended to this store as they arrive.
    void setStore(store::Store* store);
    // Longest context a conversation may use (the model's own is the upper bound).
    void setMaxContextLength(int tokens);
    int maxContextLength() const { return m_maxContext; }

    // Loads on the worker thread: loadStarted, loadProgress..., then modelLoaded or
    // loadFailed. A model already loaded is unloaded first (its replies end as cancelled).
    void loadModel(qint64 modelId, const QString& path);
    void unloadModel();

    bool isLoading() const { return m_loading; }
    bool isLoaded() const { return m_loaded.modelId != 0 || !m_loaded.path.isEmpty(); }
    const LoadedModelInfo& loadedModel() const { return m_loaded; }

    // Starts a reply; its text arrives as tokenReceived(ticket, ...) and it always ends
    // with exactly one finished(result) (reason "error" with a message when it cannot
    // start: no model, a template that fails, a prompt too long for the context).
    quint64 generate(GenerationRequest request);
    // Stops a reply at the engine's next step boundary (finished with "cancelled").
    // Unknown or finished tickets are ignored.
    void cancel(quint64 ticket);
    int activeGenerations() const { return static_cast<int>(m_active.size()); }

    // The loaded model as the HTTP server serves it (null when none), so the desktop's local
    // server answers with the same engine the chat uses. Thread-safe. The caller holds the
    // engine alive: drop the pointer on a thread that may wait (the Engine joins its thread).
    std::shared_ptr<server::ServedModel> servedModel() const;

    // Checks the LoRA adapters (with their scales) chat `sessionId` is to run with. What needs
    // no engine (an attachment without a file, a scale outside [0, 2]) fails here at once;
    // otherwise the worker loads each file into the loaded model's engine (once per file and
    // model) and answers with sessionAdaptersChecked. Replies carry their adapters in
    // GenerationRequest::adapters and load them the same way on demand, so a chat's adapters
    // apply again after a model switch, and a file that cannot be used (gone, made for another
    // base model, a backend without LoRA support) fails that reply with the engine's message.
    Status setSessionAdapters(qint64 sessionId, const QVector<AdapterAttachment>& adapters);

signals:
    void loadStarted(qint64 modelId, const QString& path);
    // stage: what is happening; percent 0..100, or -1 while the step gives no progress.
    void loadProgress(const QString& stage, int percent);
    void modelLoaded(const pagoda::bridge::LoadedModelInfo& info);
    void loadFailed(const QString& path, const QString& message);
    void modelUnloaded();
    void tokenReceived(quint64 ticket, const QString& text);
    void finished(const pagoda::bridge::GenerationResult& result);
    void statsChanged(const pagoda::bridge::EngineStatus& status);
    // The answer to setSessionAdapters: `checked` is false when no model was loaded (the
    // adapters load with the chat's first reply); `error` is empty when they loaded.
    void sessionAdaptersChecked(qint64 sessionId, bool checked, const QString& error);

private:
    friend struct StreamChannel;
    // Runs fn on the worker thread.
    template <typename F>
    void onWorker(F fn);
    // Worker thread.
    void workerLoad(qint64 modelId, const QString& path, int maxContext);
    void workerUnload(bool announce);
    void workerGenerate(quint64 ticket, GenerationRequest request, std::shared_ptr<StreamChannel> channel);
    void workerCancel(quint64 ticket);
    void workerPollStats();
    // Engine ids and scales for `adapters`, loading files the engine does not have yet.
    Result<std::vector<AdapterRef>> workerAdapterRefs(const QVector<AdapterAttachment>& adapters);
    // GUI thread: takes what the sink buffered and emits it.
    void drainChannel(const std::shared_ptr<StreamChannel>& channel);

    BackendFactory m_backendFactory;
    QThread m_thread;
    QObject* m_workerContext = nullptr;  // lives on m_thread; lambdas run in its context
    store::Store* m_store = nullptr;
    int m_maxContext = 8192;

    // GUI thread state.
    LoadedModelInfo m_loaded;
    bool m_loading = false;
    quint64 m_nextTicket = 1;
    std::map<quint64, std::shared_ptr<StreamChannel>> m_active;

    // Worker thread state.
    QTimer* m_statsTimer = nullptr;
    std::shared_ptr<server::ServedModel> m_model;  // written on the worker under m_modelMutex
    mutable std::mutex m_modelMutex;
    std::map<quint64, std::shared_ptr<StreamChannel>> m_submitted;
    // Adapter file -> its id in m_model's engine; cleared with the engine (ids are per engine).
    std::map<std::string, int32_t> m_adapterIds;
};

}  // namespace pagoda::bridge
