// pagoda_ui_crash_helper DB MODEL: runs the desktop app on the offscreen platform, loads MODEL,
// sends "Once upon a time" (greedy, EOS ignored, to the end of the context) and, while the reply streams,
// prints what the window shows every 20 ms as "SHOWN <ms since start> <base64 text>". The
// crash test kills it with SIGKILL mid-reply and checks the database kept the text.
#include <QApplication>
#include <QElapsedTimer>
#include <QTest>
#include <QTimer>
#include <cstdio>

#include "bridge/engine_bridge.h"
#include "bridge/store_client.h"
#include "ui/app_services.h"
#include "ui/chat_controller.h"
#include "ui/chat_input.h"
#include "ui/chat_panel.h"
#include "ui/main_window.h"
#include "ui/model_library_model.h"
#include "ui/models_page.h"

using namespace pagoda;
using namespace pagoda::ui;

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    if (argc != 3) {
        std::fprintf(stderr, "usage: pagoda_ui_crash_helper DB MODEL\n");
        return 2;
    }
    DesktopOptions options;
    options.databasePath = QString::fromLocal8Bit(argv[1]);
    options.settingsPath = options.databasePath + QStringLiteral(".ini");
    options.backendFactory = bridge::cpuBackendFactory(1);
    auto services = AppServices::create(options);
    if (!services) return 1;
    MainWindow window(*services.value());
    window.show();
    window.modelsPage()->addPaths({QString::fromLocal8Bit(argv[2])});
    if (!QTest::qWaitFor([&] { return window.library().rowCount() == 1; }, 20000)) return 1;
    const store::Model* m = window.library().modelAt(0);
    services.value()->bridge().loadModel(m->id, QString::fromStdString(m->path));
    if (!QTest::qWaitFor([&] { return services.value()->bridge().isLoaded(); }, 30000)) return 1;
    ChatController& c = window.controller();
    c.newSession();
    if (!QTest::qWaitFor([&] { return c.sessionId() != 0; }, 10000)) return 1;
    {
        store::Store& st = services.value()->store().store();
        auto session = st.get_session(c.sessionId()).get();
        if (!session) return 1;
        store::Session s = session.value();
        s.sampling_preset_json = R"({"preset":"greedy","ignore_eos":true})";
        if (!st.update_session(s).get().is_ok()) return 1;
        c.openSession(s.id);
        if (!QTest::qWaitFor([&] { return c.session().sampling_preset_json.find("ignore_eos") != std::string::npos; }, 10000))
            return 1;
    }
    QElapsedTimer clock;
    clock.start();
    QTimer report;
    QObject::connect(&report, &QTimer::timeout, [&] {
        if (c.messages().size() < 2) return;
        const QByteArray shown = c.messages().at(1).content.toUtf8().toBase64();
        std::printf("SHOWN %lld %s\n", static_cast<long long>(clock.elapsed()), shown.constData());
        std::fflush(stdout);
    });
    report.start(20);
    std::printf("SESSION %lld\n", static_cast<long long>(c.sessionId()));
    std::fflush(stdout);
    window.chatPanel()->input()->setPlainText(QStringLiteral("Once upon a time"));
    window.chatPanel()->send();
    return QApplication::exec();  // until killed
}
