// Widgets and helpers of the desktop app that need no real model: the message box's keys,
// sampling presets, the plain-continuation prompt, GGUF summaries, the session list (new,
// rename, search, delete against a real Store), the model library with a bad file, themes.
#include <QApplication>
#include <QFile>
#include <QLabel>
#include <QTabWidget>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>

#include "bridge/chat_prompt.h"
#include "bridge/gguf_summary.h"
#include "bridge/sampling_preset.h"
#include "bridge/structured_output.h"
#include "bridge/store_client.h"
#include "ui/chat_controller.h"
#include "ui/chat_input.h"
#include "ui/markdown_blocks.h"
#include "ui/model_library_model.h"
#include "ui/models_page.h"
#include "ui/session_list_panel.h"
#include "ui/theme.h"
#include "ui_test_util.h"

using namespace pagoda;
using namespace pagoda::ui;

class TestUiWidgets : public QObject {
    Q_OBJECT

private slots:
    void chatInputKeys();
    void samplingPresets();
    void plainContinuation();
    void ggufSummary();
    void sessionListNewRenameSearchDelete();
    void modelLibraryAddsGoodFilesAndExplainsBadOnes();
    void darkAndSystemThemes();
    void exportAndSessionSettings();
    void markdownBlocks();
};

void TestUiWidgets::chatInputKeys() {
    ChatInput input;
    input.show();
    QSignalSpy send(&input, &ChatInput::sendRequested);
    QSignalSpy stop(&input, &ChatInput::stopRequested);
    QTest::keyClicks(&input, QStringLiteral("hello"));
    QTest::keyClick(&input, Qt::Key_Return, Qt::ShiftModifier);  // a new line, not a send
    QTest::keyClicks(&input, QStringLiteral("world"));
    QCOMPARE(send.count(), 0);
    QCOMPARE(input.toPlainText(), QStringLiteral("hello\nworld"));
    QTest::keyClick(&input, Qt::Key_Return);
    QCOMPARE(send.count(), 1);
    QTest::keyClick(&input, Qt::Key_Enter, Qt::ControlModifier);
    QCOMPARE(send.count(), 2);
    QCOMPARE(input.toPlainText(), QStringLiteral("hello\nworld"));  // sending is the panel's job
    QTest::keyClick(&input, Qt::Key_Escape);
    QCOMPARE(stop.count(), 1);
}

void TestUiWidgets::samplingPresets() {
    auto def = bridge::parseSamplingPreset("{}");
    QVERIFY(def.is_ok());
    QCOMPARE(def->temperature, bridge::defaultSamplingPreset().params.temperature);
    QCOMPARE(bridge::samplingPresetId("{}"), QStringLiteral("balanced"));

    const std::string greedy = bridge::samplingPresetJson(QStringLiteral("greedy"));
    QCOMPARE(bridge::samplingPresetId(greedy), QStringLiteral("greedy"));
    auto g = bridge::parseSamplingPreset(greedy);
    QVERIFY(g.is_ok());
    QCOMPARE(g->temperature, 0.0f);
    QCOMPARE(g->max_tokens, -1);
    // The JSON the session stores is readable: 0.7, not 0.699999988.
    QVERIFY(QString::fromStdString(bridge::samplingPresetJson(QStringLiteral("balanced"))).contains("\"temperature\":0.7,"));

    auto overridden = bridge::parseSamplingPreset(R"({"preset":"creative","temperature":0.3,"max_tokens":12,"ignore_eos":true,"seed":7})");
    QVERIFY(overridden.is_ok());
    QCOMPARE(overridden->temperature, 0.3f);
    QCOMPARE(overridden->max_tokens, 12);
    QVERIFY(overridden->ignore_eos);
    QCOMPARE(overridden->seed.value_or(0), uint64_t{7});

    for (const char* bad : {"[1,2]", "not json", R"({"temperature":"hot"})", R"({"top_p":2})", R"({"max_tokens":0})",
                            R"({"seed":-1})", R"({"ignore_eos":1})"}) {
        auto r = bridge::parseSamplingPreset(bad);
        QVERIFY2(!r.is_ok(), bad);
        QVERIFY(r.status().message().find("sampling preset") != std::string::npos);
    }
    QCOMPARE(bridge::samplingPresetId(R"({"preset":"no-such"})"), QStringLiteral("balanced"));

    // Structured output rides in the same JSON and becomes the grammar.
    QVERIFY(!bridge::parseSamplingPreset(greedy)->grammar);
    auto anyObject = bridge::withStructuredOutput(greedy, {true, QString()});
    QVERIFY(anyObject.is_ok());
    QCOMPARE(bridge::samplingPresetId(*anyObject), QStringLiteral("greedy"));
    QVERIFY(bridge::structuredOutput(*anyObject).enabled);
    QVERIFY(bridge::parseSamplingPreset(*anyObject)->grammar);
    auto schema = bridge::withStructuredOutput(greedy, {true, QStringLiteral(R"({"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"string"}}})")});
    QVERIFY(schema.is_ok());
    const QString kept = bridge::structuredOutput(*schema).schema;
    QVERIFY2(kept.indexOf(QStringLiteral("\"b\"")) < kept.indexOf(QStringLiteral("\"a\"")), qPrintable(kept));  // schema order
    QVERIFY(bridge::parseSamplingPreset(*schema)->grammar);
    auto off = bridge::withStructuredOutput(*schema, {false, kept});
    QVERIFY(off.is_ok());
    QVERIFY(!bridge::structuredOutput(*off).enabled);
    QVERIFY(!bridge::parseSamplingPreset(*off)->grammar);
    for (const char* bad : {"not json", "[1]", R"({"type":"string","pattern":"a+"})"}) {
        auto r = bridge::withStructuredOutput(greedy, {true, QString::fromLatin1(bad)});
        QVERIFY2(!r.is_ok(), bad);
    }
    auto broken = bridge::parseSamplingPreset(R"({"preset":"greedy","json_schema":5})");
    QVERIFY(!broken.is_ok());
    QVERIFY(broken.status().message().find("json_schema") != std::string::npos);
}

