#include "ui/main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QShortcut>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>

#include "bridge/engine_bridge.h"
#include "bridge/model_scanner.h"
#include "bridge/store_client.h"
#include "ui/adapters_page.h"
#include "ui/app_services.h"
#include "ui/chat_controller.h"
#include "ui/chat_input.h"
#include "ui/chat_panel.h"
#include "ui/engine_status_bar.h"
#include "ui/model_library_model.h"
#include "ui/models_page.h"
#include "ui/server_page.h"
#include "ui/session_list_panel.h"
#include "ui/theme.h"

namespace pagoda::ui {

namespace {
constexpr int kChatTab = 0;
constexpr int kModelsTab = 1;
}  // namespace

MainWindow::MainWindow(AppServices& services, QWidget* parent) : QMainWindow(parent), m_services(services) {
    setObjectName(QStringLiteral("pagodaMainWindow"));
    setWindowTitle(tr("Pagoda"));
    setWindowIcon(appIcon());

    m_controller = new ChatController(services.store(), services.bridge(), this);
    m_library = new ModelLibraryModel(services.store(), services.bridge(), this);

    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("pageTabs"));
    m_tabs->setDocumentMode(true);

    m_chatSplitter = new QSplitter(Qt::Horizontal, m_tabs);
    m_chatSplitter->setObjectName(QStringLiteral("chatSplitter"));
    m_sessionPanel = new SessionListPanel(*m_controller, services.store(), m_chatSplitter);
    m_chatPanel = new ChatPanel(*m_controller, services.bridge(), m_chatSplitter);
    m_chatSplitter->addWidget(m_sessionPanel);
    m_chatSplitter->addWidget(m_chatPanel);
    m_chatSplitter->setStretchFactor(0, 0);
    m_chatSplitter->setStretchFactor(1, 1);
    m_chatSplitter->setSizes({240, 760});
    m_chatSplitter->setChildrenCollapsible(false);
    m_tabs->addTab(m_chatSplitter, tr("Chat"));

    m_modelsPage = new ModelsPage(*m_library, services.store(), services.bridge(), services.scanner(), m_tabs);
    m_tabs->addTab(m_modelsPage, tr("Models"));
    m_adaptersPage = new AdaptersPage(services.store(), services.bridge(), *m_controller, *m_library, m_tabs);
    m_tabs->addTab(m_adaptersPage, tr("Adapters"));
    m_serverPage = new ServerPage(services.localServer(), services.settings(), m_tabs);
    m_tabs->addTab(m_serverPage, tr("Local server"));
    setCentralWidget(m_tabs);

    m_statusBar = new EngineStatusBar(services.bridge(), this);
    setStatusBar(m_statusBar);

    buildToolBar();
    buildMenus();

    connect(m_controller, &ChatController::errorOccurred, this, &MainWindow::showError);
    connect(&services.store(), &bridge::StoreClient::errorOccurred, this, &MainWindow::showError);
    connect(m_controller, &ChatController::exportFinished, this, [this](const QString& path, const QString& error) {
        if (error.isEmpty()) {
            m_statusBar->showMessage(tr("Exported to %1").arg(path), 6000);
        } else {
            showError(tr("Export failed: %1").arg(error));
        }
    });
    connect(&services.bridge(), &bridge::EngineBridge::loadFailed, this,
            [this](const QString&, const QString& message) { showError(tr("Could not load the model: %1").arg(message)); });
    connect(&services.bridge(), &bridge::EngineBridge::modelLoaded, this, [this](const bridge::LoadedModelInfo& info) {
        m_services.settings().setValue(QStringLiteral("models/lastModel"), info.modelId);
    });
    connect(m_controller, &ChatController::sessionChanged, this, [this](qint64 id) {
        m_services.settings().setValue(QStringLiteral("chat/lastSession"), id);
    });
    // A first start with an empty library opens the Models page, where a model is added.
    auto* firstLoad = new QObject(this);
    connect(m_library, &ModelLibraryModel::reloaded, firstLoad, [this, firstLoad] {
        if (m_library->rowCount() == 0) showModelsPage();
        firstLoad->deleteLater();
    });
    // After adding models, the picker follows the library.
    connect(m_library, &ModelLibraryModel::reloaded, this, &MainWindow::syncModelPicker);

