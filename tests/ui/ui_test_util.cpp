#include "ui_test_util.h"

#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QTest>

#include "bridge/engine_bridge.h"
#include "fixtures/random_model.h"
#include "model/gguf_writer.h"
#include "ui/session_list_panel.h"
#include "ui/models_page.h"

namespace pagoda::ui::test {

QString storiesModelPath() {
    const QString path = QStringLiteral(PAGODA_SHARED_DIR "/models/stories260K.gguf");
    return QFileInfo::exists(path) ? path : QString();
}

QString writeRandomModel(const QString& dir, const QString& name, int dim, int layers, int ffn,
                         const QString& chatTemplate, int contextLength) {
    fixtures::RandomModelConfig config;
    config.dim = dim;
    config.n_layers = layers;
    config.ffn = ffn;
    config.n_heads = 8;
    config.n_kv_heads = 4;
    config.ctx = contextLength;
    GgufWriter writer;
    if (!fixtures::build_random_model(config, writer).is_ok()) return {};
    if (!chatTemplate.isEmpty()) writer.set_string("tokenizer.chat_template", chatTemplate.toStdString());
    const QString path = dir + QLatin1Char('/') + name + QStringLiteral(".gguf");
    if (!writer.write(path.toStdString()).is_ok()) return {};
    return path;
}

bool saveScreenshot(QWidget& window, const QString& name) {
    QTest::qWait(100);  // queued updates and layouts land first
    const QString dir = QStringLiteral(PAGODA_SCREENSHOT_DIR);
    if (!QDir().mkpath(dir)) return false;
    return window.grab().toImage().save(dir + QLatin1Char('/') + name + QStringLiteral(".png"));
}

AppHarness::AppHarness() = default;

AppHarness::~AppHarness() { stop(); }

bool AppHarness::start() {
    DesktopOptions options;
    options.databasePath = databasePath();
    options.settingsPath = m_dir.filePath(QStringLiteral("settings.ini"));
    // One thread: the machines running tests are small, and the GUI thread needs a core too.
    options.backendFactory = bridge::cpuBackendFactory(1);
    auto services = AppServices::create(options);
    if (!services) {
        qWarning("AppServices::create failed: %s", services.status().message().c_str());
        return false;
    }
    m_services = std::move(services.value());
    m_window = std::make_unique<MainWindow>(*m_services);
    m_window->sessionPanel()->setConfirmDeletes(false);
    m_window->modelsPage()->setConfirmRemovals(false);
    m_window->show();
    return QTest::qWaitForWindowExposed(m_window.get());
}

void AppHarness::stop() {
    if (m_window) m_window->close();
    m_window.reset();
    m_services.reset();
}

}  // namespace pagoda::ui::test
