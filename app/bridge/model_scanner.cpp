#include "bridge/model_scanner.h"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <filesystem>
#include <system_error>

namespace pagoda::bridge {

ModelScanner::ModelScanner(QObject* parent) : QObject(parent) {
    qRegisterMetaType<GgufSummary>();
    // One scan at a time: scanning is disk-bound, and files then report in order.
    m_pool.setMaxThreadCount(1);
}

ModelScanner::~ModelScanner() {
    m_stopping = true;
    m_pool.waitForDone();
}

QStringList ModelScanner::findGgufFiles(const QString& folder, int depth) {
    namespace fs = std::filesystem;
    QStringList out;
    std::error_code ec;
    fs::recursive_directory_iterator it(folder.toStdString(), fs::directory_options::skip_permission_denied, ec);
    // Bounded: a home folder picked by mistake must not keep the scan busy for minutes.
    constexpr int kMaxEntries = 200000;
    int seen = 0;
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (++seen > kMaxEntries) break;
        if (it.depth() >= depth) it.disable_recursion_pending();
        const fs::path& p = it->path();
        std::string ext = p.extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        std::error_code fileEc;
        if (ext == ".gguf" && it->is_regular_file(fileEc)) out << QString::fromStdString(p.string());
    }
    out.sort();
    return out;
}

void ModelScanner::scan(const QStringList& paths, int folderDepth) {
    ++m_running;
    m_pool.start([this, paths, folderDepth] {
        int found = 0, failed = 0;
        auto fail = [&](const QString& path, const QString& message) {
            ++failed;
            QMetaObject::invokeMethod(this, [this, path, message] { emit scanFailed(path, message); },
                                      Qt::QueuedConnection);
        };
        for (const QString& path : paths) {
            QFileInfo info(path);
            QStringList files;
            if (info.isDir()) {
                files = findGgufFiles(path, folderDepth);
                if (files.isEmpty()) fail(path, tr("no .gguf files in this folder"));
            } else if (!info.exists()) {
                fail(path, tr("the file does not exist"));
            } else {
                files << path;
            }
            for (const QString& file : files) {
                if (m_stopping) break;
                auto summary = summarizeGguf(QFileInfo(file).absoluteFilePath().toStdString());
                if (!summary) {
                    fail(file, QString::fromStdString(summary.status().message()));
                    continue;
                }
                ++found;
                QMetaObject::invokeMethod(
                    this, [this, s = std::move(summary.value())] { emit modelScanned(s); }, Qt::QueuedConnection);
            }
        }
        QMetaObject::invokeMethod(
            this,
            [this, found, failed] {
                --m_running;
                emit scanFinished(found, failed);
            },
            Qt::QueuedConnection);
    });
}

}  // namespace pagoda::bridge
