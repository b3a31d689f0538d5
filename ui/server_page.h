// The Local server page: start / stop the OpenAI-compatible API on this computer (serving the
// model loaded in the window), host and port, API key (generate, copy, clear), allowed
// browser origins, a live request log and a snippet to paste into an IDE plugin, and
// whether the server starts with the app. The settings are remembered in QSettings.
#pragma once

#include <QWidget>

#include "bridge/local_server.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSettings;
class QSpinBox;
class QTableWidget;

namespace pagoda::ui {

class ServerPage : public QWidget {
    Q_OBJECT

public:
    ServerPage(bridge::LocalServer& server, QSettings& settings, QWidget* parent = nullptr);

    QPushButton* startStopButton() const { return m_startStop; }
    QLineEdit* hostEdit() const { return m_host; }
    QSpinBox* portBox() const { return m_port; }
    QLineEdit* apiKeyEdit() const { return m_apiKey; }
    QPushButton* generateKeyButton() const { return m_generateKey; }
    QPushButton* copyKeyButton() const { return m_copyKey; }
    QPushButton* clearKeyButton() const { return m_clearKey; }
    QLineEdit* originsEdit() const { return m_origins; }
    QTableWidget* logTable() const { return m_log; }
    QPlainTextEdit* snippetEdit() const { return m_snippet; }
    QPushButton* copySnippetButton() const { return m_copySnippet; }
    QLabel* statusLabel() const { return m_status; }
    QCheckBox* autoStartBox() const { return m_autoStart; }

    bridge::LocalServerSettings currentSettings() const;
    static constexpr int kMaxLogRows = 500;  // oldest rows go first

public slots:
    void toggleServer();

private:
    void addLogRow(const bridge::RequestLogRow& row);
    void updateState();
    void updateSnippet();
    void saveSettings();

    bridge::LocalServer& m_server;
    QSettings& m_settings;
    QPushButton* m_startStop = nullptr;
    QCheckBox* m_autoStart = nullptr;
    QLabel* m_status = nullptr;
    QLineEdit* m_host = nullptr;
    QSpinBox* m_port = nullptr;
    QLineEdit* m_apiKey = nullptr;
    QPushButton* m_generateKey = nullptr;
    QPushButton* m_copyKey = nullptr;
    QPushButton* m_clearKey = nullptr;
    QLineEdit* m_origins = nullptr;
    QTableWidget* m_log = nullptr;
    QPlainTextEdit* m_snippet = nullptr;
    QPushButton* m_copySnippet = nullptr;
    QString m_lastError;
};

}  // namespace pagoda::ui