void TestUiWidgets::plainContinuation() {
    using bridge::ChatTurn;
    QCOMPARE(bridge::plainContinuationText({{"user", "Once upon a time"}}), std::string("Once upon a time"));
    QCOMPARE(bridge::plainContinuationText({{"system", "Stories."},
                                            {"user", "Once upon a time"},
                                            {"assistant", ", there was a cat."},
                                            {"user", "The end"}}),
             std::string("Stories.\n\nOnce upon a time, there was a cat.\n\nThe end"));
    QCOMPARE(bridge::plainContinuationText({{"user", ""}, {"assistant", ""}}), std::string());
}

void TestUiWidgets::ggufSummary() {
    QTemporaryDir dir;
    const QString plain = test::writeRandomModel(dir.path(), QStringLiteral("tiny-plain"), 64, 2, 128);
    const QString chat = test::writeRandomModel(dir.path(), QStringLiteral("tiny-chat"), 64, 2, 128,
                                                QStringLiteral("{% for m in messages %}{{ m.content }}{% endfor %}"));
    QVERIFY(!plain.isEmpty() && !chat.isEmpty());
    auto s = bridge::summarizeGguf(plain.toStdString());
    QVERIFY2(s.is_ok(), s.status().message().c_str());
    QCOMPARE(QString::fromStdString(s->model.display_name), QStringLiteral("tiny-plain"));
    QCOMPARE(QString::fromStdString(s->model.architecture), QStringLiteral("llama"));
    QCOMPARE(QString::fromStdString(s->model.quantization), QStringLiteral("F32"));
    QCOMPARE(s->model.context_length, int64_t{1024});
    QVERIFY(!s->model.has_chat_template);
    QVERIFY(s->runnable);
    QVERIFY(s->model.parameter_count > 0);
    // [layers=2, K and V, kv_dim = 4 heads * 8, F16 = 2 bytes]
    QCOMPARE(s->kvBytesPerToken, int64_t{2 * 2 * 32 * 2});
    QCOMPARE(bridge::estimateMemoryBytes(s.value(), 100), s->tensorBytes + 125 * s->kvBytesPerToken);
    auto c = bridge::summarizeGguf(chat.toStdString());
    QVERIFY(c.is_ok());
    QVERIFY(c->model.has_chat_template);

    QCOMPARE(QString::fromStdString(bridge::fileTypeName(15)), QStringLiteral("Q4_K_M"));
    QCOMPARE(QString::fromStdString(bridge::fileTypeName(4)), QString());  // retired number
    auto missing = bridge::summarizeGguf((dir.path() + "/nope.gguf").toStdString());
    QVERIFY(!missing.is_ok());
}

