// Shared pieces of the desktop app's Qt Tests: a window on a temporary database that can be
// closed and opened again (a "restart"), and paths to test models.
#pragma once

#include <QString>
#include <QTemporaryDir>
#include <memory>

#include "ui/app_services.h"
#include "ui/main_window.h"

namespace pagoda::ui::test {

// ../shared/models/stories260K.gguf, or "" when absent (tests QSKIP then).
QString storiesModelPath();

// Writes a seeded random-weight llama GGUF into `dir` and returns its path ("" on failure).
// dim/layers/ffn size it; `chatTemplate` non-empty adds tokenizer.chat_template.
QString writeRandomModel(const QString& dir, const QString& name, int dim, int layers, int ffn,
                         const QString& chatTemplate = {}, int contextLength = 1024);

// Writes `window` to <build>/screenshots/<name>.png for people to look at (no assertion on
// what it shows); false when it could not be written.
bool saveScreenshot(QWidget& window, const QString& name);

class AppHarness {
public:
    AppHarness();
    ~AppHarness();

    bool isValid() const { return m_dir.isValid(); }
    QString dir() const { return m_dir.path(); }
    QString databasePath() const { return m_dir.filePath(QStringLiteral("pagoda.db")); }

    // Opens services and a shown window on the harness's database and settings.
    bool start();
    // Closes the window (saving its layout) and shuts everything down, as quitting does.
    void stop();
    MainWindow& window() { return *m_window; }
    AppServices& services() { return *m_services; }

private:
    QTemporaryDir m_dir;
    std::unique_ptr<AppServices> m_services;
    std::unique_ptr<MainWindow> m_window;
};

}  // namespace pagoda::ui::test
