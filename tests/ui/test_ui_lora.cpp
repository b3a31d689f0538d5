// LoRA adapters live in the desktop app: a random base model and a random LoRA (with the
// base model the LoRA is merged into, tests/fixtures/random_lora.h) go through the real
// Models and Adapters pages. A greedy reply with the adapter attached at scale 1 equals the
// merged model's reply and differs from the base model's; detaching gives the base reply
// back; a model switch reloads the adapter on demand; an adapter made for another model and
// a file that is gone fail with a message, and the reply does not start.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include "bridge/adapter_info.h"
#include "bridge/engine_bridge.h"
#include "bridge/store_client.h"
#include "fixtures/random_lora.h"
#include "model/forwarding_backend.h"
#include "server/served_model.h"
#include "ui/adapters_page.h"
#include "ui/chat_controller.h"
#include "ui/model_library_model.h"
#include "ui/models_page.h"
#include "ui_test_util.h"

using namespace pagoda;
using namespace pagoda::ui;

namespace {

constexpr int kTimeoutMs = 60000;

fixtures::RandomModelConfig smallModel(int dim) {
    fixtures::RandomModelConfig c;
    c.dim = dim;
    c.n_layers = 2;
    c.ffn = 2 * dim;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.ctx = 256;
    return c;
}

}  // namespace

class TestUiLora : public QObject {
    Q_OBJECT

private slots:
    void adapterReplyMatchesMergedModel();
    void backendWithoutLoraSaysSo();

private:
    // Loads the library model at `path` and waits for it.
    void load(test::AppHarness& app, const QString& path);
    // Ticks the adapters whose names are in `names` (unticks the rest) at `scale`, applies,
    // and returns the page's answer {ok, message}.
    QPair<bool, QString> apply(AdaptersPage& page, const QStringList& names, double scale);
    // Regenerates the open chat's reply and returns {reason, text}.
    QPair<QString, QString> regenerate(ChatController& controller);
};

void TestUiLora::load(test::AppHarness& app, const QString& path) {
    bridge::EngineBridge& bridge = app.services().bridge();
    ModelLibraryModel& lib = app.window().library();
    qint64 id = 0;
    for (int row = 0; row < lib.rowCount(); ++row) {
        if (QFileInfo(QString::fromStdString(lib.modelAt(row)->path)) == QFileInfo(path)) id = lib.modelAt(row)->id;
    }
    QVERIFY2(id != 0, qPrintable(path));
    QSignalSpy loaded(&bridge, &bridge::EngineBridge::modelLoaded);
    bridge.loadModel(id, path);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
    QCOMPARE(bridge.loadedModel().path, path);
}

QPair<bool, QString> TestUiLora::apply(AdaptersPage& page, const QStringList& names, double scale) {
    for (int row = 0; row < page.attachList()->count(); ++row) {
        QListWidgetItem* item = page.attachList()->item(row);
        const bool on = names.contains(item->data(Qt::UserRole + 3).toString());
        item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        if (on) {
            page.attachList()->setCurrentItem(item);
            page.scaleSlider()->setValue(static_cast<int>(scale * 100));
        }
    }
    QSignalSpy applied(&page, &AdaptersPage::applied);
    QTest::mouseClick(page.applyButton(), Qt::LeftButton);
    if (applied.isEmpty()) applied.wait(kTimeoutMs);  // an error found at once answers before the click returns
    if (applied.isEmpty()) return {false, QStringLiteral("(no answer)")};
    return {applied.at(0).at(0).toBool(), applied.at(0).at(1).toString()};
}

QPair<QString, QString> TestUiLora::regenerate(ChatController& controller) {
    QSignalSpy finished(&controller, &ChatController::replyFinished);
    if (!controller.regenerate()) return {QStringLiteral("(not started)"), {}};
    if (finished.isEmpty()) finished.wait(kTimeoutMs);
    if (finished.isEmpty()) return {QStringLiteral("(timeout)"), {}};
    const auto r = finished.at(0).at(0).value<bridge::GenerationResult>();
    const QVector<MessageItem>& messages = controller.messages();
    const QString text = messages.isEmpty() ? QString() : messages.last().content;
    return {r.reason == QLatin1String("error") ? r.message : r.reason, text};
}

