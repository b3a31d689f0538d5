#include "ui/server_page.h"

#include <QCheckBox>
#include <QClipboard>
#include <QFormLayout>
#include <QGroupBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace pagoda::ui {

namespace {

enum LogColumn { TimeCol, RouteCol, ModelCol, StatusCol, TokensCol, LatencyCol, LogColumnCount };

QStringList splitOrigins(const QString& text) {
    QStringList out;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString o = part.trimmed();
        if (!o.isEmpty()) out << o;
    }
    return out;
}

}  // namespace

ServerPage::ServerPage(bridge::LocalServer& server, QSettings& settings, QWidget* parent)
    : QWidget(parent), m_server(server), m_settings(settings) {
    setObjectName(QStringLiteral("serverPage"));
    auto* layout = new QVBoxLayout(this);

    auto* top = new QHBoxLayout;
    m_startStop = new QPushButton(tr("Start server"), this);
    m_startStop->setObjectName(QStringLiteral("serverStartStop"));
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("serverStatus"));
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_autoStart = new QCheckBox(tr("Start when Pagoda opens"), this);
    m_autoStart->setObjectName(QStringLiteral("serverAutoStart"));
    m_autoStart->setToolTip(tr("IDE plugins find the API without a visit to this page; it serves the model "
                               "the window loads"));
    m_autoStart->setChecked(m_settings.value(QStringLiteral("server/autoStart"), false).toBool());
    top->addWidget(m_startStop);
    top->addWidget(m_status, 1);
    top->addWidget(m_autoStart);
    layout->addLayout(top);

    auto* box = new QGroupBox(tr("Settings"), this);
    auto* form = new QFormLayout(box);
    m_host =
        new QLineEdit(m_settings.value(QStringLiteral("server/host"), QStringLiteral("127.0.0.1")).toString(), box);
    m_host->setObjectName(QStringLiteral("serverHost"));
    m_host->setToolTip(tr("127.0.0.1: only this computer. 0.0.0.0: every network this computer is on."));
    form->addRow(tr("Host"), m_host);
    m_port = new QSpinBox(box);
    m_port->setObjectName(QStringLiteral("serverPort"));
    m_port->setRange(0, 65535);
    m_port->setSpecialValueText(tr("any free port"));
    m_port->setValue(m_settings.value(QStringLiteral("server/port"), 8080).toInt());
    form->addRow(tr("Port"), m_port);

    auto* keyRow = new QHBoxLayout;
    m_apiKey = new QLineEdit(m_settings.value(QStringLiteral("server/apiKey")).toString(), box);
    m_apiKey->setObjectName(QStringLiteral("serverApiKey"));
    m_apiKey->setPlaceholderText(tr("none: any program on this computer may call the API"));
    m_generateKey = new QPushButton(tr("Generate"), box);
    m_copyKey = new QPushButton(tr("Copy"), box);
    m_clearKey = new QPushButton(tr("Clear"), box);
    keyRow->addWidget(m_apiKey, 1);
    keyRow->addWidget(m_generateKey);
    keyRow->addWidget(m_copyKey);
    keyRow->addWidget(m_clearKey);
    form->addRow(tr("API key"), keyRow);

    m_origins = new QLineEdit(m_settings.value(QStringLiteral("server/origins")).toString(), box);
    m_origins->setObjectName(QStringLiteral("serverOrigins"));
    m_origins->setPlaceholderText(tr("browser origins allowed to call, comma-separated (* for any)"));
    form->addRow(tr("Allowed origins"), m_origins);
    layout->addWidget(box);

    auto* snippetBox = new QGroupBox(tr("For IDE plugins (OpenAI-compatible)"), this);
    auto* snippetLayout = new QHBoxLayout(snippetBox);
    m_snippet = new QPlainTextEdit(snippetBox);
    m_snippet->setObjectName(QStringLiteral("serverSnippet"));
    m_snippet->setReadOnly(true);
    m_snippet->setMaximumHeight(90);
    m_copySnippet = new QPushButton(tr("Copy"), snippetBox);
    m_copySnippet->setObjectName(QStringLiteral("serverCopySnippet"));
    snippetLayout->addWidget(m_snippet, 1);
    snippetLayout->addWidget(m_copySnippet, 0, Qt::AlignTop);
    layout->addWidget(snippetBox);

    layout->addWidget(new QLabel(tr("Requests"), this));
    m_log = new QTableWidget(0, LogColumnCount, this);
    m_log->setObjectName(QStringLiteral("serverLog"));
    m_log->setHorizontalHeaderLabels({tr("Time"), tr("Route"), tr("Model"), tr("Status"), tr("Tokens"), tr("Latency")});
    m_log->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_log->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_log->verticalHeader()->setVisible(false);
    m_log->horizontalHeader()->setStretchLastSection(true);
    layout->addWidget(m_log, 1);

    connect(m_startStop, &QPushButton::clicked, this, &ServerPage::toggleServer);
    connect(m_autoStart, &QCheckBox::toggled, this,
            [this](bool on) { m_settings.setValue(QStringLiteral("server/autoStart"), on); });
    connect(m_generateKey, &QPushButton::clicked, this, [this] {
        m_apiKey->setText(bridge::LocalServer::generateApiKey());
        saveSettings();
    });
    connect(m_copyKey, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_apiKey->text()); });
    connect(m_clearKey, &QPushButton::clicked, this, [this] {
        m_apiKey->clear();
        saveSettings();
    });
    connect(m_copySnippet, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_snippet->toPlainText()); });
    for (QLineEdit* e : {m_host, m_apiKey, m_origins}) {
        connect(e, &QLineEdit::editingFinished, this, &ServerPage::saveSettings);
        connect(e, &QLineEdit::textChanged, this, &ServerPage::updateSnippet);
    }
    connect(m_port, &QSpinBox::valueChanged, this, [this] {
        saveSettings();
        updateSnippet();
    });

    connect(&m_server, &bridge::LocalServer::started, this, [this] {
        m_lastError.clear();
        updateState();
    });
    connect(&m_server, &bridge::LocalServer::stopped, this, &ServerPage::updateState);
    connect(&m_server, &bridge::LocalServer::modelChanged, this, &ServerPage::updateState);
    connect(&m_server, &bridge::LocalServer::startFailed, this, [this](const QString& message) {
        m_lastError = message;
        updateState();
    });
    connect(&m_server, &bridge::LocalServer::requestFinished, this, &ServerPage::addLogRow);
    updateState();
    // Once the event loop runs (the window is up); a failure shows in the status as a click's would.
    if (m_autoStart->isChecked()) {
        QTimer::singleShot(0, this, [this] {
            if (!m_server.isRunning() && !m_server.isBusy()) toggleServer();
        });
    }
}

