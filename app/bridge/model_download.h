// ModelDownload: fetches one GGUF over HTTP(S) (a Hugging Face repo + file name, or a URL)
// into a folder, with progress, resume and a checksum check.
//
//   <dir>/<file>.part   bytes so far; a new start (or an automatic retry after a dropped
//                       connection) asks for the rest with "Range: bytes=N-"
//   verify              size as announced, SHA-256 as the user gave it or as the server
//                       names it (Hugging Face sends an LFS file's SHA-256 as its ETag /
//                       X-Linked-Etag), hashed on a pool thread
//   <dir>/<file>        the .part renamed into place only once verified
//
// A checksum mismatch deletes the .part (its bytes are wrong; resuming would keep them) and
// fails with both hashes; a final file is never left half-written or unverified-and-wrong.
// Redirects (Hugging Face answers /resolve/ with a 302 to its CDN) are followed by hand, so
// the checksum headers of the first answer are kept. The network runs on Qt's event loop
// (non-blocking), so the object lives on the GUI thread.
#pragma once

#include <QByteArray>
#include <QCryptographicHash>
#include <QFile>
#include <QObject>
#include <QPointer>
#include <QUrl>

#include "pagoda/status.h"

class QNetworkAccessManager;
class QNetworkReply;

namespace pagoda::bridge {

struct DownloadSource {
    QUrl url;
    QString fileName;  // the local name: the URL's last path segment
};

// "owner/repo" + "file.gguf" (+ revision) -> https://huggingface.co/owner/repo/resolve/main/file.gguf;
// a full http(s) URL in `repoOrUrl` is taken as is (file may be empty). Rejects names that
// would escape the download folder.
Result<DownloadSource> resolveDownloadSource(const QString& repoOrUrl, const QString& file = {},
                                             const QString& revision = QStringLiteral("main"));

// An ETag that is a SHA-256 (64 hex digits, quotes and W/ removed), lower-case; "" otherwise.
QString sha256FromEtag(const QByteArray& etag);

class ModelDownload : public QObject {
    Q_OBJECT

public:
    ModelDownload(DownloadSource source, QString folder, QString expectedSha256 = {}, QObject* parent = nullptr);
    ~ModelDownload() override;

    QString finalPath() const;
    QString partPath() const;
    bool isRunning() const { return m_running; }
    // Automatic resumes after a dropped connection before giving up (default 3).
    void setMaxRetries(int n) { m_maxRetries = n; }
    int retries() const { return m_retriesUsed; }
    // The checksum the file was verified against ("" when neither the user nor the server gave one).
    QString verifiedSha256() const { return m_verifiedSha; }
    // The bearer token for gated or private repos and the host it may go to (tests; the
    // default is huggingFaceToken() for https huggingface.co / hf.co, see hf_token.h).
    // The token never follows a redirect to another host.
    void setAccessToken(const QByteArray& token, const QString& host);

public slots:
    void start();
    // Stops; the .part stays, so a later start() resumes.
    void cancel();

signals:
    void progress(qint64 received, qint64 total);  // total -1 while unknown
    void stageChanged(const QString& stage);
    void finished(const QString& path);
    void failed(const QString& message);

private:
    void request(const QUrl& url, int redirects);
    void onHeaders();
    void onData();
    void onFinished();
    void verify();
    void fail(const QString& message, bool deletePart = false);
    bool isTokenHost(const QUrl& url) const;  // where a 401/403 means "gated or private"
    bool sendsToken(const QUrl& url) const;

    DownloadSource m_source;
    QString m_folder;
    QString m_userSha;
    QString m_serverSha;
    QString m_verifiedSha;
    QNetworkAccessManager* m_nam = nullptr;
    QPointer<QNetworkReply> m_reply;
    QFile m_part;
    qint64 m_offset = 0;  // bytes in the .part when the current request started
    qint64 m_received = 0;
    qint64 m_total = -1;
    int m_maxRetries = 3;
    int m_retriesUsed = 0;
    bool m_running = false;
    bool m_headersSeen = false;
    bool m_cancelled = false;
    QByteArray m_token;
    QString m_tokenHost;  // "" -> isHuggingFaceHost()
};

}  // namespace pagoda::bridge
