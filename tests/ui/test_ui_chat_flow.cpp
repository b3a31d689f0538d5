// The desktop app end to end with a real model (../shared/models/stories260K.gguf), driving
// the real widgets offscreen: add the model, load it, start a chat, send "Once upon a time"
// and watch the reply stream in, stop it with Esc, regenerate, edit and resend, then close
// the window and open a new one on the same database and find the whole history, branches
// included.
#include <QComboBox>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>
#include <QToolButton>

#include "bridge/engine_bridge.h"
#include "bridge/sampling_preset.h"
#include "bridge/store_client.h"
#include "bridge/structured_output.h"
#include "ui/chat_controller.h"
#include "ui/chat_input.h"
#include "ui/chat_panel.h"
#include "ui/conversation_view.h"
#include "ui/engine_status_bar.h"
#include "ui/model_library_model.h"
#include "ui/models_page.h"
#include "ui/session_list_panel.h"
#include "ui_test_util.h"

using namespace pagoda;
using namespace pagoda::ui;

namespace {

constexpr int kReplyTimeoutMs = 120000;
const QString kStoryStart = QStringLiteral(", there was a little girl named Lily");

// Clicks a link in the conversation (branch arrows, Edit, Copy) like a user.
bool clickLink(ConversationView* view, const QString& action, qint64 messageId) {
    const QRect r = view->anchorRect(ConversationView::linkFor(action, messageId));
    if (r.isEmpty()) return false;
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, r.center());
    return true;
}

}  // namespace

class TestUiChatFlow : public QObject {
    Q_OBJECT

private slots:
    void wholeConversationSurvivesARestart();
    void jsonOutputRepliesFollowTheSchema();

private:
    // Loads stories260K through the Models page's real buttons.
    void addAndLoadModel(MainWindow& w, const QString& path);
    // Starts the app and loads the model; false when either fails.
    bool startWithModel(test::AppHarness& app, const QString& path);
};

void TestUiChatFlow::addAndLoadModel(MainWindow& w, const QString& path) {
    w.showModelsPage();
    w.modelsPage()->addPaths({path});
    QTRY_COMPARE_WITH_TIMEOUT(w.library().rowCount(), 1, 20000);
    const store::Model* m = w.library().modelAt(0);
    QCOMPARE(QString::fromStdString(m->display_name), QStringLiteral("stories260K"));
    QCOMPARE(QString::fromStdString(m->architecture), QStringLiteral("llama"));
    QCOMPARE(QString::fromStdString(m->quantization), QStringLiteral("F32"));
    QCOMPARE(m->parameter_count, int64_t{292800});
    QCOMPARE(m->context_length, int64_t{2048});
    QVERIFY(!m->has_chat_template);
    QTRY_VERIFY(w.modelsPage()->table()->selectionModel()->hasSelection());
    QVERIFY(w.modelsPage()->loadButton()->isEnabled());
    QTest::mouseClick(w.modelsPage()->loadButton(), Qt::LeftButton);
}

bool TestUiChatFlow::startWithModel(test::AppHarness& app, const QString& path) {
    if (!app.start()) return false;
    addAndLoadModel(app.window(), path);
    return QTest::qWaitFor([&app] { return app.services().bridge().isLoaded(); }, 30000);
}

