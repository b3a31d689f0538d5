// EngineBridge without widgets, on a random-weight model written by the test: loading off
// the GUI thread with progress, replies streamed as queued signals on the GUI thread and
// persisted into the Store from the engine thread, cancellation, clear errors, and a bridge
// destroyed while a reply streams.
#include <QCoreApplication>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include "bridge/engine_bridge.h"
#include "bridge/store_client.h"
#include "ui_test_util.h"

using namespace pagoda;
using namespace pagoda::bridge;

class TestUiBridge : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void loadReportsProgressAndInfo();
    void streamsOnTheGuiThreadAndPersists();
    void cancelEndsAsCancelled();
    void errorsAreClear();
    void destroyedWhileStreamingKeepsText();

private:
    std::unique_ptr<StoreClient> openStore();
    qint64 newReplyMessage(StoreClient& store);
    GenerationRequest longRequest(qint64 persistId, int maxTokens);

    QTemporaryDir m_dir;
    QString m_model;
    int m_dbCount = 0;
};

void TestUiBridge::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = ui::test::writeRandomModel(m_dir.path(), QStringLiteral("bridge-model"), 64, 2, 128);
    QVERIFY(!m_model.isEmpty());
}

std::unique_ptr<StoreClient> TestUiBridge::openStore() {
    store::StoreOptions o;
    o.path = m_dir.filePath(QStringLiteral("db%1.sqlite").arg(++m_dbCount)).toStdString();
    auto s = StoreClient::open(o);
    if (!s) qWarning("%s", s.status().message().c_str());
    return s ? std::move(s.value()) : nullptr;
}

qint64 TestUiBridge::newReplyMessage(StoreClient& store) {
    auto session = store.store().create_session({.title = "t"}).get();
    if (!session) return 0;
    auto user = store.store().add_message({.session_id = *session, .role = store::Role::user, .content = "hi"}).get();
    auto reply = store.store()
                     .add_message({.session_id = *session, .role = store::Role::assistant, .completed = false})
                     .get();
    return user && reply ? reply.value() : 0;
}

GenerationRequest TestUiBridge::longRequest(qint64 persistId, int maxTokens) {
    GenerationRequest r;
    r.messages = {{QStringLiteral("user"), QStringLiteral("Once upon a time")}};
    r.sampling.temperature = 0;
    r.sampling.ignore_eos = true;  // a random model may pick EOS at once
    r.sampling.max_tokens = maxTokens;
    r.persistMessageId = persistId;
    return r;
}

void TestUiBridge::loadReportsProgressAndInfo() {
    EngineBridge bridge(cpuBackendFactory(1));
    QSignalSpy started(&bridge, &EngineBridge::loadStarted);
    QSignalSpy progress(&bridge, &EngineBridge::loadProgress);
    QSignalSpy loaded(&bridge, &EngineBridge::modelLoaded);
    QSignalSpy stats(&bridge, &EngineBridge::statsChanged);
    bridge.loadModel(42, m_model);
    QCOMPARE(started.count(), 1);
    QVERIFY(bridge.isLoading());
    QVERIFY(!bridge.isLoaded());
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 30000);
    QVERIFY(!bridge.isLoading());
    QVERIFY(bridge.isLoaded());
    const LoadedModelInfo info = loaded.at(0).at(0).value<LoadedModelInfo>();
    QCOMPARE(info.modelId, qint64{42});
    QCOMPARE(info.architecture, QStringLiteral("llama"));
    QCOMPARE(info.name, QStringLiteral("bridge-model"));
    QVERIFY(info.device.contains(QStringLiteral("cpu"), Qt::CaseInsensitive));
    QCOMPARE(info.contextLength, 1024);
    QVERIFY(!info.hasChatTemplate);
    QVERIFY(info.kvCacheBytes > 0);
    // Stages in order, ending with 100%.
    QVERIFY(progress.count() >= 4);
    QCOMPARE(progress.last().at(1).toInt(), 100);
    QTRY_VERIFY(!stats.isEmpty());
    QTRY_VERIFY(stats.last().at(0).value<EngineStatus>().loaded);
    QVERIFY(stats.last().at(0).value<EngineStatus>().kvBlocksTotal > 0);

    QSignalSpy unloaded(&bridge, &EngineBridge::modelUnloaded);
    bridge.unloadModel();
    QTRY_COMPARE(unloaded.count(), 1);
    QVERIFY(!bridge.isLoaded());
}

