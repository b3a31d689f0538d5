// Killing the app (SIGKILL) while a reply streams loses at most about the last second: the
// reply is written to the Store from the engine thread as it streams. A helper process runs
// the real window, reports what it shows, and is killed mid-reply; the database is then
// opened again and must hold at least what was shown a second before the kill.
#include <signal.h>

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "store/store.h"
#include "ui_test_util.h"

using namespace pagoda;

class TestUiCrash : public QObject {
    Q_OBJECT

private slots:
    void killedWhileStreamingKeepsText();
};

void TestUiCrash::killedWhileStreamingKeepsText() {
    QTemporaryDir dir;
    // A random-weight model with a long context (EOS ignored), so the reply streams for
    // several seconds.
    const QString model = ui::test::writeRandomModel(dir.path(), QStringLiteral("crash-model"), 256, 4, 768, {}, 8192);
    QVERIFY(!model.isEmpty());
    const QString db = dir.filePath(QStringLiteral("pagoda.db"));
    QProcess helper;
    helper.setProgram(QStringLiteral(PAGODA_CRASH_HELPER));
    helper.setArguments({db, model});
    helper.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    helper.start();
    QVERIFY(helper.waitForStarted());

    struct Shown {
        qint64 atMs;
        QString text;
    };
    QVector<Shown> shown;
    qint64 sessionId = 0;
    QByteArray pending;
    QElapsedTimer streaming;
    // Kill 1.5 s after text first appears, well before the 8192-token reply ends.
    while (helper.state() == QProcess::Running) {
        helper.waitForReadyRead(50);
        pending += helper.readAllStandardOutput();
        int nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
            const QByteArray line = pending.left(nl);
            pending.remove(0, nl + 1);
            const QList<QByteArray> f = line.split(' ');
            if (f.value(0) == "SESSION") sessionId = f.value(1).toLongLong();
            if (f.value(0) == "SHOWN" && f.size() == 3) {
                shown.push_back({f[1].toLongLong(), QString::fromUtf8(QByteArray::fromBase64(f[2]))});
                if (!shown.back().text.isEmpty() && !streaming.isValid()) streaming.start();
            }
        }
        if (streaming.isValid() && streaming.elapsed() > 1500) break;
        QVERIFY2(!streaming.isValid() || shown.back().atMs < 120000, "the helper never streamed");
    }
    QVERIFY2(helper.state() == QProcess::Running, "the helper ended before it could be killed");
    ::kill(static_cast<pid_t>(helper.processId()), SIGKILL);
    QVERIFY(helper.waitForFinished(10000));
    QCOMPARE(helper.exitStatus(), QProcess::CrashExit);
    QVERIFY(sessionId > 0);
    QVERIFY(!shown.isEmpty());
    const Shown last = shown.back();

    store::StoreOptions o;
    o.path = db.toStdString();
    auto reopened = store::Store::open(o);
    QVERIFY2(reopened.is_ok(), reopened.status().message().c_str());
    auto path = reopened.value()->active_path(sessionId).get();
    QVERIFY(path.is_ok());
    QCOMPARE(path->size(), size_t{2});
    QCOMPARE(QString::fromStdString(path->at(0).content), QStringLiteral("Once upon a time"));
    QVERIFY(!path->at(1).completed);  // it was still streaming
    const QString stored = QString::fromStdString(path->at(1).content);
    // What was shown a second before the last report must be in the database.
    QString required;
    for (const Shown& s : shown) {
        if (s.atMs <= last.atMs - 1000) required = s.text;
    }
    qInfo("shown %lld chars at the last report, %lld required, %lld stored", static_cast<long long>(last.text.size()),
          static_cast<long long>(required.size()), static_cast<long long>(stored.size()));
    QVERIFY2(!required.isEmpty(), "nothing was shown a second before the kill: the test did not exercise anything");
    QVERIFY2(stored.startsWith(required), "the database lost text shown more than a second before the kill");
    // And nothing that was never generated: the stored text and the shown text agree.
    QVERIFY(stored.startsWith(last.text) || last.text.startsWith(stored));
}

QTEST_MAIN(TestUiCrash)
#include "test_ui_crash.moc"
