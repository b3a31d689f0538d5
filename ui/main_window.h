// The desktop window: a Chat page (sessions on the left, the conversation on the right), a
// Models page, an Adapters page and a Local server page, a toolbar with the model picker and load progress, menus with the usual
// shortcuts, and the engine status bar. Layout, the open tab, the last chat and the theme
// are remembered in QSettings.
#pragma once

#include <QMainWindow>

class QComboBox;
class QProgressBar;
class QSplitter;
class QTabWidget;

namespace pagoda::ui {

class AdaptersPage;
class AppServices;
class ChatController;
class ChatPanel;
class EngineStatusBar;
class ModelLibraryModel;
class ModelsPage;
class ServerPage;
class SessionListPanel;
enum class ThemeMode;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(AppServices& services, QWidget* parent = nullptr);
    ~MainWindow() override;

    ChatController& controller() const { return *m_controller; }
    ChatPanel* chatPanel() const { return m_chatPanel; }
    SessionListPanel* sessionPanel() const { return m_sessionPanel; }
    ModelsPage* modelsPage() const { return m_modelsPage; }
    ServerPage* serverPage() const { return m_serverPage; }
    AdaptersPage* adaptersPage() const { return m_adaptersPage; }
    ModelLibraryModel& library() const { return *m_library; }
    EngineStatusBar* engineStatusBar() const { return m_statusBar; }
    QTabWidget* tabs() const { return m_tabs; }
    QComboBox* modelPicker() const { return m_modelPicker; }
    QString lastError() const { return m_lastError; }

    void showChatPage();
    void showModelsPage();
    void showServerPage();
    void showAdaptersPage();
    void setThemeMode(ThemeMode mode);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void buildToolBar();
    void restoreLayout();
    void saveLayout();
    void showError(const QString& message);
    void syncModelPicker();

    AppServices& m_services;
    ChatController* m_controller = nullptr;
    ModelLibraryModel* m_library = nullptr;
    QTabWidget* m_tabs = nullptr;
    QSplitter* m_chatSplitter = nullptr;
    SessionListPanel* m_sessionPanel = nullptr;
    ChatPanel* m_chatPanel = nullptr;
    ModelsPage* m_modelsPage = nullptr;
    ServerPage* m_serverPage = nullptr;
    AdaptersPage* m_adaptersPage = nullptr;
    EngineStatusBar* m_statusBar = nullptr;
    QComboBox* m_modelPicker = nullptr;
    QProgressBar* m_toolbarProgress = nullptr;
    QString m_lastError;
    bool m_syncingPicker = false;
};

}  // namespace pagoda::ui