void TestUiBridge::streamsOnTheGuiThreadAndPersists() {
    auto store = openStore();
    QVERIFY(store);
    const qint64 replyId = newReplyMessage(*store);
    QVERIFY(replyId > 0);
    EngineBridge bridge(cpuBackendFactory(1));
    bridge.setStore(&store->store());
    QSignalSpy loaded(&bridge, &EngineBridge::modelLoaded);
    bridge.loadModel(1, m_model);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 30000);

    QString text;
    int deliveries = 0;
    bool offThread = false;
    connect(&bridge, &EngineBridge::tokenReceived, this, [&](quint64, const QString& t) {
        offThread |= QThread::currentThread() != qApp->thread();
        text += t;
        ++deliveries;
    });
    QSignalSpy finished(&bridge, &EngineBridge::finished);
    const quint64 ticket = bridge.generate(longRequest(replyId, 60));
    QVERIFY(ticket > 0);
    QCOMPARE(bridge.activeGenerations(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QTest::qWait(50);
    QCOMPARE(finished.count(), 1);  // exactly one end
    QVERIFY(!offThread);
    const GenerationResult r = finished.at(0).at(0).value<GenerationResult>();
    QCOMPARE(r.ticket, ticket);
    QCOMPARE(r.reason, QStringLiteral("length"));
    QCOMPARE(r.completionTokens, 60);
    QCOMPARE(r.persistMessageId, replyId);
    QVERIFY(deliveries >= 1);
    QVERIFY(!text.isEmpty());
    QCOMPARE(bridge.activeGenerations(), 0);
    // The store has exactly what was shown, marked complete with the reply's statistics.
    QVERIFY(store->store().flush().get().is_ok());
    auto m = store->store().get_message(replyId).get();
    QVERIFY(m.is_ok());
    QCOMPARE(QString::fromStdString(m->content), text);
    QVERIFY(m->completed);
    QCOMPARE(m->stats.completion_tokens, int64_t{60});
}

void TestUiBridge::cancelEndsAsCancelled() {
    auto store = openStore();
    QVERIFY(store);
    const qint64 replyId = newReplyMessage(*store);
    EngineBridge bridge(cpuBackendFactory(1));
    bridge.setStore(&store->store());
    QSignalSpy loaded(&bridge, &EngineBridge::modelLoaded);
    bridge.loadModel(1, m_model);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 30000);
    QSignalSpy finished(&bridge, &EngineBridge::finished);
    QString text;
    quint64 ticket = 0;
    // Stop at the first text: the context (1024) is far from full then.
    connect(&bridge, &EngineBridge::tokenReceived, this, [&](quint64 t, const QString& s) {
        if (text.isEmpty()) bridge.cancel(t);
        text += s;
    });
    ticket = bridge.generate(longRequest(replyId, -1));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    const GenerationResult r = finished.at(0).at(0).value<GenerationResult>();
    QCOMPARE(r.ticket, ticket);
    QCOMPARE(r.reason, QStringLiteral("cancelled"));
    QVERIFY(r.completionTokens < 1000);
    QVERIFY(store->store().flush().get().is_ok());
    auto m = store->store().get_message(replyId).get();
    QVERIFY(m.is_ok());
    QCOMPARE(QString::fromStdString(m->content), text);
    QVERIFY(m->completed);
    // Cancelling again, or an unknown ticket, is harmless.
    bridge.cancel(ticket);
    bridge.cancel(9999);
}

void TestUiBridge::errorsAreClear() {
    EngineBridge bridge(cpuBackendFactory(1));
    QSignalSpy finished(&bridge, &EngineBridge::finished);
    bridge.generate(longRequest(0, 5));
    QTRY_COMPARE(finished.count(), 1);
    GenerationResult r = finished.at(0).at(0).value<GenerationResult>();
    QCOMPARE(r.reason, QStringLiteral("error"));
    QVERIFY2(r.message.contains(QStringLiteral("No model is loaded")), qPrintable(r.message));

    QSignalSpy failed(&bridge, &EngineBridge::loadFailed);
    const QString bogus = m_dir.filePath(QStringLiteral("bogus.gguf"));
    QFile f(bogus);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("definitely not a gguf file");
    f.close();
    bridge.loadModel(7, bogus);
    QTRY_COMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toString(), bogus);
    QVERIFY(failed.at(0).at(1).toString().contains(QStringLiteral("bogus.gguf")));
    QVERIFY(!bridge.isLoading());
    QVERIFY(!bridge.isLoaded());

    // A conversation with nothing to continue.
    QSignalSpy loaded(&bridge, &EngineBridge::modelLoaded);
    bridge.loadModel(1, m_model);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 30000);
    GenerationRequest empty;
    empty.messages = {{QStringLiteral("user"), QString()}};
    bridge.generate(empty);
    QTRY_COMPARE(finished.count(), 2);
    r = finished.at(1).at(0).value<GenerationResult>();
    QCOMPARE(r.reason, QStringLiteral("error"));
    QVERIFY(!r.message.isEmpty());
}

void TestUiBridge::destroyedWhileStreamingKeepsText() {
    auto store = openStore();
    QVERIFY(store);
    const qint64 replyId = newReplyMessage(*store);
    QString text;
    {
        EngineBridge bridge(cpuBackendFactory(1));
        bridge.setStore(&store->store());
        QSignalSpy loaded(&bridge, &EngineBridge::modelLoaded);
        bridge.loadModel(1, m_model);
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 30000);
        connect(&bridge, &EngineBridge::tokenReceived, this, [&](quint64, const QString& s) { text += s; });
        bridge.generate(longRequest(replyId, -1));
        QTRY_VERIFY_WITH_TIMEOUT(!text.isEmpty(), 30000);
    }  // the window closing mid-reply
    QVERIFY(store->store().flush().get().is_ok());
    auto m = store->store().get_message(replyId).get();
    QVERIFY(m.is_ok());
    // Everything the GUI showed is in the store (and possibly a little more that was still
    // on its way to the GUI).
    QVERIFY(QString::fromStdString(m->content).startsWith(text));
    QVERIFY(m->completed);
}

QTEST_MAIN(TestUiBridge)
#include "test_ui_bridge.moc"
