// The Local server page, driven through its widgets on a real window: start on a free port,
// a plain HTTP client (QNetworkAccessManager) calls the API served by the engine the window
// loaded, and each request shows up in the live log (route, model, status, tokens); API key
// generate / clear, the snippet, a port already in use, stop.
#include <QCheckBox>
#include <QClipboard>
#include <QDir>
#include <QEventLoop>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTcpServer>
#include <QTest>
#include <QTimer>

#include "bridge/engine_bridge.h"
#include "bridge/local_server.h"
#include "ui/server_page.h"
#include "ui_test_util.h"

using namespace pagoda;
using namespace pagoda::ui;

class TestUiServer : public QObject {
    Q_OBJECT

private slots:
    void startCallLogStop();
    void apiKeyAndSnippet();
    void portInUseIsReported();
    void startsWithTheAppWhenAsked();

private:
    struct Reply {
        int status = 0;
        QByteArray body;
    };
    Reply call(const QString& url, const QByteArray& body, const QString& apiKey = {});
};

TestUiServer::Reply TestUiServer::call(const QString& url, const QByteArray& body, const QString& apiKey) {
    QNetworkAccessManager nam;
    QNetworkRequest req{QUrl(url)};
    req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    if (!apiKey.isEmpty()) req.setRawHeader("Authorization", "Bearer " + apiKey.toUtf8());
    QNetworkReply* r = body.isEmpty() ? nam.get(req) : nam.post(req, body);
    QEventLoop loop;
    connect(r, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(60000, &loop, &QEventLoop::quit);
    loop.exec();
    Reply out;
    out.status = r->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    out.body = r->readAll();
    r->deleteLater();
    return out;
}

void TestUiServer::startCallLogStop() {
    test::AppHarness app;
    QVERIFY(app.isValid());
    const QString model = test::writeRandomModel(app.dir(), QStringLiteral("served-model"), 64, 2, 128);
    QVERIFY(!model.isEmpty());
    QVERIFY(app.start());
    MainWindow& w = app.window();
    ServerPage* page = w.serverPage();
    QVERIFY(page);
    w.showServerPage();
    QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(page));

    // The chat's engine: loaded once, served by the page.
    bridge::EngineBridge& engine = app.services().bridge();
    QSignalSpy loaded(&engine, &bridge::EngineBridge::modelLoaded);
    engine.loadModel(0, model);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);

    page->portBox()->setValue(0);  // any free port
    page->apiKeyEdit()->clear();
    bridge::LocalServer& server = app.services().localServer();
    QSignalSpy started(&server, &bridge::LocalServer::started);
    QTest::mouseClick(page->startStopButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, 20000);
    QVERIFY(server.isRunning());
    QVERIFY(server.port() > 0);
    QCOMPARE(server.modelId(), QStringLiteral("served-model"));
    QCOMPARE(page->startStopButton()->text(), QStringLiteral("Stop server"));
    QVERIFY(!page->hostEdit()->isEnabled());  // settings apply at start
    QVERIFY2(page->statusLabel()->text().contains(QStringLiteral("served-model")),
             qPrintable(page->statusLabel()->text()));
    const QString base = server.baseUrl();
    QCOMPARE(base, QStringLiteral("http://127.0.0.1:%1/v1").arg(server.port()));
    QVERIFY(page->snippetEdit()->toPlainText().contains(base));
    QVERIFY(page->snippetEdit()->toPlainText().contains(QStringLiteral("served-model")));

    // A generation through the API, on the window's engine.
    const Reply completion =
        call(base + QStringLiteral("/completions"),
             R"({"model":"served-model","prompt":"Once upon a time","max_tokens":4,"temperature":0})");
    QCOMPARE(completion.status, 200);
    const QJsonObject usage = QJsonDocument::fromJson(completion.body).object().value("usage").toObject();
    QVERIFY2(usage.value("completion_tokens").toInt() > 0, completion.body.constData());

    QTRY_COMPARE_WITH_TIMEOUT(page->logTable()->rowCount(), 1, 10000);
    QTableWidget* log = page->logTable();
    QCOMPARE(log->item(0, 1)->text(), QStringLiteral("POST /v1/completions"));
    QCOMPARE(log->item(0, 2)->text(), QStringLiteral("served-model"));
    QCOMPARE(log->item(0, 3)->text(), QStringLiteral("200"));
    QCOMPARE(log->item(0, 4)->text(), QStringLiteral("%1 \u2192 %2")
                                          .arg(usage.value("prompt_tokens").toInt())
                                          .arg(usage.value("completion_tokens").toInt()));
    QVERIFY(!log->item(0, 5)->text().isEmpty());

    // A streamed chat completion is logged once it has ended, with its model.
    const Reply streamed = call(base + QStringLiteral("/chat/completions"),
                                R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true})");
    QCOMPARE(streamed.status, 200);
    QVERIFY(streamed.body.contains("[DONE]"));
    QTRY_COMPARE_WITH_TIMEOUT(log->rowCount(), 2, 10000);
    QCOMPARE(log->item(1, 1)->text(), QStringLiteral("POST /v1/chat/completions"));
    QCOMPARE(log->item(1, 2)->text(), QStringLiteral("served-model"));

    // An unknown model: the error is logged too.
    const Reply missing = call(base + QStringLiteral("/completions"), R"({"model":"nope","prompt":"x"})");
    QCOMPARE(missing.status, 404);
    QTRY_COMPARE_WITH_TIMEOUT(log->rowCount(), 3, 10000);
    QCOMPARE(log->item(2, 3)->text(), QStringLiteral("404"));

    QVERIFY(test::saveScreenshot(w, QStringLiteral("09-local-server")));

    // Unloading the model: the server keeps running and says there is nothing to serve.
    QSignalSpy modelChanged(&server, &bridge::LocalServer::modelChanged);
    QSignalSpy unloaded(&engine, &bridge::EngineBridge::modelUnloaded);
    engine.unloadModel();
    QTRY_COMPARE_WITH_TIMEOUT(unloaded.count(), 1, 20000);
    QTRY_COMPARE_WITH_TIMEOUT(modelChanged.count(), 1, 20000);
    QVERIFY(server.isRunning());
    QVERIFY(server.modelId().isEmpty());
    const Reply none = call(server.baseUrl() + QStringLiteral("/models"), {});
    QCOMPARE(none.status, 200);
    QVERIFY2(!none.body.contains("served-model"), none.body.constData());

    QSignalSpy stopped(&server, &bridge::LocalServer::stopped);
    QTest::mouseClick(page->startStopButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(stopped.count(), 1, 20000);
    QVERIFY(!server.isRunning());
    QCOMPARE(page->startStopButton()->text(), QStringLiteral("Start server"));
    QVERIFY(page->hostEdit()->isEnabled());
}

