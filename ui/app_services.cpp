#include "ui/app_services.h"

#include "bridge/engine_bridge.h"
#include "bridge/local_server.h"
#include "bridge/model_scanner.h"
#include "bridge/store_client.h"

namespace pagoda::ui {

Result<std::unique_ptr<AppServices>> AppServices::create(const DesktopOptions& options) {
    std::unique_ptr<AppServices> s(new AppServices);
    store::StoreOptions storeOptions;
    storeOptions.path = options.databasePath.toStdString();
    auto store = bridge::StoreClient::open(storeOptions);
    if (!store) return store.status();
    s->m_store = std::move(store.value());
    s->m_settings = options.settingsPath.isEmpty()
                        ? std::make_unique<QSettings>(QStringLiteral("Pagoda"), QStringLiteral("Pagoda"))
                        : std::make_unique<QSettings>(options.settingsPath, QSettings::IniFormat);
    s->m_scanner = std::make_unique<bridge::ModelScanner>();
    s->m_bridge = std::make_unique<bridge::EngineBridge>(options.backendFactory);
    s->m_bridge->setStore(&s->m_store->store());
    s->m_bridge->setMaxContextLength(options.maxContextLength);
    s->m_localServer = std::make_unique<bridge::LocalServer>(*s->m_bridge);
    return s;
}

AppServices::~AppServices() {
    // The engine's last replies append to the store, so it goes before the store.
    // The local server first: it serves the bridge's engine.
    m_localServer.reset();
    m_bridge.reset();
    m_scanner.reset();
    m_store.reset();
    if (m_settings) m_settings->sync();
}

}  // namespace pagoda::ui