void TestUiChatFlow::wholeConversationSurvivesARestart() {
    const QString model = test::storiesModelPath();
    if (model.isEmpty()) QSKIP("../shared/models/stories260K.gguf is missing");
    test::AppHarness app;
    QVERIFY(startWithModel(app, model));  // ---- add and load ----
    MainWindow* w = &app.window();
    bridge::EngineBridge* engine = &app.services().bridge();
    QCOMPARE(engine->loadedModel().name, QStringLiteral("stories260K"));
    QVERIFY(!engine->loadedModel().hasChatTemplate);
    QTRY_VERIFY(w->engineStatusBar()->deviceText().contains(QStringLiteral("stories260K")));
    QCOMPARE(w->modelPicker()->currentText(), QStringLiteral("stories260K"));

    // ---- new chat, greedy so the reply is known ----
    w->showChatPage();
    ChatPanel* chat = w->chatPanel();
    ChatController& controller = w->controller();
    QTest::mouseClick(w->sessionPanel()->newButton(), Qt::LeftButton);
    QTRY_VERIFY(controller.sessionId() != 0);
    const qint64 sessionId = controller.sessionId();
    chat->presetBox()->setCurrentIndex(chat->presetBox()->findData(QStringLiteral("greedy")));
    QTRY_VERIFY(controller.session().sampling_preset_json.find("greedy") != std::string::npos);

    // ---- send; the reply streams in ----
    QSignalSpy tokens(engine, &bridge::EngineBridge::tokenReceived);
    QSignalSpy finished(&controller, &ChatController::replyFinished);
    ConversationView* view = chat->conversation();
    chat->input()->setFocus();
    QTest::keyClicks(chat->input(), QStringLiteral("Once upon a time"));
    QTest::keyClick(chat->input(), Qt::Key_Return);
    QVERIFY(chat->input()->toPlainText().isEmpty());
    QVERIFY(controller.isGenerating());
    QTRY_COMPARE_WITH_TIMEOUT(view->messageCount(), 2, 10000);
    // Text appears on screen while the reply is still being written.
    bool seenWhileStreaming = false;
    QElapsedTimer waited;
    waited.start();
    while (controller.isGenerating() && waited.elapsed() < kReplyTimeoutMs) {
        QTest::qWait(10);
        if (controller.isGenerating() && view->renderedText(1).size() > 20) seenWhileStreaming = true;
    }
    QVERIFY(seenWhileStreaming);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kReplyTimeoutMs);
    const auto first = finished.at(0).at(0).value<bridge::GenerationResult>();
    QVERIFY2(first.reason == QStringLiteral("length") || first.reason == QStringLiteral("stop"), qPrintable(first.reason));
    QVERIFY(tokens.count() > 1);  // streamed, not delivered at once
    view->flushUpdates();
    QString replyText = controller.messages().at(1).content;
    QVERIFY2(replyText.startsWith(kStoryStart), qPrintable(replyText.left(80)));
    QVERIFY2(view->renderedText(1).startsWith(kStoryStart), qPrintable(view->renderedText(1).left(80)));
    QVERIFY(view->renderedText(0).contains(QStringLiteral("Once upon a time")));
    // Coalesced: far fewer repaints than tokens.
    QVERIFY(view->repaintCount() < first.completionTokens);
    QCOMPARE(QString::fromStdString(controller.session().title), QStringLiteral("Once upon a time"));
    // Written to the store as it streamed: the stored reply is what was shown.
    {
        auto path = app.services().store().store().active_path(sessionId).get();
        QVERIFY(path.is_ok());
        QCOMPARE(path->size(), size_t{2});
        QCOMPARE(QString::fromStdString(path->at(0).content), QStringLiteral("Once upon a time"));
        QCOMPARE(QString::fromStdString(path->at(1).content), replyText);
        QVERIFY(path->at(1).completed);
    }

    // ---- stop with Esc while a new reply streams (regenerate starts it) ----
    bool stopped = false;
    for (int attempt = 0; attempt < 5 && !stopped; ++attempt) {
        const int before = finished.count();
        bool pressed = false;
        auto c = connect(engine, &bridge::EngineBridge::tokenReceived, this, [&] {
            if (pressed) return;
            pressed = true;
            QTest::keyClick(chat->input(), Qt::Key_Escape);
        });
        QVERIFY(chat->regenerateButton()->isEnabled());
        QTest::mouseClick(chat->regenerateButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), before + 1, kReplyTimeoutMs);
        disconnect(c);
        const auto r = finished.last().at(0).value<bridge::GenerationResult>();
        // A loaded machine can let the whole reply finish before the key arrives; try again.
        stopped = r.reason == QStringLiteral("cancelled");
    }
    QVERIFY2(stopped, "Esc never stopped a streaming reply");
    view->flushUpdates();
    const MessageItem stoppedItem = controller.messages().at(1);
    const QString stoppedText = stoppedItem.content;
    QVERIFY(stoppedItem.note.contains(QStringLiteral("stopped")));
    QVERIFY(view->frameText(1).contains(QStringLiteral("stopped")));
    QVERIFY(stoppedItem.siblingCount >= 2);
    QVERIFY(!controller.isGenerating());
    QVERIFY(chat->sendButton()->isEnabled());
    QVERIFY(!chat->stopButton()->isEnabled());
    const int repliesAfterStop = stoppedItem.siblingCount;

    // ---- regenerate to the end; the stopped version stays reachable ----
    const int beforeRegen = finished.count();
    QTest::mouseClick(chat->regenerateButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), beforeRegen + 1, kReplyTimeoutMs);
    view->flushUpdates();
    MessageItem reply = controller.messages().at(1);
    QCOMPARE(reply.siblingCount, repliesAfterStop + 1);
    QCOMPARE(reply.siblingIndex, repliesAfterStop);
    QVERIFY(view->frameText(1).contains(QStringLiteral("%1/%1").arg(repliesAfterStop + 1)));
    QVERIFY(reply.content.startsWith(kStoryStart));
    QVERIFY(clickLink(view, QStringLiteral("branch-prev"), reply.id));
    QTRY_COMPARE(controller.messages().at(1).siblingIndex, repliesAfterStop - 1);
    QCOMPARE(controller.messages().at(1).content, stoppedText);
    QVERIFY(view->frameText(1).contains(QStringLiteral("%1/%2").arg(repliesAfterStop).arg(repliesAfterStop + 1)));

    // ---- edit the user message and resend: a new branch ----
    const qint64 userId = controller.messages().at(0).id;
    QVERIFY(clickLink(view, QStringLiteral("edit"), userId));
    QTRY_VERIFY(chat->editBar()->isVisible());
    QCOMPARE(chat->editEditor()->toPlainText(), QStringLiteral("Once upon a time"));
    chat->editEditor()->setPlainText(QStringLiteral("Once upon a time there was a dragon"));
    const int beforeEdit = finished.count();
    QTest::mouseClick(chat->editSaveButton(), Qt::LeftButton);
    QVERIFY(!chat->editBar()->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), beforeEdit + 1, kReplyTimeoutMs);
    view->flushUpdates();
    QCOMPARE(view->messageCount(), 2);
    const MessageItem editedUser = controller.messages().at(0);
    QCOMPARE(editedUser.content, QStringLiteral("Once upon a time there was a dragon"));
    QCOMPARE(editedUser.siblingCount, 2);
    QVERIFY(view->frameText(0).contains(QStringLiteral("2/2")));
    const QString dragonReply = controller.messages().at(1).content;
    QVERIFY(!dragonReply.isEmpty());
    QCOMPARE(controller.messages().at(1).siblingCount, 1);

    // ---- restart: a new window on the same database ----
    app.stop();
    QVERIFY(app.start());
    w = &app.window();
    engine = &app.services().bridge();
    chat = w->chatPanel();
    QListWidget* sessions = w->sessionPanel()->list();
    QTRY_COMPARE(sessions->count(), 1);
    QCOMPARE(w->sessionPanel()->sessionIdAt(0), sessionId);
    QCOMPARE(sessions->item(0)->text(), QStringLiteral("Once upon a time"));
    // The window reopens the last chat; picking it in the list shows it as well.
    sessions->setCurrentRow(0);
    QTRY_COMPARE(w->controller().sessionId(), sessionId);
    view = chat->conversation();
    ChatController& controller2 = w->controller();
    QTRY_COMPARE(view->messageCount(), 2);
    QCOMPARE(controller2.messages().at(0).content, QStringLiteral("Once upon a time there was a dragon"));
    QCOMPARE(controller2.messages().at(1).content, dragonReply);
    QVERIFY(view->renderedText(0).contains(QStringLiteral("there was a dragon")));
    QCOMPARE(QString::fromStdString(controller2.session().sampling_preset_json).contains("greedy"), true);
    // The older branch: the original question with all its replies.
    QVERIFY(clickLink(view, QStringLiteral("branch-prev"), controller2.messages().at(0).id));
    QTRY_COMPARE(controller2.messages().at(0).content, QStringLiteral("Once upon a time"));
    QTRY_COMPARE(controller2.messages().at(1).siblingCount, repliesAfterStop + 1);
    QVERIFY(controller2.messages().at(1).content.startsWith(kStoryStart));
    QVERIFY(clickLink(view, QStringLiteral("branch-prev"), controller2.messages().at(1).id));
    QTRY_COMPARE(controller2.messages().at(1).content, stoppedText);
    // No model is loaded after a restart; sending says so instead of losing the text.
    QVERIFY(!engine->isLoaded());
    QVERIFY(!chat->sendButton()->isEnabled());
    QTest::keyClicks(chat->input(), QStringLiteral("hello"));
    QTest::keyClick(chat->input(), Qt::Key_Return);
    QCOMPARE(chat->input()->toPlainText(), QStringLiteral("hello"));
    QVERIFY(w->lastError().contains(QStringLiteral("No model")));
    // The layout was saved on close.
    QVERIFY(app.services().settings().contains(QStringLiteral("window/geometry")));
}