void TestUiServer::apiKeyAndSnippet() {
    test::AppHarness app;
    QVERIFY(app.start());
    ServerPage* page = app.window().serverPage();
    bridge::LocalServer& server = app.services().localServer();

    QTest::mouseClick(page->generateKeyButton(), Qt::LeftButton);
    const QString key = page->apiKeyEdit()->text();
    QVERIFY(key.startsWith(QStringLiteral("pagoda-")));
    QCOMPARE(key.size(), 7 + 48);
    QTest::mouseClick(page->copyKeyButton(), Qt::LeftButton);
    QCOMPARE(QGuiApplication::clipboard()->text(), key);
    QVERIFY(page->snippetEdit()->toPlainText().contains(key));

    page->portBox()->setValue(0);
    page->originsEdit()->setText(QStringLiteral("http://localhost:3000, https://example.test"));
    QCOMPARE(page->currentSettings().allowedOrigins,
             QStringList({QStringLiteral("http://localhost:3000"), QStringLiteral("https://example.test")}));
    QSignalSpy started(&server, &bridge::LocalServer::started);
    QTest::mouseClick(page->startStopButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, 20000);

    // Without the key: 401; with it: the (empty) model list.
    QCOMPARE(call(server.baseUrl() + QStringLiteral("/models"), {}).status, 401);
    QCOMPARE(call(server.baseUrl() + QStringLiteral("/models"), {}, key).status, 200);
    QTRY_COMPARE_WITH_TIMEOUT(page->logTable()->rowCount(), 2, 10000);
    QCOMPARE(page->logTable()->item(0, 3)->text(), QStringLiteral("401"));
    QCOMPARE(page->logTable()->item(1, 3)->text(), QStringLiteral("200"));

    QTest::mouseClick(page->copySnippetButton(), Qt::LeftButton);
    QVERIFY(QGuiApplication::clipboard()->text().contains(server.baseUrl()));

    QSignalSpy stopped(&server, &bridge::LocalServer::stopped);
    QTest::mouseClick(page->startStopButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(stopped.count(), 1, 20000);
    QTest::mouseClick(page->clearKeyButton(), Qt::LeftButton);
    QVERIFY(page->apiKeyEdit()->text().isEmpty());
    // The settings outlive the window.
    QCOMPARE(app.services().settings().value(QStringLiteral("server/apiKey")).toString(), QString());
    QCOMPARE(app.services().settings().value(QStringLiteral("server/port")).toInt(), 0);
}

void TestUiServer::portInUseIsReported() {
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    test::AppHarness app;
    QVERIFY(app.start());
    ServerPage* page = app.window().serverPage();
    page->portBox()->setValue(squatter.serverPort());
    QSignalSpy failed(&app.services().localServer(), &bridge::LocalServer::startFailed);
    QTest::mouseClick(page->startStopButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 20000);
    QVERIFY(!app.services().localServer().isRunning());
    QVERIFY2(page->statusLabel()->text().contains(QStringLiteral("in use")), qPrintable(page->statusLabel()->text()));
    QCOMPARE(page->startStopButton()->text(), QStringLiteral("Start server"));
}

// "Start when Pagoda opens": the next start of the app listens without a click, and
// answers (503 until a model is loaded) on the remembered port.
void TestUiServer::startsWithTheAppWhenAsked() {
    test::AppHarness app;
    QVERIFY(app.isValid());
    QTcpServer probe;  // a free port to remember
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();
    {
        QSettings settings(QDir(app.dir()).filePath(QStringLiteral("settings.ini")), QSettings::IniFormat);
        settings.setValue(QStringLiteral("server/port"), port);
    }
    QVERIFY(app.start());
    ServerPage* page = app.window().serverPage();
    QVERIFY(!page->autoStartBox()->isChecked());
    QTest::qWait(200);
    QCOMPARE(page->startStopButton()->text(), QStringLiteral("Start server"));  // off by default
    page->autoStartBox()->setChecked(true);
    app.stop();

    QVERIFY(app.start());
    page = app.window().serverPage();
    QVERIFY(page->autoStartBox()->isChecked());
    QTRY_COMPARE_WITH_TIMEOUT(page->startStopButton()->text(), QStringLiteral("Stop server"), 20000);
    const Reply models = call(QStringLiteral("http://127.0.0.1:%1/v1/models").arg(port), {});
    QVERIFY2(models.status == 200 || models.status == 503, models.body.constData());
    page->autoStartBox()->setChecked(false);
    app.stop();
    QSettings settings(QDir(app.dir()).filePath(QStringLiteral("settings.ini")), QSettings::IniFormat);
    QCOMPARE(settings.value(QStringLiteral("server/autoStart")).toBool(), false);
}

QTEST_MAIN(TestUiServer)
#include "test_ui_server.moc"