void TestUiWidgets::sessionListNewRenameSearchDelete() {
    test::AppHarness app;
    QVERIFY(app.start());
    MainWindow& w = app.window();
    w.showChatPage();
    SessionListPanel* panel = w.sessionPanel();
    QListWidget* list = panel->list();
    QCOMPARE(list->count(), 0);

    QTest::mouseClick(panel->newButton(), Qt::LeftButton);
    QTRY_COMPARE(list->count(), 1);
    QTRY_VERIFY(w.controller().sessionId() != 0);
    const qint64 first = w.controller().sessionId();
    QCOMPARE(list->item(0)->text(), ChatController::defaultTitle());
    QTRY_COMPARE(list->currentRow(), 0);

    QTest::mouseClick(panel->newButton(), Qt::LeftButton);
    QTRY_COMPARE(list->count(), 2);
    QTRY_VERIFY(w.controller().sessionId() != first);
    const qint64 second = w.controller().sessionId();

    // Rename in place (what F2 / the Rename button's editor commits).
    QListWidgetItem* item = list->currentItem();
    QVERIFY(item);
    QCOMPARE(panel->sessionIdAt(list->currentRow()), second);
    item->setText(QStringLiteral("Dragons and castles"));
    QTRY_COMPARE(QString::fromStdString(w.controller().session().title), QStringLiteral("Dragons and castles"));
    auto stored = app.services().store().store().get_session(second).get();
    QVERIFY(stored.is_ok());
    QCOMPARE(QString::fromStdString(stored->title), QStringLiteral("Dragons and castles"));

    // Search narrows the list (case-insensitively), clearing it brings everything back.
    panel->searchBox()->setText(QStringLiteral("dragon"));
    QTRY_COMPARE(list->count(), 1);
    QCOMPARE(panel->sessionIdAt(0), second);
    panel->searchBox()->setText(QStringLiteral("no such chat"));
    QTRY_COMPARE(list->count(), 0);
    panel->searchBox()->clear();
    QTRY_COMPARE(list->count(), 2);

    // Selecting another chat opens it.
    for (int i = 0; i < list->count(); ++i) {
        if (panel->sessionIdAt(i) == first) list->setCurrentRow(i);
    }
    QTRY_COMPARE(w.controller().sessionId(), first);

    // Delete (confirmation off in the harness).
    QTest::mouseClick(panel->deleteButton(), Qt::LeftButton);
    QTRY_COMPARE(list->count(), 1);
    QCOMPARE(panel->sessionIdAt(0), second);
    QCOMPARE(w.controller().sessionId(), qint64{0});
    QVERIFY(!app.services().store().store().get_session(first).get().is_ok());
}

void TestUiWidgets::modelLibraryAddsGoodFilesAndExplainsBadOnes() {
    test::AppHarness app;
    QVERIFY(app.start());
    MainWindow& w = app.window();
    // An empty library opens the Models page on first start.
    QTRY_COMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.modelsPage()));
    const QString good = test::writeRandomModel(app.dir(), QStringLiteral("good-model"), 64, 2, 128);
    QVERIFY(!good.isEmpty());
    const QString bad = app.dir() + QStringLiteral("/broken.gguf");
    {
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("GGUF but not really");
    }
    QSignalSpy added(w.modelsPage(), &ModelsPage::modelsAdded);
    w.modelsPage()->addPaths({good, bad, app.dir() + QStringLiteral("/missing.gguf")});
    QTRY_COMPARE(added.count(), 1);
    QTRY_COMPARE(w.library().rowCount(), 1);
    const store::Model* m = w.library().modelAt(0);
    QCOMPARE(QString::fromStdString(m->display_name), QStringLiteral("good-model"));
    QCOMPARE(w.library().data(w.library().index(0, ModelLibraryModel::Architecture), Qt::DisplayRole).toString(),
             QStringLiteral("llama"));
    QCOMPARE(w.library().data(w.library().index(0, ModelLibraryModel::Template), Qt::DisplayRole).toString(),
             QStringLiteral("no"));
    const QString status = w.modelsPage()->statusLabel()->text();
    QVERIFY2(status.contains(QStringLiteral("broken.gguf")) && status.contains(QStringLiteral("missing.gguf")),
             qPrintable(status));
    // Adding a folder finds the same file again: still one row (the path is the key).
    w.modelsPage()->addPaths({app.dir()});
    QTRY_COMPARE(added.count(), 2);
    QTest::qWait(100);
    QCOMPARE(w.library().rowCount(), 1);
    // The new row is selected, and the details say what loading it costs.
    QTRY_VERIFY(w.modelsPage()->table()->selectionModel()->hasSelection());
    QTRY_VERIFY(w.modelsPage()->findChild<QLabel*>(QStringLiteral("modelDetails"))->text().contains("Needs about"));

    // Remove (confirmation off): the file stays on disk.
    w.modelsPage()->removeSelected();
    QTRY_COMPARE(w.library().rowCount(), 0);
    QVERIFY(QFile::exists(good));
}

