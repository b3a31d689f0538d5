#include "bridge/model_download.h"

#include <QDir>
#include <QFileInfo>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QRegularExpression>
#include <QThreadPool>

#include "bridge/hf_token.h"

namespace pagoda::bridge {

namespace {

constexpr int kMaxRedirects = 8;

bool isSafeFileName(const QString& name) {
    return !name.isEmpty() && name != QLatin1String(".") && name != QLatin1String("..") &&
           !name.contains(QLatin1Char('/')) && !name.contains(QLatin1Char('\\')) && !name.startsWith(QLatin1Char('.'));
}

struct Verification {
    qint64 size = -1;
    QString sha256;
    QString error;
};

Verification hashFile(const QString& path) {
    Verification v;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        v.error = f.errorString();
        return v;
    }
    v.size = f.size();
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&f)) {
        v.error = f.errorString();
        return v;
    }
    v.sha256 = QString::fromLatin1(hash.result().toHex());
    return v;
}

}  // namespace

Result<DownloadSource> resolveDownloadSource(const QString& repoOrUrl, const QString& file, const QString& revision) {
    const QString input = repoOrUrl.trimmed();
    DownloadSource out;
    if (input.startsWith(QLatin1String("http://")) || input.startsWith(QLatin1String("https://"))) {
        out.url = QUrl(input, QUrl::StrictMode);
        if (!out.url.isValid() || out.url.host().isEmpty())
            return invalid_argument("not a valid URL: " + input.toStdString());
        out.fileName = file.trimmed().isEmpty() ? out.url.fileName() : QFileInfo(file.trimmed()).fileName();
    } else {
        // owner/name: letters, digits, '-', '_', '.'; exactly one slash.
        static const QRegularExpression repoPattern(
            QStringLiteral("^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$"));
        if (!repoPattern.match(input).hasMatch() || input.contains(QLatin1String(".."))) {
            const QString why = QStringLiteral("\"%1\" is neither a URL nor a Hugging Face repository (owner/name)");
            return invalid_argument(why.arg(input).toStdString());
        }
        const QString path = file.trimmed();
        if (path.isEmpty()) return invalid_argument("name the file to download from " + input.toStdString());
        if (path.startsWith(QLatin1Char('/')) || path.split(QLatin1Char('/')).contains(QLatin1String(".."))) {
            return invalid_argument(
                QStringLiteral("\"%1\" is not a file path inside the repository").arg(path).toStdString());
        }
        const QString rev = revision.trimmed().isEmpty() ? QStringLiteral("main") : revision.trimmed();
        out.url = QUrl(QStringLiteral("https://huggingface.co/%1/resolve/%2/%3")
                           .arg(input, QString::fromLatin1(QUrl::toPercentEncoding(rev)),
                                QString::fromLatin1(QUrl::toPercentEncoding(path, "/"))));
        out.fileName = QFileInfo(path).fileName();
    }
    if (!isSafeFileName(out.fileName)) {
        return invalid_argument("cannot tell a file name to save as from " + input.toStdString());
    }
    return out;
}

QString sha256FromEtag(const QByteArray& etag) {
    QString e = QString::fromLatin1(etag).trimmed();
    if (e.startsWith(QLatin1String("W/"))) e = e.mid(2);
    if (e.size() >= 2 && e.startsWith(QLatin1Char('"')) && e.endsWith(QLatin1Char('"'))) e = e.mid(1, e.size() - 2);
    static const QRegularExpression hex64(QStringLiteral("^[0-9A-Fa-f]{64}$"));
    return hex64.match(e).hasMatch() ? e.toLower() : QString();
}

ModelDownload::ModelDownload(DownloadSource source, QString folder, QString expectedSha256, QObject* parent)
    : QObject(parent),
      m_source(std::move(source)),
      m_folder(std::move(folder)),
      m_userSha(expectedSha256.trimmed().toLower()),
      m_nam(new QNetworkAccessManager(this)),
      m_token(huggingFaceToken()) {}

ModelDownload::~ModelDownload() { cancel(); }

void ModelDownload::setAccessToken(const QByteArray& token, const QString& host) {
    m_token = token;
    m_tokenHost = host;
}

bool ModelDownload::isTokenHost(const QUrl& url) const {
    return m_tokenHost.isEmpty() ? isHuggingFaceHost(url) : url.host() == m_tokenHost;
}

bool ModelDownload::sendsToken(const QUrl& url) const { return !m_token.isEmpty() && isTokenHost(url); }

QString ModelDownload::finalPath() const { return QDir(m_folder).filePath(m_source.fileName); }
QString ModelDownload::partPath() const { return finalPath() + QStringLiteral(".part"); }

