#include "bridge/store_client.h"

namespace pagoda::bridge {

Result<std::unique_ptr<StoreClient>> StoreClient::open(store::StoreOptions options) {
    auto opened = store::Store::open(std::move(options));
    if (!opened) return opened.status();
    return std::unique_ptr<StoreClient>(new StoreClient(std::move(opened.value())));
}

StoreClient::~StoreClient() {
    // The store thread finishes its queue here; callbacks it posts to this object are
    // dropped with it.
    m_store.reset();
}

QString StoreClient::path() const { return QString::fromStdString(m_store->path().string()); }

void StoreClient::reportError(const Status& status) { emit errorOccurred(QString::fromStdString(status.message())); }

}  // namespace pagoda::bridge