    restoreLayout();
    const qint64 lastSession = m_services.settings().value(QStringLiteral("chat/lastSession")).toLongLong();
    if (lastSession > 0) m_controller->openSession(lastSession);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildToolBar() {
    auto* bar = addToolBar(tr("Model"));
    bar->setObjectName(QStringLiteral("modelToolBar"));
    bar->setMovable(false);
    auto* label = new QLabel(tr(" Model: "), bar);
    bar->addWidget(label);
    m_modelPicker = new QComboBox(bar);
    m_modelPicker->setObjectName(QStringLiteral("modelPicker"));
    m_modelPicker->setModel(m_library);
    m_modelPicker->setModelColumn(ModelLibraryModel::Name);
    m_modelPicker->setMinimumContentsLength(28);
    m_modelPicker->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_modelPicker->setPlaceholderText(tr("No model loaded"));
    m_modelPicker->setToolTip(tr("Pick a model to load it"));
    bar->addWidget(m_modelPicker);
    auto* unload = bar->addAction(tr("Unload"));
    unload->setToolTip(tr("Free the memory the model uses"));
    m_toolbarProgress = new QProgressBar(bar);
    m_toolbarProgress->setMaximumWidth(160);
    m_toolbarProgress->setVisible(false);
    m_toolbarProgress->setTextVisible(false);
    auto* progressAction = bar->addWidget(m_toolbarProgress);
    progressAction->setVisible(false);

    bridge::EngineBridge& engine = m_services.bridge();
    connect(m_modelPicker, &QComboBox::activated, this, [this](int row) {
        if (m_syncingPicker) return;
        const store::Model* m = m_library->modelAt(row);
        bridge::EngineBridge& engine = m_services.bridge();
        if (!m || engine.isLoading() || (engine.isLoaded() && engine.loadedModel().modelId == m->id)) return;
        const qint64 id = m->id;
        engine.loadModel(id, QString::fromStdString(m->path));
        m_services.store().run([id](store::StoreOps& ops) { return ops.mark_model_used(id); });
    });
    connect(unload, &QAction::triggered, &engine, &bridge::EngineBridge::unloadModel);
    connect(&engine, &bridge::EngineBridge::loadStarted, this, [this, progressAction] {
        progressAction->setVisible(true);
        m_toolbarProgress->setVisible(true);
        m_toolbarProgress->setRange(0, 0);
        m_modelPicker->setEnabled(false);
    });
    connect(&engine, &bridge::EngineBridge::loadProgress, this, [this](const QString& stage, int percent) {
        m_toolbarProgress->setToolTip(stage);
        if (percent < 0) {
            m_toolbarProgress->setRange(0, 0);
        } else {
            m_toolbarProgress->setRange(0, 100);
            m_toolbarProgress->setValue(percent);
        }
    });
    auto loadEnded = [this, progressAction] {
        progressAction->setVisible(false);
        m_modelPicker->setEnabled(true);
        syncModelPicker();
    };
    connect(&engine, &bridge::EngineBridge::modelLoaded, this, loadEnded);
    connect(&engine, &bridge::EngineBridge::loadFailed, this, loadEnded);
    connect(&engine, &bridge::EngineBridge::modelUnloaded, this, loadEnded);
}

void MainWindow::syncModelPicker() {
    // The picker shows the loaded model; with none, its placeholder.
    m_syncingPicker = true;
    bridge::EngineBridge& engine = m_services.bridge();
    const int row = engine.isLoaded() ? m_library->rowOfId(engine.loadedModel().modelId) : -1;
    m_modelPicker->setCurrentIndex(row);
    m_syncingPicker = false;
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* newChat = file->addAction(tr("&New chat"), m_controller, &ChatController::newSession);
    newChat->setShortcut(QKeySequence::New);
    QAction* addModel = file->addAction(tr("&Add model file\u2026"), m_modelsPage, [this] {
        showModelsPage();
        m_modelsPage->addFilesWithDialog();
    });
    addModel->setShortcut(QKeySequence::Open);
    file->addAction(tr("Add model &folder\u2026"), m_modelsPage, [this] {
        showModelsPage();
        m_modelsPage->addFolderWithDialog();
    });
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* chat = menuBar()->addMenu(tr("&Chat"));
    QAction* stop = chat->addAction(tr("&Stop reply"), m_controller, &ChatController::stop);
    // Esc stops from anywhere on the chat page, not only from the message box (a window-wide
    // Esc would take the key from inline editors and popups elsewhere).
    stop->setShortcut(QKeySequence(Qt::Key_Escape));
    stop->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_chatPanel->addAction(stop);
    QAction* regen = chat->addAction(tr("&Regenerate reply"), m_controller, &ChatController::regenerate);
    regen->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    QAction* focusInput = chat->addAction(tr("&Focus message box"), this, [this] {
        showChatPage();
        m_chatPanel->input()->setFocus();
    });
    focusInput->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    chat->addSeparator();
    chat->addAction(tr("Rename chat"), m_sessionPanel, &SessionListPanel::renameCurrent)
        ->setShortcut(QKeySequence(Qt::Key_F2));
    chat->addAction(tr("Delete chat\u2026"), m_sessionPanel, &SessionListPanel::deleteCurrent);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    QAction* chatPage = view->addAction(tr("&Chat"), this, &MainWindow::showChatPage);
    chatPage->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_1));
    QAction* modelsPage = view->addAction(tr("&Models"), this, &MainWindow::showModelsPage);
    modelsPage->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_2));
    QAction* adaptersPage = view->addAction(tr("&Adapters"), this, &MainWindow::showAdaptersPage);
    adaptersPage->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_3));
    QAction* serverPage = view->addAction(tr("&Local server"), this, &MainWindow::showServerPage);
    serverPage->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_4));
    view->addSeparator();
    QMenu* theme = view->addMenu(tr("&Appearance"));
    auto* group = new QActionGroup(theme);
    const ThemeMode current =
        themeModeFromName(m_services.settings().value(QStringLiteral("appearance/theme")).toString());
    for (ThemeMode mode : {ThemeMode::System, ThemeMode::Light, ThemeMode::Dark}) {
        const QString label = mode == ThemeMode::System  ? tr("Follow the system")
                              : mode == ThemeMode::Light ? tr("Light")
                                                         : tr("Dark");
        QAction* a = theme->addAction(label, this, [this, mode] { setThemeMode(mode); });
        a->setCheckable(true);
        a->setChecked(mode == current);
        group->addAction(a);
    }

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Pagoda"), this, [this] {
        QMessageBox::about(this, tr("About Pagoda"),
                           tr("<h3>Pagoda 0.1</h3><p>Runs GGUF language models on this computer's CPU or NVIDIA "
                              "GPU. Chats are kept in %1.</p>")
                               .arg(m_services.store().path().toHtmlEscaped()));
    });
}