void ModelDownload::start() {
    if (m_running) return;
    static const QRegularExpression hex64(QStringLiteral("^[0-9a-f]{64}$"));
    if (!m_userSha.isEmpty() && !hex64.match(m_userSha).hasMatch()) {
        return fail(tr("The SHA-256 should be 64 hexadecimal digits."));
    }
    if (!QDir().mkpath(m_folder)) return fail(tr("Cannot create the folder %1.").arg(m_folder));
    if (QFileInfo::exists(finalPath())) return fail(tr("%1 already exists.").arg(finalPath()));
    m_running = true;
    m_cancelled = false;
    m_retriesUsed = 0;
    m_serverSha.clear();
    m_total = -1;
    m_offset = QFileInfo(partPath()).size();  // 0 when there is no .part
    m_received = m_offset;
    emit stageChanged(m_offset > 0 ? tr("Resuming at %1 bytes").arg(m_offset) : tr("Connecting"));
    request(m_source.url, 0);
}

void ModelDownload::cancel() {
    if (!m_running) return;
    m_cancelled = true;
    m_running = false;
    if (m_reply) {
        m_reply->abort();
        m_reply->deleteLater();
    }
    m_part.close();
}

void ModelDownload::request(const QUrl& url, int redirects) {
    QNetworkRequest req(url);
    req.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
    req.setHeader(QNetworkRequest::UserAgentHeader, QStringLiteral("pagoda/0.1"));
    // The bytes as stored: a compressed transfer would break resuming at a byte offset.
    req.setRawHeader("Accept-Encoding", "identity");
    if (m_offset > 0) req.setRawHeader("Range", "bytes=" + QByteArray::number(m_offset) + "-");
    if (sendsToken(url)) req.setRawHeader("Authorization", "Bearer " + m_token);
    m_headersSeen = false;
    QNetworkReply* reply = m_nam->get(req);
    reply->setProperty("redirects", redirects);
    m_reply = reply;
    connect(reply, &QNetworkReply::readyRead, this, [this, reply] {
        if (reply == m_reply) onData();
    });
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        if (reply == m_reply) onFinished();
        reply->deleteLater();
    });
}

void ModelDownload::onHeaders() {
    m_headersSeen = true;
    const int status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (m_serverSha.isEmpty()) {
        // Hugging Face: X-Linked-Etag on the /resolve/ redirect; a plain server: ETag.
        m_serverSha = sha256FromEtag(m_reply->rawHeader("X-Linked-Etag"));
        if (m_serverSha.isEmpty() && (status == 200 || status == 206))
            m_serverSha = sha256FromEtag(m_reply->rawHeader("ETag"));
    }
    if (status >= 300 && status < 400) {
        if (m_total < 0 && m_reply->hasRawHeader("X-Linked-Size"))
            m_total = m_reply->rawHeader("X-Linked-Size").toLongLong();
        return;
    }
    if (status == 200) {
        // The whole file (the server ignored the range, or there was none): start over.
        m_offset = 0;
        m_part.close();
        m_part.setFileName(partPath());
        if (!m_part.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            return fail(tr("Cannot write %1: %2").arg(partPath(), m_part.errorString()));
        }
        const qint64 length = m_reply->header(QNetworkRequest::ContentLengthHeader).toLongLong();
        if (length > 0) m_total = length;
    } else if (status == 206) {
        // "bytes START-END/TOTAL": must continue exactly where the .part ends.
        static const QRegularExpression range(QStringLiteral("^bytes (\\d+)-(\\d+)/(\\d+|\\*)$"));
        const auto m = range.match(QString::fromLatin1(m_reply->rawHeader("Content-Range")).trimmed());
        if (!m.hasMatch() || m.captured(1).toLongLong() != m_offset) {
            return fail(tr("The server answered the resume with the wrong bytes (%1); delete %2 to start over.")
                            .arg(QString::fromLatin1(m_reply->rawHeader("Content-Range")), partPath()));
        }
        if (m.captured(3) != QLatin1String("*")) m_total = m.captured(3).toLongLong();
        m_part.close();
        m_part.setFileName(partPath());
        if (!m_part.open(QIODevice::WriteOnly | QIODevice::Append)) {
            return fail(tr("Cannot write %1: %2").arg(partPath(), m_part.errorString()));
        }
    }
    emit stageChanged(tr("Downloading %1").arg(m_source.fileName));
    emit progress(m_received, m_total);
}

void ModelDownload::onData() {
    if (!m_headersSeen) onHeaders();
    if (!m_running || !m_reply) return;
    const int status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray data = m_reply->readAll();
    if ((status != 200 && status != 206) || !m_part.isOpen()) return;  // a redirect's or an error's body
    if (m_part.write(data) != data.size()) return fail(tr("Cannot write %1: %2").arg(partPath(), m_part.errorString()));
    m_received += data.size();
    if (m_total >= 0 && m_received > m_total) {
        return fail(tr("The server sent more bytes than it announced (%1)").arg(m_total), true);
    }
    emit progress(m_received, m_total);
}

