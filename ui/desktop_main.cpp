// Built into the `pagoda` executable (see ui/CMakeLists.txt), not into pagoda_ui: it picks
// the device with the CLI's backend factory (CUDA when available), which lives in app/cli.
#include "ui/desktop_main.h"

#include <QApplication>
#include <QMessageBox>
#include <memory>

#include "backend_factory.h"
#include "bridge/engine_bridge.h"
#include "ui/app_services.h"
#include "ui/main_window.h"
#include "ui/theme.h"

namespace pagoda::ui {

int runDesktop(int& argc, char** argv) {
    QApplication::setAttribute(Qt::AA_DontShowIconsInMenus, false);
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Pagoda"));
    QApplication::setOrganizationName(QStringLiteral("Pagoda"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));
    QGuiApplication::setDesktopFileName(QStringLiteral("pagoda"));
    QApplication::setWindowIcon(appIcon());

    DesktopOptions options;
    options.backendFactory = []() -> Result<bridge::BackendChoice> {
        auto choice = cli::create_backend("auto", 0);
        if (!choice) return choice.status();
        bridge::BackendChoice out;
        out.backend = std::move(choice->backend);
        out.reason = std::move(choice->reason);
        return out;
    };
    auto services = AppServices::create(options);
    if (!services) {
        QMessageBox::critical(nullptr, QObject::tr("Pagoda cannot open its chat history"),
                              QObject::tr("%1\n\nThe file was left untouched.")
                                  .arg(QString::fromStdString(services.status().message())));
        return 1;
    }
    applyTheme(themeModeFromName(services.value()->settings().value(QStringLiteral("appearance/theme")).toString()));
    int code = 0;
    {
        MainWindow window(*services.value());
        window.show();
        code = QApplication::exec();
    }
    return code;
}

}  // namespace pagoda::ui