void MainWindow::showChatPage() { m_tabs->setCurrentIndex(kChatTab); }
void MainWindow::showModelsPage() { m_tabs->setCurrentIndex(kModelsTab); }
void MainWindow::showAdaptersPage() { m_tabs->setCurrentIndex(m_tabs->indexOf(m_adaptersPage)); }
void MainWindow::showServerPage() { m_tabs->setCurrentIndex(m_tabs->indexOf(m_serverPage)); }

void MainWindow::setThemeMode(ThemeMode mode) {
    applyTheme(mode);
    m_services.settings().setValue(QStringLiteral("appearance/theme"), themeModeName(mode));
}

void MainWindow::showError(const QString& message) {
    m_lastError = message;
    m_statusBar->showMessage(message, 10000);
}

void MainWindow::restoreLayout() {
    QSettings& s = m_services.settings();
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) resize(1100, 720);
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    m_chatSplitter->restoreState(s.value(QStringLiteral("window/chatSplitter")).toByteArray());
    m_tabs->setCurrentIndex(s.value(QStringLiteral("window/tab"), kChatTab).toInt());
    m_modelsPage->table()->horizontalHeader()->restoreState(s.value(QStringLiteral("window/modelColumns")).toByteArray());
}

void MainWindow::saveLayout() {
    QSettings& s = m_services.settings();
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.setValue(QStringLiteral("window/chatSplitter"), m_chatSplitter->saveState());
    s.setValue(QStringLiteral("window/tab"), m_tabs->currentIndex());
    s.setValue(QStringLiteral("window/modelColumns"), m_modelsPage->table()->horizontalHeader()->saveState());
    s.sync();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    QMainWindow::closeEvent(event);
}

}  // namespace pagoda::ui