void TestUiLora::adapterReplyMatchesMergedModel() {
    test::AppHarness app;
    QVERIFY(app.isValid());
    const fixtures::RandomModelConfig modelConfig = smallModel(64);
    fixtures::RandomLoraConfig loraConfig;
    loraConfig.rank = 4;
    const QString dir = app.dir();
    auto files = fixtures::write_random_lora_files(modelConfig, loraConfig, QDir(dir).filePath("lora").toStdString());
    QVERIFY2(files.is_ok(), files.status().message().c_str());
    // An adapter made for a model of another width, and one whose file goes away.
    auto other =
        fixtures::write_random_lora_files(smallModel(32), loraConfig, QDir(dir).filePath("other").toStdString());
    QVERIFY2(other.is_ok(), other.status().message().c_str());
    const QString base = QString::fromStdString(files->base_gguf);
    const QString merged = QString::fromStdString(files->merged_gguf);
    const QString lora = QDir(dir).filePath(QStringLiteral("style.gguf"));
    const QString wrong = QDir(dir).filePath(QStringLiteral("wrong-base.gguf"));
    const QString gone = QDir(dir).filePath(QStringLiteral("gone.gguf"));
    QVERIFY(QFile::copy(QString::fromStdString(files->lora_gguf), lora));
    QVERIFY(QFile::copy(QString::fromStdString(other->lora_gguf), wrong));
    QVERIFY(QFile::copy(QString::fromStdString(files->lora_gguf), gone));

    QVERIFY(app.start());
    MainWindow& w = app.window();
    bridge::EngineBridge& bridge = app.services().bridge();
    ChatController& controller = w.controller();

    // ---- the models and adapters into the library ----
    QSignalSpy modelsAdded(w.modelsPage(), &ModelsPage::modelsAdded);
    w.modelsPage()->addPaths({base, merged});
    QTRY_COMPARE_WITH_TIMEOUT(w.library().rowCount(), 2, 20000);
    AdaptersPage* page = w.adaptersPage();
    QVERIFY(page);
    QSignalSpy adaptersAdded(page, &AdaptersPage::adaptersAdded);
    page->addPaths({lora, wrong, gone});
    QTRY_COMPARE_WITH_TIMEOUT(adaptersAdded.count(), 1, 20000);
    QCOMPARE(adaptersAdded.at(0).at(0).toInt(), 3);
    QTRY_COMPARE_WITH_TIMEOUT(page->table()->rowCount(), 3, 10000);
    // Library names come from general.name; tell the three apart by file.
    QStringList names(3);
    for (const store::Adapter& a : page->adapters()) {
        const QString file = QFileInfo(QString::fromStdString(a.path)).fileName();
        const int i = file == QLatin1String("style.gguf") ? 0 : file == QLatin1String("wrong-base.gguf") ? 1 : 2;
        names[i] = QString::fromStdString(a.name);
    }
    // Same general.name for the copies of one adapter: the page lists them by name, so rename
    // them in the store to keep the ticks unambiguous.
    if (names[0] == names[2] || names[0] == names[1]) {
        for (const store::Adapter& a : page->adapters()) {
            store::NewAdapter renamed = a;
            renamed.name = QFileInfo(QString::fromStdString(a.path)).completeBaseName().toStdString();
            QVERIFY(app.services().store().store().add_adapter(renamed).get().is_ok());
        }
        const int reloads = page->reloadCount();
        page->reload();
        QTRY_VERIFY_WITH_TIMEOUT(page->reloadCount() > reloads, 10000);
        names = {QStringLiteral("style"), QStringLiteral("wrong-base"), QStringLiteral("gone")};
    }

    // ---- the base model, a greedy chat ----
    load(app, base);
    if (QTest::currentTestFailed()) return;
    controller.newSession();
    QTRY_VERIFY_WITH_TIMEOUT(controller.sessionId() != 0, 10000);
    const qint64 sid = controller.sessionId();
    {
        auto session = app.services().store().store().get_session(sid).get();
        QVERIFY(session.is_ok());
        store::Session s = session.value();
        s.sampling_preset_json = R"({"preset":"greedy","max_tokens":16,"ignore_eos":true})";
        QVERIFY(app.services().store().store().update_session(s).get().is_ok());
        controller.openSession(sid);
        QTRY_VERIFY(controller.session().sampling_preset_json.find("16") != std::string::npos);
    }
    QTRY_VERIFY_WITH_TIMEOUT(page->applyButton()->isEnabled(), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(page->attachList()->count(), 3, 10000);

    // ---- attach at scale 1: the engine loads it ----
    auto [ok, message] = apply(*page, {names[0]}, 1.0);
    QVERIFY2(ok, qPrintable(message));
    QCOMPARE(page->statusLabel()->text(), message);
    QVERIFY2(message.contains(QStringLiteral("attached")), qPrintable(message));
    {
        const auto attached = bridge::parseAdapterAttachments(controller.session().adapters_json);
        QCOMPARE(attached.size(), 1);
        QCOMPARE(attached[0].scale, 1.0);
        QCOMPARE(QFileInfo(attached[0].path).fileName(), QStringLiteral("style.gguf"));
    }

    QSignalSpy finished(&controller, &ChatController::replyFinished);
    QVERIFY(controller.send(QStringLiteral("Once upon a time")));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
    QCOMPARE(finished.at(0).at(0).value<bridge::GenerationResult>().reason, QStringLiteral("length"));
    const QString withLora = controller.messages().last().content;
    QVERIFY(!withLora.isEmpty());

    // ---- detach: the base model's reply ----
    std::tie(ok, message) = apply(*page, {}, 1.0);
    QVERIFY2(ok, qPrintable(message));
    auto [reason, baseReply] = regenerate(controller);
    QCOMPARE(reason, QStringLiteral("length"));
    QVERIFY(!baseReply.isEmpty());
    QVERIFY2(baseReply != withLora, qPrintable(baseReply));
    qInfo("base + adapter: %s\nbase: %s", qPrintable(withLora), qPrintable(baseReply));

    // ---- the merged model, no adapter: the same reply as base + adapter ----
    load(app, merged);
    if (QTest::currentTestFailed()) return;
    QString mergedReply;
    std::tie(reason, mergedReply) = regenerate(controller);
    QCOMPARE(reason, QStringLiteral("length"));
    QCOMPARE(mergedReply, withLora);

    // ---- back to the base model: the adapter loads again into the new engine ----
    load(app, base);
    if (QTest::currentTestFailed()) return;
    std::tie(ok, message) = apply(*page, {names[0]}, 1.0);
    QVERIFY2(ok, qPrintable(message));
    QString again;
    std::tie(reason, again) = regenerate(controller);
    QCOMPARE(reason, QStringLiteral("length"));
    QCOMPARE(again, withLora);
    QCOMPARE(bridge.servedModel()->engine->list_adapters().size(), size_t{1});
    // Detached again: the base reply.
    std::tie(ok, message) = apply(*page, {}, 1.0);
    QVERIFY2(ok, qPrintable(message));
    std::tie(reason, again) = regenerate(controller);
    QCOMPARE(reason, QStringLiteral("length"));
    QCOMPARE(again, baseReply);

    // ---- an adapter made for another model: refused with the engine's reason ----
    std::tie(ok, message) = apply(*page, {names[1]}, 1.0);
    QVERIFY(!ok);
    QVERIFY2(message.contains(QStringLiteral("wrong-base.gguf")), qPrintable(message));
    qInfo("another model's adapter: %s", qPrintable(message));
    QCOMPARE(page->statusLabel()->text(), message);
    // The chat keeps the choice; its next reply fails before it starts, with the reason.
    QSignalSpy errors(&controller, &ChatController::errorOccurred);
    QString failedText;
    std::tie(reason, failedText) = regenerate(controller);
    QVERIFY2(reason.contains(QStringLiteral("wrong-base.gguf")), qPrintable(reason));
    QVERIFY(failedText.isEmpty());
    QVERIFY(controller.messages().last().note.contains(QStringLiteral("wrong-base.gguf")));
    QTRY_VERIFY(!errors.isEmpty());

    // ---- a file that is gone ----
    QVERIFY(QFile::remove(gone));
    std::tie(ok, message) = apply(*page, {names[2]}, 1.0);
    QVERIFY(!ok);
    QVERIFY2(message.contains(QStringLiteral("gone.gguf")), qPrintable(message));
    qInfo("a file that is gone: %s", qPrintable(message));
    std::tie(reason, failedText) = regenerate(controller);
    QVERIFY2(reason.contains(QStringLiteral("gone.gguf")), qPrintable(reason));
    QVERIFY(failedText.isEmpty());
    QVERIFY(bridge.isLoaded());  // nothing crashed; the model stays

    // ---- a scale out of range never reaches the engine ----
    bridge::AdapterAttachment bad;
    bad.adapterId = 1;
    bad.path = lora;
    bad.scale = 3.0;
    QVERIFY(!bridge.setSessionAdapters(sid, {bad}).is_ok());
}

// A backend without LoRA support (a GPU backend before its kernels, say): the engine's
// "unsupported" reaches the page's answer and the reply, which does not start.
void TestUiLora::backendWithoutLoraSaysSo() {
    class NoLoraBackend final : public engine_test::ForwardingBackend {
    public:
        NoLoraBackend() : ForwardingBackend(create_cpu_backend(1)) {}
        std::string name() const override { return "no-lora test"; }
        bool supports_lora() const override { return false; }
    };
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto files =
        fixtures::write_random_lora_files(smallModel(64), fixtures::RandomLoraConfig{}, dir.path().toStdString());
    QVERIFY2(files.is_ok(), files.status().message().c_str());
    bridge::EngineBridge bridge([]() -> Result<bridge::BackendChoice> {
        bridge::BackendChoice choice;
        choice.backend = std::make_unique<NoLoraBackend>();
        choice.reason = "test";
        return choice;
    });
    QSignalSpy loaded(&bridge, &bridge::EngineBridge::modelLoaded);
    bridge.loadModel(1, QString::fromStdString(files->base_gguf));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);

    bridge::AdapterAttachment a;
    a.adapterId = 1;
    a.path = QString::fromStdString(files->lora_gguf);
    QSignalSpy checked(&bridge, &bridge::EngineBridge::sessionAdaptersChecked);
    QVERIFY(bridge.setSessionAdapters(5, {a}).is_ok());
    QTRY_COMPARE_WITH_TIMEOUT(checked.count(), 1, kTimeoutMs);
    QCOMPARE(checked.at(0).at(0).toLongLong(), qint64{5});
    QCOMPARE(checked.at(0).at(1).toBool(), true);
    const QString error = checked.at(0).at(2).toString();
    QVERIFY2(error.contains(QStringLiteral("not supported on the no-lora test backend")), qPrintable(error));

    bridge::GenerationRequest request;
    request.messages.push_back({QStringLiteral("user"), QStringLiteral("Once upon a time")});
    request.sampling.temperature = 0;
    request.sampling.max_tokens = 4;
    request.adapters = {a};
    QSignalSpy tokens(&bridge, &bridge::EngineBridge::tokenReceived);
    QSignalSpy finished(&bridge, &bridge::EngineBridge::finished);
    bridge.generate(request);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
    const auto r = finished.at(0).at(0).value<bridge::GenerationResult>();
    QCOMPARE(r.reason, QStringLiteral("error"));
    QVERIFY2(r.message.contains(QStringLiteral("not supported")), qPrintable(r.message));
    QCOMPARE(tokens.count(), 0);
    // Without the adapter the same model answers.
    request.adapters.clear();
    bridge.generate(request);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeoutMs);
    const QString reason = finished.at(1).at(0).value<bridge::GenerationResult>().reason;
    QVERIFY2(reason == QLatin1String("length") || reason == QLatin1String("stop"), qPrintable(reason));
}

QTEST_MAIN(TestUiLora)
#include "test_ui_lora.moc"
