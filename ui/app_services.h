// The non-widget parts one desktop window runs on: the Store (through StoreClient), the
// EngineBridge, the ModelScanner and the LocalServer, plus the QSettings the window keeps its
// layout in. Destroyed in the safe order: the local server (it serves the engine), the engine
// (its replies flush into the store), then the scanner, then the store.
#pragma once

#include <QSettings>
#include <QString>
#include <memory>

#include "bridge/bridge_types.h"
#include "pagoda/status.h"

namespace pagoda::bridge {
class EngineBridge;
class LocalServer;
class ModelScanner;
class StoreClient;
}  // namespace pagoda::bridge

namespace pagoda::ui {

struct DesktopOptions {
    QString databasePath;  // empty: $XDG_DATA_HOME/pagoda/pagoda.db
    QString settingsPath;  // empty: the platform's QSettings location for Pagoda
    bridge::BackendFactory backendFactory;  // empty: the CPU
    int maxContextLength = 8192;            // per conversation (the model's own is the upper bound)
};

class AppServices {
public:
    // Opens the store (a newer, corrupt or foreign database fails with its message).
    static Result<std::unique_ptr<AppServices>> create(const DesktopOptions& options);
    ~AppServices();

    bridge::StoreClient& store() { return *m_store; }
    bridge::EngineBridge& bridge() { return *m_bridge; }
    bridge::ModelScanner& scanner() { return *m_scanner; }
    bridge::LocalServer& localServer() { return *m_localServer; }
    QSettings& settings() { return *m_settings; }

private:
    AppServices() = default;

    std::unique_ptr<QSettings> m_settings;
    std::unique_ptr<bridge::StoreClient> m_store;
    std::unique_ptr<bridge::ModelScanner> m_scanner;
    std::unique_ptr<bridge::EngineBridge> m_bridge;
    std::unique_ptr<bridge::LocalServer> m_localServer;  // serves m_bridge's model
};

}  // namespace pagoda::ui
