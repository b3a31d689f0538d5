// The server's headers before any Qt header: they use names Qt defines as macros
// (`slots`, `signals`, `emit`) for ordinary members.
#include "server/http_server.h"
#include "server/model_manager.h"
#include "server/served_model.h"

#include "bridge/local_server.h"

#include <QPointer>
#include <QRandomGenerator>

#include "bridge/engine_bridge.h"

namespace pagoda::bridge {

namespace {

// Running API requests get this long to finish when the server stops or switches model.
constexpr double kGraceSeconds = 2.0;

}  // namespace

LocalServer::LocalServer(EngineBridge& bridge, QObject* parent) : QObject(parent), m_bridge(bridge) {
    qRegisterMetaType<RequestLogRow>();
    qRegisterMetaType<LocalServerSettings>();
    m_thread.setObjectName(QStringLiteral("pagoda-local-server"));
    m_workerContext = new QObject;
    m_workerContext->moveToThread(&m_thread);
    m_thread.start();
    // The server follows the chat's model.
    connect(&m_bridge, &EngineBridge::modelLoaded, this, &LocalServer::resync);
    connect(&m_bridge, &EngineBridge::modelUnloaded, this, &LocalServer::resync);
}

LocalServer::~LocalServer() {
    QMetaObject::invokeMethod(
        m_workerContext, [this] { workerStop(); }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    delete m_workerContext;
}

template <typename F>
void LocalServer::onWorker(F fn) {
    QMetaObject::invokeMethod(m_workerContext, std::move(fn), Qt::QueuedConnection);
}

QString LocalServer::baseUrl() const {
    QString host = m_settings.host;
    // A server bound to every address is reached through the loopback one.
    if (host == QLatin1String("0.0.0.0") || host.isEmpty()) host = QStringLiteral("127.0.0.1");
    if (host.contains(QLatin1Char(':'))) host = QLatin1Char('[') + host + QLatin1Char(']');
    return QStringLiteral("http://%1:%2/v1").arg(host).arg(m_port);
}

QString LocalServer::generateApiKey() {
    QString key = QStringLiteral("pagoda-");
    QRandomGenerator* rng = QRandomGenerator::system();
    for (int i = 0; i < 6; ++i) key += QString::number(rng->generate(), 16).rightJustified(8, QLatin1Char('0'));
    return key;
}

void LocalServer::start(const LocalServerSettings& settings) {
    if (m_busy || m_running) return;
    m_settings = settings;
    m_busy = true;
    onWorker([this, settings] { workerStart(settings, settings.port, true); });
}

void LocalServer::stop() {
    if (!m_running || m_busy) return;
    m_busy = true;
    onWorker([this] {
        workerStop();
        QMetaObject::invokeMethod(
            this,
            [this] {
                m_busy = false;
                m_running = false;
                m_modelId.clear();
                emit stopped();
            },
            Qt::QueuedConnection);
    });
}

void LocalServer::resync() {
    // Queued behind any start: the worker compares the model it serves with the bridge's.
    onWorker([this, settings = m_settings] {
        if (!m_server || m_bridge.servedModel() == m_served) return;
        const int port = m_server->port();
        workerStop();
        workerStart(settings, port, false);
    });
}

void LocalServer::workerStart(LocalServerSettings settings, int port, bool announce) {
    m_served = m_bridge.servedModel();
    // Generations come from outside: a factory that never loads files (the chat owns loading).
    auto models = std::make_shared<server::ModelManager>(
        [](const std::string&) -> Result<std::unique_ptr<Engine>> {
            return unsupported("the desktop app serves the model loaded in the window");
        },
        server::ModelManagerConfig{});
    if (m_served) (void)models->add_loaded(m_served);

    server::ServerConfig cfg;
    cfg.host = settings.host.toStdString();
    cfg.port = port;
    cfg.api_key = settings.apiKey.toStdString();
    for (const QString& o : settings.allowedOrigins) cfg.allowed_origins.push_back(o.trimmed().toStdString());
    cfg.shutdown_grace_s = kGraceSeconds;
    cfg.api.max_active_requests = 32;  // one desktop: a few IDE plugins, not a data centre
    QPointer<LocalServer> self(this);
    cfg.on_request = [self](const server::RequestLogEntry& e) {
        RequestLogRow row;
        row.time = e.unix_ms > 0 ? QDateTime::fromMSecsSinceEpoch(e.unix_ms) : QDateTime::currentDateTime();
        row.method = QString::fromStdString(e.method);
        row.route = QString::fromStdString(e.path);
        row.model = QString::fromStdString(e.model);
        row.status = e.status;
        row.promptTokens = e.prompt_tokens;
        row.completionTokens = e.completion_tokens;
        row.latencySeconds = e.latency_s;
        // `self` is only read here; the LocalServer outlives the HttpServer (destructor joins).
        QMetaObject::invokeMethod(
            self.data(),
            [self, row] {
                if (self) emit self->requestFinished(row);
            },
            Qt::QueuedConnection);
    };

    auto httpServer = std::make_unique<server::HttpServer>(std::move(cfg), models);
    const Status status = httpServer->start();
    QString modelId = m_served ? QString::fromStdString(m_served->id) : QString();
    if (!status.is_ok()) {
        httpServer.reset();
        m_served.reset();
        const QString message = QString::fromStdString(status.message());
        QMetaObject::invokeMethod(
            this,
            [this, message] {
                m_busy = false;
                m_running = false;
                m_modelId.clear();
                emit startFailed(message);
            },
            Qt::QueuedConnection);
        return;
    }
    const int bound = httpServer->port();
    m_server = std::move(httpServer);
    QMetaObject::invokeMethod(
        this,
        [this, bound, modelId, announce] {
            m_busy = false;
            m_running = true;
            m_port = bound;
            const bool changed = modelId != m_modelId;
            m_modelId = modelId;
            if (announce) emit started(baseUrl());
            if (announce || changed) emit modelChanged(modelId);
        },
        Qt::QueuedConnection);
}

void LocalServer::workerStop() {
    if (m_server) {
        m_server->request_shutdown();
        m_server->wait();
        m_server.reset();
    }
    m_served.reset();  // may join the engine's thread when the chat already dropped it
}

}  // namespace pagoda::bridge