void TestUiChatFlow::jsonOutputRepliesFollowTheSchema() {
    const QString model = test::storiesModelPath();
    if (model.isEmpty()) QSKIP("../shared/models/stories260K.gguf is missing");
    test::AppHarness app;
    QVERIFY(startWithModel(app, model));
    MainWindow* w = &app.window();
    w->showChatPage();
    ChatPanel* chat = w->chatPanel();
    ChatController& controller = w->controller();
    QTest::mouseClick(w->sessionPanel()->newButton(), Qt::LeftButton);
    QTRY_VERIFY(controller.sessionId() != 0);

    // Switched on with a schema the engine cannot enforce: said so, nothing saved.
    QVERIFY(!chat->jsonSchemaEdit()->isVisible());
    QTest::mouseClick(chat->jsonOutputToggle(), Qt::LeftButton);
    QVERIFY(chat->jsonSchemaEdit()->isVisible());
    chat->jsonSchemaEdit()->setPlainText(QStringLiteral(R"({"type": "string", "pattern": "^a+$"})"));
    QTRY_VERIFY(chat->jsonSchemaError()->isVisible());
    QVERIFY2(chat->jsonSchemaError()->text().contains(QStringLiteral("pattern")), qPrintable(chat->jsonSchemaError()->text()));
    QVERIFY(bridge::structuredOutput(controller.session().sampling_preset_json).schema.isEmpty());

    // A schema it can: saved with the chat, and the reply is JSON valid under it.
    chat->jsonSchemaEdit()->setPlainText(QStringLiteral(
        R"({"type": "object", "properties": {"hero": {"type": "string", "maxLength": 12},)"
        R"( "age": {"type": "integer", "minimum": 1, "maximum": 99}}, "required": ["hero", "age"],)"
        R"( "additionalProperties": false})"));
    QTRY_VERIFY(chat->jsonSchemaError()->isHidden());
    QTRY_VERIFY(bridge::structuredOutput(controller.session().sampling_preset_json).schema.contains(QStringLiteral("hero")));
    QSignalSpy finished(&controller, &ChatController::replyFinished);
    chat->input()->setFocus();
    QTest::keyClicks(chat->input(), QStringLiteral("Once upon a time"));
    QTest::keyClick(chat->input(), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kReplyTimeoutMs);
    const auto result = finished.at(0).at(0).value<bridge::GenerationResult>();
    QCOMPARE(result.reason, QStringLiteral("stop"));
    const QString reply = controller.messages().at(1).content;
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(reply.toUtf8(), &error);
    QVERIFY2(error.error == QJsonParseError::NoError && doc.isObject(), qPrintable(reply));
    const QJsonObject o = doc.object();
    QVERIFY2(o.value(QStringLiteral("hero")).isString() && o.value(QStringLiteral("hero")).toString().size() <= 12,
             qPrintable(reply));
    const int age = o.value(QStringLiteral("age")).toInt(-1);
    QVERIFY2(age >= 1 && age <= 99, qPrintable(reply));
    QCOMPARE(o.size(), 2);

    // Another preset keeps the chat's JSON output; switching it off brings free text back.
    chat->presetBox()->setCurrentIndex(chat->presetBox()->findData(QStringLiteral("creative")));
    QTRY_VERIFY(controller.session().sampling_preset_json.find("creative") != std::string::npos);
    QVERIFY(bridge::structuredOutput(controller.session().sampling_preset_json).enabled);
    QTest::mouseClick(chat->jsonOutputToggle(), Qt::LeftButton);
    QTRY_VERIFY(!bridge::structuredOutput(controller.session().sampling_preset_json).enabled);
    auto params = bridge::parseSamplingPreset(controller.session().sampling_preset_json);
    QVERIFY(params.is_ok());
    QVERIFY(!params->grammar);
}

QTEST_MAIN(TestUiChatFlow)
#include "test_ui_chat_flow.moc"