bridge::LocalServerSettings ServerPage::currentSettings() const {
    bridge::LocalServerSettings s;
    s.host = m_host->text().trimmed();
    if (s.host.isEmpty()) s.host = QStringLiteral("127.0.0.1");
    s.port = m_port->value();
    s.apiKey = m_apiKey->text().trimmed();
    s.allowedOrigins = splitOrigins(m_origins->text());
    return s;
}

void ServerPage::saveSettings() {
    m_settings.setValue(QStringLiteral("server/host"), m_host->text().trimmed());
    m_settings.setValue(QStringLiteral("server/port"), m_port->value());
    m_settings.setValue(QStringLiteral("server/apiKey"), m_apiKey->text().trimmed());
    m_settings.setValue(QStringLiteral("server/origins"), m_origins->text().trimmed());
}

void ServerPage::toggleServer() {
    if (m_server.isBusy()) return;
    if (m_server.isRunning()) {
        m_server.stop();
    } else {
        saveSettings();
        m_lastError.clear();
        m_server.start(currentSettings());
    }
    updateState();
}

void ServerPage::updateState() {
    const bool running = m_server.isRunning();
    const bool busy = m_server.isBusy();
    m_startStop->setText(running ? tr("Stop server") : tr("Start server"));
    m_startStop->setEnabled(!busy);
    // Settings apply at start: editable only while stopped.
    for (QWidget* w : std::initializer_list<QWidget*>{m_host, m_port, m_apiKey, m_generateKey, m_clearKey, m_origins}) {
        w->setEnabled(!running && !busy);
    }
    if (busy) {
        m_status->setText(running ? tr("Stopping\u2026") : tr("Starting\u2026"));
    } else if (running) {
        m_status->setText(
            m_server.modelId().isEmpty()
                ? tr("Listening on %1 \u2014 no model loaded: load one to answer requests").arg(m_server.baseUrl())
                : tr("Listening on %1 \u2014 serving %2").arg(m_server.baseUrl(), m_server.modelId()));
    } else if (!m_lastError.isEmpty()) {
        m_status->setText(tr("Could not start: %1").arg(m_lastError));
    } else {
        m_status->setText(tr("Stopped"));
    }
    updateSnippet();
}

void ServerPage::updateSnippet() {
    QString base;
    if (m_server.isRunning()) {
        base = m_server.baseUrl();
    } else {
        const bridge::LocalServerSettings s = currentSettings();
        QString host = s.host == QLatin1String("0.0.0.0") ? QStringLiteral("127.0.0.1") : s.host;
        base = QStringLiteral("http://%1:%2/v1")
                   .arg(host, s.port == 0 ? QStringLiteral("<port>") : QString::number(s.port));
    }
    const QString model = m_server.modelId().isEmpty() ? QStringLiteral("<load a model>") : m_server.modelId();
    const QString key = m_apiKey->text().trimmed();
    m_snippet->setPlainText(QStringLiteral("Base URL: %1\nModel: %2\nAPI key: %3")
                                .arg(base, model, key.isEmpty() ? QStringLiteral("(none; any value works)") : key));
}

void ServerPage::addLogRow(const bridge::RequestLogRow& r) {
    if (m_log->rowCount() >= kMaxLogRows) m_log->removeRow(0);
    const int row = m_log->rowCount();
    m_log->insertRow(row);
    auto set = [this, row](int col, const QString& text) { m_log->setItem(row, col, new QTableWidgetItem(text)); };
    set(TimeCol, r.time.toString(QStringLiteral("HH:mm:ss")));
    set(RouteCol, r.method + QLatin1Char(' ') + r.route);
    set(ModelCol, r.model);
    set(StatusCol, QString::number(r.status));
    set(TokensCol, r.promptTokens + r.completionTokens > 0
                       ? tr("%1 \u2192 %2").arg(r.promptTokens).arg(r.completionTokens)
                       : QString());
    set(LatencyCol, r.latencySeconds >= 1.0 ? tr("%1 s").arg(r.latencySeconds, 0, 'f', 2)
                                            : tr("%1 ms").arg(r.latencySeconds * 1000.0, 0, 'f', 0));
    m_log->scrollToBottom();
}

}  // namespace pagoda::ui
