// Screenshots of each page, written to <build>/screenshots/ for people to look at: the
// first start (empty library), the library with a model loaded, a new chat, a reply
// streaming, a finished conversation with branches and a system prompt, and the dark theme.
// The test checks the files exist and are not blank; what they show is for a human.
#include <QDir>
#include <QImage>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>
#include <QToolButton>

#include "bridge/engine_bridge.h"
#include "bridge/store_client.h"
#include "ui/chat_controller.h"
#include "ui/chat_input.h"
#include "ui/chat_panel.h"
#include "ui/conversation_view.h"
#include "ui/model_library_model.h"
#include "ui/models_page.h"
#include "ui/session_list_panel.h"
#include "ui/theme.h"
#include "ui_test_util.h"

using namespace pagoda;
using namespace pagoda::ui;

class TestUiScreenshots : public QObject {
    Q_OBJECT

private slots:
    void eachPage();

private:
    void shoot(QWidget& window, const QString& name);
    QStringList m_written;
};

void TestUiScreenshots::shoot(QWidget& window, const QString& name) {
    // Let queued updates, layouts and coalesced repaints land first.
    QTest::qWait(120);
    if (auto* view = window.findChild<ConversationView*>()) view->flushUpdates();
    QTest::qWait(60);
    const QString dir = QStringLiteral(PAGODA_SCREENSHOT_DIR);
    QVERIFY(QDir().mkpath(dir));
    const QString path = dir + QLatin1Char('/') + name + QStringLiteral(".png");
    const QImage image = window.grab().toImage();
    QVERIFY(!image.isNull());
    // Not blank: a rendered window has many colours.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7) {
        for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
    }
    QVERIFY2(colours.size() > 8, qPrintable(name));
    QVERIFY(image.save(path));
    m_written << path;
}

void TestUiScreenshots::eachPage() {
    const QString stories = test::storiesModelPath();
    if (stories.isEmpty()) QSKIP("../shared/models/stories260K.gguf is missing");
    test::AppHarness app;
    QVERIFY(app.start());
    MainWindow& w = app.window();
    w.resize(1200, 780);
    bridge::EngineBridge& engine = app.services().bridge();

    // First start: an empty library opens the Models page.
    QTRY_COMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.modelsPage()));
    shoot(w, QStringLiteral("01-first-start-models-empty"));

    w.modelsPage()->addPaths({stories});
    QTRY_COMPARE_WITH_TIMEOUT(w.library().rowCount(), 1, 20000);
    QTRY_VERIFY(w.modelsPage()->table()->selectionModel()->hasSelection());
    QTest::mouseClick(w.modelsPage()->loadButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(engine.isLoaded(), 30000);
    shoot(w, QStringLiteral("02-models-loaded"));

    w.showChatPage();
    QTest::mouseClick(w.sessionPanel()->newButton(), Qt::LeftButton);
    QTRY_VERIFY(w.controller().sessionId() != 0);
    w.chatPanel()->input()->setFocus();
    QTest::keyClicks(w.chatPanel()->input(), QStringLiteral("Once upon a time"));
    shoot(w, QStringLiteral("03-chat-new"));

    // Mid-reply: capture after some text arrived, while the reply is still being written.
    // Greedy, and short replies so a whole conversation fits on one screen.
    const qint64 sid = w.controller().sessionId();
    {
        auto session = app.services().store().store().get_session(sid).get();
        QVERIFY(session.is_ok());
        store::Session s = session.value();
        s.sampling_preset_json = R"({"preset":"greedy","max_tokens":90})";
        QVERIFY(app.services().store().store().update_session(s).get().is_ok());
        w.controller().openSession(sid);
        QTRY_VERIFY(w.controller().session().sampling_preset_json.find("90") != std::string::npos);
    }
    QSignalSpy finished(&w.controller(), &ChatController::replyFinished);
    bool captured = false;
    int deliveries = 0;
    auto c = connect(&engine, &bridge::EngineBridge::tokenReceived, this, [&] {
        if (++deliveries == 1 && !captured) {
            captured = true;
            w.chatPanel()->conversation()->flushUpdates();
            const QImage image = w.grab().toImage();
            image.save(QStringLiteral(PAGODA_SCREENSHOT_DIR "/04-chat-streaming.png"));
        }
    });
    QTest::keyClick(w.chatPanel()->input(), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    disconnect(c);

    // Edit and resend, with a system prompt, so the page shows branches (< 2/2 >).
    QTest::mouseClick(w.chatPanel()->systemPromptToggle(), Qt::LeftButton);
    w.chatPanel()->systemPromptEdit()->setPlainText(QStringLiteral("Tell short stories for children."));
    w.controller().setSystemPrompt(QStringLiteral("Tell short stories for children."));
    w.chatPanel()->startEditing(w.controller().messages().at(0).id);
    shoot(w, QStringLiteral("05-chat-editing"));
    w.chatPanel()->editEditor()->setPlainText(QStringLiteral("Once upon a time, a dragon"));
    QTest::mouseClick(w.chatPanel()->editSaveButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 120000);
    shoot(w, QStringLiteral("06-chat-branches-system-prompt"));

    w.setThemeMode(ThemeMode::Dark);
    shoot(w, QStringLiteral("07-chat-dark"));
    w.showModelsPage();
    shoot(w, QStringLiteral("08-models-dark"));
    w.setThemeMode(ThemeMode::System);

    QVERIFY(captured);
    m_written << QStringLiteral(PAGODA_SCREENSHOT_DIR "/04-chat-streaming.png");
    for (const QString& p : m_written) qInfo("wrote %s", qPrintable(p));
}

QTEST_MAIN(TestUiScreenshots)
#include "test_ui_screenshots.moc"
