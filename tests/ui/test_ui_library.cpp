// The library pages driven through their widgets: the Adapters page (add GGUF LoRA files and
// PEFT folders, their base model, attach to a chat with a scale, the engine's answer) and the
// Models page's download box against a local HTTP server (QTcpServer) that redirects like
// Hugging Face, answers ranges, drops the connection halfway once, or sends corrupt bytes;
// gated repos and the Hugging Face token (sent to the repo's host, never to the CDN).
#include <QComboBox>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSlider>
#include <QTableView>
#include <QTableWidget>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include "bridge/adapter_info.h"
#include "bridge/engine_bridge.h"
#include "bridge/hf_token.h"
#include "bridge/model_download.h"
#include "bridge/model_variants.h"
#include "bridge/store_client.h"
#include "model/gguf_writer.h"
#include "ui/adapters_page.h"
#include "ui/chat_controller.h"
#include "ui/download_panel.h"
#include "ui/model_library_model.h"
#include "ui/models_page.h"
#include "ui_test_util.h"

using namespace pagoda;
using namespace pagoda::ui;

namespace {

// A small HTTP/1.1 file server: /owner/repo/resolve/main/<name> answers 302 to /cdn/<name>
// with X-Linked-Etag (the SHA-256) and X-Linked-Size, as huggingface.co does; /cdn/<name>
// serves the bytes with Range support.
class TinyHttpServer : public QObject {
public:
    QByteArray body;
    QString sha256;              // announced; defaults to the body's
    bool dropFirstFull = false;  // the first /cdn request gets half the body, then the connection closes
    bool corrupt = false;        // serve a flipped byte
    QStringList ranges;          // the Range header of every /cdn request ("" for none)
    QByteArray requiredToken;    // non-empty: /resolve/ answers 401 without "Bearer <it>" (a gated repo)
    bool cdnOnOtherHost = false;  // redirect to http://localhost:PORT/cdn/ (another host name)
    QStringList authorizations;  // "resolve: <Authorization>" / "cdn: <Authorization>" per request

    bool listen() {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* s = m_server.nextPendingConnection()) {
                connect(s, &QTcpSocket::readyRead, this, [this, s] { onRead(s); });
                connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
            }
        });
        return m_server.listen(QHostAddress::LocalHost, 0);
    }
    QString url(const QString& name) const {
        return QStringLiteral("http://127.0.0.1:%1/owner/repo/resolve/main/%2").arg(m_server.serverPort()).arg(name);
    }

