#include "bridge/hf_token.h"

#include <QDir>
#include <QFile>

namespace pagoda::bridge {
namespace {

constexpr qsizetype kMaxTokenBytes = 512;

QByteArray plausible(QByteArray token) {
    token = token.trimmed();
    if (token.isEmpty() || token.size() > kMaxTokenBytes) return {};
    for (const char c : token) {
        if (c < 0x21 || c > 0x7e) return {};  // a header value: no spaces, controls or non-ASCII
    }
    return token;
}

}  // namespace

QByteArray huggingFaceToken() {
    for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
        const QByteArray token = plausible(qgetenv(name));
        if (!token.isEmpty()) return token;
    }
    QString home = qEnvironmentVariable("HF_HOME");
    if (home.isEmpty()) home = QDir::homePath() + QStringLiteral("/.cache/huggingface");
    QFile file(home + QStringLiteral("/token"));
    if (!file.open(QIODevice::ReadOnly)) return {};
    return plausible(file.read(kMaxTokenBytes + 2));  // a newline may follow the token
}

bool isHuggingFaceHost(const QUrl& url) {
    const QString host = url.host().toLower();
    return url.scheme() == QLatin1String("https") &&
           (host == QLatin1String("huggingface.co") || host == QLatin1String("hf.co"));
}

}  // namespace pagoda::bridge