void TestUiWidgets::darkAndSystemThemes() {
    test::AppHarness app;
    QVERIFY(app.start());
    app.window().setThemeMode(ThemeMode::Dark);
    QVERIFY(isDarkPalette());
    app.window().setThemeMode(ThemeMode::Light);
    QVERIFY(!isDarkPalette());
    app.window().setThemeMode(ThemeMode::System);
    QCOMPARE(app.services().settings().value("appearance/theme").toString(), QStringLiteral("system"));
    QVERIFY(!appIcon().isNull());
}

void TestUiWidgets::exportAndSessionSettings() {
    test::AppHarness app;
    QVERIFY(app.start());
    store::Store& store = app.services().store().store();
    auto sid = store.create_session({.title = "Exported chat"}).get();
    QVERIFY(sid.is_ok());
    QVERIFY(store.add_message({.session_id = *sid, .role = store::Role::user, .content = "Hello *there*"}).get().is_ok());
    QVERIFY(store.add_message({.session_id = *sid, .role = store::Role::assistant, .content = "Hi! `code`"}).get().is_ok());
    ChatController& c = app.window().controller();
    c.openSession(*sid);
    QTRY_COMPARE(c.messages().size(), 2);
    QCOMPARE(c.messages().at(0).content, QStringLiteral("Hello *there*"));

    // Per-session system prompt and sampling preset are saved with the session.
    c.setSystemPrompt(QStringLiteral("Be brief."));
    c.setSamplingPreset(QStringLiteral("precise"));
    QTRY_VERIFY(store.get_session(*sid).get()->system_prompt == "Be brief.");
    QTRY_COMPARE(bridge::samplingPresetId(store.get_session(*sid).get()->sampling_preset_json), QStringLiteral("precise"));

    QSignalSpy exported(&c, &ChatController::exportFinished);
    const QString md = app.dir() + QStringLiteral("/chat.md");
    const QString json = app.dir() + QStringLiteral("/chat.json");
    c.exportSession(md, false);
    c.exportSession(json, true);
    QTRY_COMPARE(exported.count(), 2);
    QVERIFY(exported.at(0).at(1).toString().isEmpty());
    QVERIFY(exported.at(1).at(1).toString().isEmpty());
    QFile mdFile(md), jsonFile(json);
    QVERIFY(mdFile.open(QIODevice::ReadOnly) && jsonFile.open(QIODevice::ReadOnly));
    const QString mdText = QString::fromUtf8(mdFile.readAll());
    QVERIFY2(mdText.contains(QStringLiteral("# Exported chat")) && mdText.contains(QStringLiteral("Hello *there*")) &&
                 mdText.contains(QStringLiteral("Be brief.")),
             qPrintable(mdText));
    const QByteArray jsonText = jsonFile.readAll();
    QVERIFY(jsonText.contains("\"pagoda.chat_session\""));
    QVERIFY(jsonText.contains("Hi! `code`"));
    // A folder that does not exist: a clear error, no file.
    c.exportSession(app.dir() + QStringLiteral("/no/such/dir/chat.md"), false);
    QTRY_COMPARE(exported.count(), 3);
    QVERIFY(!exported.at(2).at(1).toString().isEmpty());
}

void TestUiWidgets::markdownBlocks() {
    QCOMPARE(splitMarkdownBlocks(QStringLiteral("a\nb\n\nc")), QStringList({"a\nb", "c"}));
    QCOMPARE(splitMarkdownBlocks(QStringLiteral("\n\n\nx\n\n\n")), QStringList({"x"}));
    // Blank lines inside fenced code do not split it; an unclosed fence runs to the end.
    QCOMPARE(splitMarkdownBlocks(QStringLiteral("t\n```py\na\n\nb\n```\n\nafter")),
             QStringList({"t\n```py\na\n\nb\n```", "after"}));
    QCOMPARE(splitMarkdownBlocks(QStringLiteral("~~~\nx\n\ny")), QStringList({"~~~\nx\n\ny"}));
    QCOMPARE(fencedCode(QStringLiteral("text\n```cpp\nint a;\n\nint b;\n```\nmore\n~~~\nz")),
             QStringList({"int a;\n\nint b;", "z"}));
    QVERIFY(splitMarkdownBlocks(QString()).isEmpty());
}

QTEST_MAIN(TestUiWidgets)
#include "test_ui_widgets.moc"