void ModelDownload::onFinished() {
    if (!m_running || m_cancelled) return;
    if (!m_headersSeen) onHeaders();
    if (!m_running) return;
    onData();  // what is still buffered
    if (!m_running) return;
    QNetworkReply* reply = m_reply;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const int redirects = reply->property("redirects").toInt();
    m_reply = nullptr;

    if (status >= 300 && status < 400) {
        const QUrl target =
            reply->url().resolved(reply->attribute(QNetworkRequest::RedirectionTargetAttribute).toUrl());
        if (redirects >= kMaxRedirects || !target.isValid())
            return fail(tr("Too many redirects from %1").arg(m_source.url.host()));
        return request(target, redirects + 1);
    }
    if (status == 416) {
        // Nothing after the .part's end: it may be complete already; the checksum decides.
        m_part.close();
        return verify();
    }
    if ((status == 401 || status == 403) && isTokenHost(reply->url())) {
        return fail(sendsToken(reply->url())
                        ? tr("Hugging Face refused the access token (HTTP %1): check that it can read %2 and that "
                             "you accepted the repository's terms on huggingface.co.")
                              .arg(status)
                              .arg(m_source.url.path())
                        : tr("%1 is gated or private (HTTP %2): accept its terms on huggingface.co, then set "
                             "HF_TOKEN or run `huggingface-cli login`, and download again.")
                              .arg(m_source.url.path())
                              .arg(status));
    }
    if (status >= 400) {
        const QString reason = reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString();
        return fail(
            tr("Download failed: HTTP %1 %2 (%3)").arg(status).arg(reason, reply->url().toString(QUrl::RemoveQuery)));
    }
    m_part.flush();
    const bool incomplete = reply->error() != QNetworkReply::NoError || (m_total >= 0 && m_received < m_total);
    if (incomplete) {
        if (m_retriesUsed >= m_maxRetries) {
            m_part.close();
            if (m_received == 0) return fail(tr("Download failed: %1").arg(reply->errorString()));
            return fail(tr("The connection dropped %1 times; %2 of %3 bytes are kept in %4: start again to resume.")
                            .arg(m_retriesUsed + 1)
                            .arg(m_received)
                            .arg(m_total)
                            .arg(partPath()));
        }
        ++m_retriesUsed;
        m_part.close();
        m_offset = QFileInfo(partPath()).size();
        m_received = m_offset;
        emit stageChanged(tr("Connection lost; resuming at %1 bytes").arg(m_offset));
        return request(m_source.url, 0);
    }
    m_part.close();
    verify();
}

void ModelDownload::verify() {
    emit stageChanged(tr("Verifying %1").arg(m_source.fileName));
    const QString part = partPath();
    const QString expected = !m_userSha.isEmpty() ? m_userSha : m_serverSha;
    const qint64 total = m_total;
    QPointer<ModelDownload> self(this);
    // Hashing gigabytes takes seconds: on a pool thread, never the GUI thread.
    QThreadPool::globalInstance()->start([self, part, expected, total] {
        const Verification v = hashFile(part);
        if (!self) return;
        QMetaObject::invokeMethod(
            self.data(),
            [self, v, expected, total] {
                if (!self || !self->m_running) return;
                if (!v.error.isEmpty()) return self->fail(tr("Cannot read %1: %2").arg(self->partPath(), v.error));
                if (total >= 0 && v.size != total) {
                    return self->fail(tr("The file has %1 bytes, the server announced %2.").arg(v.size).arg(total),
                                      true);
                }
                if (!expected.isEmpty() && v.sha256 != expected) {
                    return self->fail(tr("Checksum mismatch for %1: expected SHA-256 %2, got %3. The download was "
                                         "deleted; try again.")
                                          .arg(self->m_source.fileName, expected, v.sha256),
                                      true);
                }
                QFile::remove(self->finalPath());  // start() refused an existing one; a race leaves ours
                if (!QFile::rename(self->partPath(), self->finalPath())) {
                    return self->fail(tr("Cannot rename %1 to %2").arg(self->partPath(), self->finalPath()));
                }
                self->m_verifiedSha = expected;
                self->m_running = false;
                emit self->progress(v.size, v.size);
                emit self->stageChanged(expected.isEmpty() ? tr("Downloaded (no checksum to verify against)")
                                                           : tr("Downloaded and verified"));
                emit self->finished(self->finalPath());
            },
            Qt::QueuedConnection);
    });
}

void ModelDownload::fail(const QString& message, bool deletePart) {
    if (m_reply) {
        QNetworkReply* r = m_reply;
        m_reply = nullptr;
        r->abort();
    }
    m_part.close();
    if (deletePart) QFile::remove(partPath());
    m_running = false;
    emit failed(message);
}

}  // namespace pagoda::bridge