private:
    void onRead(QTcpSocket* s) {
        QByteArray& buf = m_buffers[s];
        buf += s->readAll();
        const int end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const QList<QByteArray> lines = buf.left(end).split('\n');
        buf.remove(0, end + 4);
        const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
        const QString path = QString::fromLatin1(requestLine.value(1));
        QByteArray range, authorization;
        for (const QByteArray& l : lines) {
            if (l.toLower().startsWith("range:")) range = l.mid(6).trimmed();
            if (l.toLower().startsWith("authorization:")) authorization = l.mid(14).trimmed();
        }
        const bool resolve = path.contains(QLatin1String("/resolve/main/"));
        authorizations << QString::fromLatin1((resolve ? "resolve: " : "cdn: ") + authorization);
        if (resolve && !requiredToken.isEmpty() && authorization != "Bearer " + requiredToken) {
            s->write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        const QString sha =
            sha256.isEmpty() ? QString::fromLatin1(QCryptographicHash::hash(body, QCryptographicHash::Sha256).toHex())
                             : sha256;
        if (resolve) {
            const QString name = path.section(QLatin1Char('/'), -1);
            const QByteArray cdn =
                cdnOnOtherHost ? "http://localhost:" + QByteArray::number(m_server.serverPort()) + "/cdn/" : "/cdn/";
            s->write("HTTP/1.1 302 Found\r\nLocation: " + cdn + name.toLatin1() + "\r\nX-Linked-Etag: \"" +
                     sha.toLatin1() + "\"\r\nX-Linked-Size: " + QByteArray::number(body.size()) +
                     "\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        if (!path.startsWith(QLatin1String("/cdn/"))) {
            s->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        ranges << QString::fromLatin1(range);
        QByteArray data = body;
        if (corrupt) data[data.size() / 3] = static_cast<char>(data[data.size() / 3] ^ 0x5a);
        qint64 from = 0;
        static const QRegularExpression re(QStringLiteral("^bytes=(\\d+)-$"));
        const auto m = re.match(QString::fromLatin1(range));
        if (m.hasMatch()) from = m.captured(1).toLongLong();
        if (from >= data.size() && m.hasMatch()) {
            s->write("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" + QByteArray::number(data.size()) +
                     "\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        const QByteArray part = data.mid(from);
        QByteArray head = m.hasMatch() ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " +
                                             QByteArray::number(from) + "-" + QByteArray::number(data.size() - 1) +
                                             "/" + QByteArray::number(data.size()) + "\r\n"
                                       : QByteArray("HTTP/1.1 200 OK\r\n");
        head += "Content-Length: " + QByteArray::number(part.size()) + "\r\nAccept-Ranges: bytes\r\nETag: \"" +
                sha.toLatin1() + "\"\r\n\r\n";
        if (dropFirstFull && !m.hasMatch()) {
            dropFirstFull = false;
            s->write(head + part.left(part.size() / 2));
            s->flush();
            s->disconnectFromHost();  // after the half is written: the client sees a short body
            return;
        }
        s->write(head + part);
    }

    QTcpServer m_server;
    QHash<QTcpSocket*, QByteArray> m_buffers;
};

// The bytes of a small random GGUF model, for the test server to serve.
QByteArray tinyModelBytes() {
    QTemporaryDir dir;
    QFile f(test::writeRandomModel(dir.path(), QStringLiteral("tiny"), 64, 2, 128));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString writeLoraGguf(const QString& dir, const QString& name, const std::string& arch) {
    GgufWriter w;
    w.set_string("general.architecture", arch);
    w.set_string("general.type", "adapter");
    w.set_string("adapter.type", "lora");
    w.set_string("general.name", name.toStdString());
    w.set_f32("adapter.lora.alpha", 16.0f);
    const QString path = QDir(dir).filePath(name + QStringLiteral(".gguf"));
    return w.write(path.toStdString()).is_ok() ? path : QString();
}

}  // namespace

class TestUiLibrary : public QObject {
    Q_OBJECT

private slots:
    void downloadSources();
    void quantVariantsGrouped();
    void adaptersPageAttachesWithScale();
    void downloadResumesAndVerifies();
    void corruptDownloadFailsCleanly();
    void huggingFaceTokenSources();
    void gatedRepoTokenNeverLeavesItsHost();
};

void TestUiLibrary::downloadSources() {
    auto hf = bridge::resolveDownloadSource(QStringLiteral("TheBloke/Some-Model-GGUF"),
                                            QStringLiteral("q4/model.Q4_K_M.gguf"));
    QVERIFY(hf.is_ok());
    QCOMPARE(hf->url.toString(),
             QStringLiteral("https://huggingface.co/TheBloke/Some-Model-GGUF/resolve/main/q4/model.Q4_K_M.gguf"));
    QCOMPARE(hf->fileName, QStringLiteral("model.Q4_K_M.gguf"));
    auto url = bridge::resolveDownloadSource(QStringLiteral("https://example.test/a/b/tiny.gguf?download=1"));
    QVERIFY(url.is_ok());
    QCOMPARE(url->fileName, QStringLiteral("tiny.gguf"));
    QVERIFY(!bridge::resolveDownloadSource(QStringLiteral("not a repo"), QStringLiteral("x.gguf")).is_ok());
    QVERIFY(!bridge::resolveDownloadSource(QStringLiteral("o/r"), QStringLiteral("../../etc/passwd")).is_ok());
    QVERIFY(!bridge::resolveDownloadSource(QStringLiteral("o/r"), QString()).is_ok());
    const QString sha = QStringLiteral("a").repeated(64);
    QCOMPARE(bridge::sha256FromEtag("W/\"" + sha.toUpper().toLatin1() + "\""), sha);
    QCOMPARE(bridge::sha256FromEtag("\"5d41402abc4b2a76b9719d911017c592\""), QString());  // an MD5-like git etag
}

void TestUiLibrary::quantVariantsGrouped() {
    QCOMPARE(bridge::variantBaseName(QStringLiteral("/m/Llama-3.2-1B-Instruct-Q4_K_M.gguf")),
             QStringLiteral("Llama-3.2-1B-Instruct"));
    QCOMPARE(bridge::variantBaseName(QStringLiteral("qwen2.5-7b-instruct-iq3_xxs.gguf")),
             QStringLiteral("qwen2.5-7b-instruct"));
    QCOMPARE(bridge::variantBaseName(QStringLiteral("model.F16.gguf")), QStringLiteral("model"));
    QCOMPARE(bridge::variantBaseName(QStringLiteral("big-Q8_0-00002-of-00003.gguf")), QStringLiteral("big"));
    QCOMPARE(bridge::variantBaseName(QStringLiteral("stories260K.gguf")), QStringLiteral("stories260K"));
    QVERIFY(bridge::quantizationRank(QStringLiteral("F16")) < bridge::quantizationRank(QStringLiteral("Q8_0")));
    QVERIFY(bridge::quantizationRank(QStringLiteral("Q8_0")) < bridge::quantizationRank(QStringLiteral("Q4_K_M")));
    QVERIFY(bridge::quantizationRank(QStringLiteral("Q4_K_M")) < bridge::quantizationRank(QStringLiteral("IQ4_XS")));

    test::AppHarness app;
    QVERIFY(app.isValid());
    // "a-other" sorts between the two variants by name; grouping puts the variants together.
    const QStringList files = {test::writeRandomModel(app.dir(), QStringLiteral("a-Q4_K_M"), 64, 1, 128),
                               test::writeRandomModel(app.dir(), QStringLiteral("a-other"), 64, 1, 128),
                               test::writeRandomModel(app.dir(), QStringLiteral("a-Q8_0"), 64, 1, 128)};
    for (const QString& f : files) QVERIFY(!f.isEmpty());
    QVERIFY(app.start());
    MainWindow& w = app.window();
    QSignalSpy added(w.modelsPage(), &ModelsPage::modelsAdded);
    w.modelsPage()->addPaths(files);
    QTRY_COMPARE_WITH_TIMEOUT(added.count(), 1, 20000);
    QTRY_COMPARE_WITH_TIMEOUT(w.library().rowCount(), 3, 10000);
    ModelLibraryModel& lib = w.library();
    auto text = [&lib](int row, int col) { return lib.index(row, col).data().toString(); };
    const int first = text(0, ModelLibraryModel::Name) == QLatin1String("a-other") ? 1 : 0;
    QCOMPARE(lib.index(first, 0).data(ModelLibraryModel::GroupRole),
             lib.index(first + 1, 0).data(ModelLibraryModel::GroupRole));
    QCOMPARE(text(first, ModelLibraryModel::Variants), QStringLiteral("1 of 2"));
    QCOMPARE(text(first + 1, ModelLibraryModel::Variants), QStringLiteral("2 of 2"));
    const int other = first == 0 ? 2 : 0;
    QCOMPARE(text(other, ModelLibraryModel::Name), QStringLiteral("a-other"));
    QCOMPARE(text(other, ModelLibraryModel::Variants), QString());
    QCOMPARE(lib.variantRows(first).size(), 2);
    // The details name the other quantization, for switching.
    w.modelsPage()->selectModel(lib.modelAt(first)->id);
    QTRY_VERIFY(w.modelsPage()
                    ->findChild<QLabel*>(QStringLiteral("modelDetails"))
                    ->text()
                    .contains(QStringLiteral("Other quantizations of this model")));
    QVERIFY(test::saveScreenshot(w, QStringLiteral("12-models-variants")));
}

void TestUiLibrary::adaptersPageAttachesWithScale() {
    test::AppHarness app;
    QVERIFY(app.isValid());
    const QString model = test::writeRandomModel(app.dir(), QStringLiteral("base-model"), 64, 2, 128);
    const QString lora = writeLoraGguf(app.dir(), QStringLiteral("style-lora"), "llama");
    QVERIFY(!model.isEmpty() && !lora.isEmpty());
    const QString peft = QDir(app.dir()).filePath(QStringLiteral("peft-adapter"));
    QVERIFY(QDir().mkpath(peft));
    QFile config(QDir(peft).filePath(QStringLiteral("adapter_config.json")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(R"({"peft_type":"LORA","r":8,"lora_alpha":16,"base_model_name_or_path":"meta-llama/Llama-3.2-1B"})");
    config.close();
    QVERIFY(app.start());
    MainWindow& w = app.window();

    // A base model in the library first, so the GGUF adapter's architecture finds it.
    QSignalSpy modelsAdded(w.modelsPage(), &ModelsPage::modelsAdded);
    w.modelsPage()->addPaths({model});
    QTRY_COMPARE_WITH_TIMEOUT(modelsAdded.count(), 1, 20000);
    QTRY_COMPARE_WITH_TIMEOUT(w.library().rowCount(), 1, 10000);

    AdaptersPage* page = w.adaptersPage();
    QVERIFY(page);
    w.showAdaptersPage();
    QSignalSpy added(page, &AdaptersPage::adaptersAdded);
    page->addPaths({lora, peft, model});  // the model is not an adapter: refused with a reason
    QTRY_COMPARE_WITH_TIMEOUT(added.count(), 1, 20000);
    QCOMPARE(added.at(0).at(0).toInt(), 2);
    QCOMPARE(added.at(0).at(1).toInt(), 1);
    QVERIFY2(page->statusLabel()->text().contains(QStringLiteral("not a LoRA adapter")),
             qPrintable(page->statusLabel()->text()));
    QTRY_COMPARE_WITH_TIMEOUT(page->table()->rowCount(), 2, 10000);
    int loraRow = -1, peftRow = -1;
    for (int r = 0; r < 2; ++r) {
        if (page->table()->item(r, AdaptersPage::NameCol)->text() == QLatin1String("style-lora")) loraRow = r;
        if (page->table()->item(r, AdaptersPage::NameCol)->text() == QLatin1String("peft-adapter")) peftRow = r;
    }
    QVERIFY(loraRow >= 0 && peftRow >= 0);
    QCOMPARE(page->table()->item(loraRow, AdaptersPage::BaseModelCol)->text(), QStringLiteral("base-model"));
    QCOMPARE(page->table()->item(loraRow, AdaptersPage::ArchitectureCol)->text(), QStringLiteral("llama"));
    QCOMPARE(page->table()->item(peftRow, AdaptersPage::BaseModelCol)->text(), QStringLiteral("(unknown)"));

    // The PEFT adapter's base model, picked by hand.
    page->table()->selectRow(peftRow);
    QVERIFY(page->baseModelBox()->isEnabled());
    const int baseIndex = page->baseModelBox()->findText(QStringLiteral("base-model"));
    QVERIFY(baseIndex > 0);
    const int reloads = page->reloadCount();
    page->baseModelBox()->setCurrentIndex(baseIndex);
    emit page->baseModelBox()->activated(baseIndex);
    QTRY_VERIFY_WITH_TIMEOUT(page->reloadCount() > reloads, 10000);
    auto stored = app.services().store().store().list_adapters().get();
    QVERIFY(stored.is_ok());
    for (const store::Adapter& a : *stored) QVERIFY(a.base_model_id.has_value());

    // No chat open: nothing to attach to.
    QVERIFY(!page->applyButton()->isEnabled());
    QSignalSpy sessionChanged(&w.controller(), &ChatController::sessionChanged);
    w.controller().newSession();
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().sessionId() != 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(page->applyButton()->isEnabled(), 10000);
    QCOMPARE(page->attachList()->count(), 2);

    // Tick the GGUF adapter, scale 0.5, apply.
    QListWidgetItem* item = nullptr;
    for (int r = 0; r < page->attachList()->count(); ++r) {
        if (page->attachList()->item(r)->text().startsWith(QLatin1String("style-lora")))
            item = page->attachList()->item(r);
    }
    QVERIFY(item);
    page->attachList()->setCurrentItem(item);
    item->setCheckState(Qt::Checked);
    page->scaleSlider()->setValue(50);
    QCOMPARE(page->scaleLabel()->text(), QStringLiteral("0.50"));
    QVERIFY(item->text().contains(QStringLiteral("0.50")));
    QSignalSpy applied(page, &AdaptersPage::applied);
    QTest::mouseClick(page->applyButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(applied.count(), 1, 10000);
    // No model is loaded: nothing to check the adapter against yet; it loads with a reply
    // (test_ui_lora runs adapters for real).
    QCOMPARE(applied.at(0).at(0).toBool(), true);
    QVERIFY2(page->statusLabel()->text().contains(QStringLiteral("load with the model")),
             qPrintable(page->statusLabel()->text()));

    QVERIFY(test::saveScreenshot(w, QStringLiteral("10-adapters")));

    // The choice is kept with the chat.
    const qint64 sessionId = w.controller().sessionId();
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            auto s = app.services().store().store().get_session(sessionId).get();
            if (!s) return false;
            const auto attached = bridge::parseAdapterAttachments(s->adapters_json);
            return attached.size() == 1 && attached[0].scale == 0.5;
        }(),
        10000);

    // Remove from the library.
    page->table()->selectRow(0);
    QTest::mouseClick(page->removeButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(page->table()->rowCount(), 1, 10000);
    QVERIFY(QFileInfo::exists(lora));  // the files stay
}

void TestUiLibrary::downloadResumesAndVerifies() {
    test::AppHarness app;
    QVERIFY(app.isValid());
    TinyHttpServer http;
    http.body = tinyModelBytes();
    QVERIFY(!http.body.isEmpty());
    http.dropFirstFull = true;
    QVERIFY(http.listen());
    QVERIFY(app.start());
    MainWindow& w = app.window();
    DownloadPanel* panel = w.modelsPage()->downloadPanel();
    const QString folder = QDir(app.dir()).filePath(QStringLiteral("downloads"));
    panel->setFolder(folder);

    QSignalSpy done(panel, &DownloadPanel::downloaded);
    QSignalSpy failed(panel, &DownloadPanel::downloadFailed);
    QSignalSpy modelsAdded(w.modelsPage(), &ModelsPage::modelsAdded);
    panel->repoEdit()->setText(http.url(QStringLiteral("tiny.gguf")));
    QTest::mouseClick(panel->downloadButton(), Qt::LeftButton);
    QVERIFY(panel->progressBar()->isVisible());
    QVERIFY(!panel->downloadButton()->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(done.count() + failed.count(), 1, 30000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(0).toString()));

    // One full request cut short, then the rest asked for by range.
    QCOMPARE(http.ranges.size(), 2);
    QCOMPARE(http.ranges.at(0), QString());
    QVERIFY(http.ranges.at(1).startsWith(QLatin1String("bytes=")));
    QVERIFY(http.ranges.at(1) != QLatin1String("bytes=0-"));
    QCOMPARE(panel->current()->retries(), 1);
    const QString path = QDir(folder).filePath(QStringLiteral("tiny.gguf"));
    QCOMPARE(done.at(0).at(0).toString(), path);
    QVERIFY(!QFileInfo::exists(path + QStringLiteral(".part")));
    QFile got(path);
    QVERIFY(got.open(QIODevice::ReadOnly));
    QCOMPARE(got.readAll(), http.body);
    QVERIFY2(panel->statusLabel()->text().contains(QStringLiteral("verified")),
             qPrintable(panel->statusLabel()->text()));
    QCOMPARE(panel->current()->verifiedSha256(),
             QString::fromLatin1(QCryptographicHash::hash(http.body, QCryptographicHash::Sha256).toHex()));

    // The verified file joins the library.
    QTRY_COMPARE_WITH_TIMEOUT(modelsAdded.count(), 1, 20000);
    QTRY_COMPARE_WITH_TIMEOUT(w.library().rowCount(), 1, 10000);
    QCOMPARE(QString::fromStdString(w.library().modelAt(0)->path), path);

    w.modelsPage()->selectModel(w.library().modelAt(0)->id);
    QVERIFY(test::saveScreenshot(w, QStringLiteral("11-models-downloaded")));

    // A .part left by an earlier session resumes where it ended.
    QFile::remove(path);
    {
        QFile part(path + QStringLiteral(".part"));
        QVERIFY(part.open(QIODevice::WriteOnly));
        part.write(http.body.left(http.body.size() / 4));
    }
    http.ranges.clear();
    QTest::mouseClick(panel->downloadButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(done.count() + failed.count(), 2, 30000);
    QCOMPARE(done.count(), 2);
    QCOMPARE(http.ranges, QStringList({QStringLiteral("bytes=%1-").arg(http.body.size() / 4)}));
}

void TestUiLibrary::corruptDownloadFailsCleanly() {
    test::AppHarness app;
    QVERIFY(app.isValid());
    TinyHttpServer http;
    http.body = tinyModelBytes();
    QVERIFY(!http.body.isEmpty());
    http.corrupt = true;
    QVERIFY(http.listen());
    QVERIFY(app.start());
    DownloadPanel* panel = app.window().modelsPage()->downloadPanel();
    const QString folder = QDir(app.dir()).filePath(QStringLiteral("downloads"));
    panel->setFolder(folder);
    QSignalSpy done(panel, &DownloadPanel::downloaded);
    QSignalSpy failed(panel, &DownloadPanel::downloadFailed);
    panel->repoEdit()->setText(http.url(QStringLiteral("tiny.gguf")));
    QTest::mouseClick(panel->downloadButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(done.count() + failed.count(), 1, 30000);
    QCOMPARE(failed.count(), 1);
    const QString message = failed.at(0).at(0).toString();
    QVERIFY2(message.contains(QStringLiteral("Checksum mismatch")), qPrintable(message));
    QVERIFY(
        message.contains(QString::fromLatin1(QCryptographicHash::hash(http.body, QCryptographicHash::Sha256).toHex())));
    QCOMPARE(panel->statusLabel()->text(), message);
    QVERIFY(panel->downloadButton()->isEnabled());
    // Neither a broken .gguf nor a .part to resume from.
    QVERIFY(!QFileInfo::exists(QDir(folder).filePath(QStringLiteral("tiny.gguf"))));
    QVERIFY(!QFileInfo::exists(QDir(folder).filePath(QStringLiteral("tiny.gguf.part"))));

    // A wrong SHA-256 typed by the user fails the same way, even for good bytes.
    http.corrupt = false;
    panel->shaEdit()->setText(QStringLiteral("0").repeated(64));
    QTest::mouseClick(panel->downloadButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, 30000);
    QVERIFY(failed.at(1).at(0).toString().contains(QStringLiteral("0").repeated(64)));
    QVERIFY(!QFileInfo::exists(QDir(folder).filePath(QStringLiteral("tiny.gguf"))));
}

void TestUiLibrary::huggingFaceTokenSources() {
    const QByteArray savedToken = qgetenv("HF_TOKEN"), savedHome = qgetenv("HF_HOME");
    QTemporaryDir home;
    qputenv("HF_HOME", home.path().toLocal8Bit());
    qunsetenv("HUGGING_FACE_HUB_TOKEN");
    qputenv("HF_TOKEN", " hf_fromEnv123 \n");
    QCOMPARE(bridge::huggingFaceToken(), QByteArray("hf_fromEnv123"));
    // Not a token (a space inside): the file `huggingface-cli login` writes is next.
    qputenv("HF_TOKEN", "hf_a b");
    QCOMPARE(bridge::huggingFaceToken(), QByteArray());
    {
        QFile f(QDir(home.path()).filePath(QStringLiteral("token")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("hf_fromFile456\n");
    }
    QCOMPARE(bridge::huggingFaceToken(), QByteArray("hf_fromFile456"));
    qunsetenv("HF_TOKEN");
    QCOMPARE(bridge::huggingFaceToken(), QByteArray("hf_fromFile456"));
    {
        QFile f(QDir(home.path()).filePath(QStringLiteral("token")));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(QByteArray(600, 'x'));  // too long for a token: ignored
    }
    QCOMPARE(bridge::huggingFaceToken(), QByteArray());

    QVERIFY(bridge::isHuggingFaceHost(QUrl(QStringLiteral("https://huggingface.co/a/b/resolve/main/x.gguf"))));
    QVERIFY(bridge::isHuggingFaceHost(QUrl(QStringLiteral("https://hf.co/a/b/resolve/main/x.gguf"))));
    QVERIFY(!bridge::isHuggingFaceHost(QUrl(QStringLiteral("http://huggingface.co/a"))));
    QVERIFY(!bridge::isHuggingFaceHost(QUrl(QStringLiteral("https://cdn-lfs.huggingface.co/x"))));
    QVERIFY(!bridge::isHuggingFaceHost(QUrl(QStringLiteral("https://huggingface.co.evil.test/x"))));
    for (const auto& [name, saved] : {std::pair{"HF_TOKEN", savedToken}, std::pair{"HF_HOME", savedHome}}) {
        if (saved.isNull()) {
            qunsetenv(name);
        } else {
            qputenv(name, saved);
        }
    }
}

void TestUiLibrary::gatedRepoTokenNeverLeavesItsHost() {
    TinyHttpServer http;
    http.body = QByteArray(100000, 'g');
    http.requiredToken = "hf_secret789";
    http.cdnOnOtherHost = true;
    QVERIFY(http.listen());
    QTemporaryDir folder;
    auto source = bridge::resolveDownloadSource(http.url(QStringLiteral("gated.gguf")));
    QVERIFY(source.is_ok());
    auto run = [&](const QByteArray& token) {
        bridge::ModelDownload d(*source, folder.path());
        d.setAccessToken(token, QStringLiteral("127.0.0.1"));  // the test server stands in for huggingface.co
        QSignalSpy done(&d, &bridge::ModelDownload::finished);
        QSignalSpy failed(&d, &bridge::ModelDownload::failed);
        d.start();
        [&] { QTRY_COMPARE_WITH_TIMEOUT(done.count() + failed.count(), 1, 20000); }();
        return failed.isEmpty() ? QString() : failed.at(0).at(0).toString();
    };

    const QString noToken = run({});
    QVERIFY2(noToken.contains(QStringLiteral("gated or private")) && noToken.contains(QStringLiteral("HF_TOKEN")),
             qPrintable(noToken));
    const QString wrongToken = run("hf_wrong");
    QVERIFY2(wrongToken.contains(QStringLiteral("refused the access token")), qPrintable(wrongToken));
    QCOMPARE(http.authorizations, QStringList({QStringLiteral("resolve: "), QStringLiteral("resolve: Bearer hf_wrong")}));

    http.authorizations.clear();
    QCOMPARE(run("hf_secret789"), QString());
    // The token went to the repo's host only, not along the redirect to the CDN's.
    QCOMPARE(http.authorizations,
             QStringList({QStringLiteral("resolve: Bearer hf_secret789"), QStringLiteral("cdn: ")}));
    QFile got(QDir(folder.path()).filePath(QStringLiteral("gated.gguf")));
    QVERIFY(got.open(QIODevice::ReadOnly));
    QCOMPARE(got.readAll(), http.body);
}

QTEST_MAIN(TestUiLibrary)
#include "test_ui_library.moc"
