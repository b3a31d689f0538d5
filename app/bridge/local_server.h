// LocalServer: the OpenAI-compatible HTTP server (app/server) inside the desktop app, serving
// the model the chat has loaded: the same Engine, so API requests and chat replies share one
// set of weights and one KV cache (chat replies keep the interactive priority).
//
//   GUI thread                      server thread
//   start(settings) ──queued──►    HttpServer(ModelManager{bridge.servedModel()}).start()
//   started(baseUrl) ◄──queued──   (or startFailed(message))
//   modelLoaded ──► resync ──►     a new model: stop, start again on the same port
//   requestFinished(row) ◄──────   one per answered request (from an HTTP thread)
//
// Starting, stopping and draining (HttpServer waits for running requests) happen on the
// server thread, so the window never waits. The server holds a reference to the engine
// while it runs: it is released on the server thread, which may wait for the engine's join.
#pragma once

#include <QDateTime>
#include <QMetaType>
#include <QObject>
#include <QStringList>
#include <QThread>
#include <memory>

namespace pagoda::server {
class HttpServer;
struct ServedModel;
}  // namespace pagoda::server

namespace pagoda::bridge {

class EngineBridge;

struct LocalServerSettings {
    QString host = QStringLiteral("127.0.0.1");
    int port = 8080;             // 0: any free port
    QString apiKey;              // empty: no authentication
    QStringList allowedOrigins;  // CORS; "*" for any
};

struct RequestLogRow {
    QDateTime time;
    QString method;
    QString route;
    QString model;
    int status = 0;
    qint64 promptTokens = 0;
    qint64 completionTokens = 0;
    double latencySeconds = 0.0;
};

class LocalServer : public QObject {
    Q_OBJECT

public:
    explicit LocalServer(EngineBridge& bridge, QObject* parent = nullptr);
    // Stops the server (running requests are cut short after a short grace) and joins.
    ~LocalServer() override;

    // GUI-thread view of the state.
    bool isRunning() const { return m_running; }
    bool isBusy() const { return m_busy; }  // a start or stop is in progress
    int port() const { return m_port; }
    QString host() const { return m_settings.host; }
    QString baseUrl() const;                       // "http://127.0.0.1:8080/v1"
    QString modelId() const { return m_modelId; }  // what clients put in "model" ("" with none)
    const LocalServerSettings& settings() const { return m_settings; }

    // A random key for Authorization: Bearer (48 hex characters, from the system's RNG).
    static QString generateApiKey();

public slots:
    void start(const pagoda::bridge::LocalServerSettings& settings);
    void stop();

signals:
    void started(const QString& baseUrl);
    void startFailed(const QString& message);
    void stopped();
    void modelChanged(const QString& modelId);
    void requestFinished(const pagoda::bridge::RequestLogRow& row);

private:
    template <typename F>
    void onWorker(F fn);
    void resync();
    // Server thread.
    void workerStart(LocalServerSettings settings, int port, bool announce);
    void workerStop();

    EngineBridge& m_bridge;
    QThread m_thread;
    QObject* m_workerContext = nullptr;

    // GUI thread.
    LocalServerSettings m_settings;
    bool m_running = false;
    bool m_busy = false;
    int m_port = 0;
    QString m_modelId;

    // Server thread.
    std::unique_ptr<server::HttpServer> m_server;
    std::shared_ptr<server::ServedModel> m_served;
};

}  // namespace pagoda::bridge

Q_DECLARE_METATYPE(pagoda::bridge::RequestLogRow)
Q_DECLARE_METATYPE(pagoda::bridge::LocalServerSettings)
