// ModelScanner: reads GGUF files (and folders of them) on a background thread for the model
// library. Results come back as queued signals on the scanner's thread, one per file, so the
// table fills in as a large folder is scanned.
#pragma once

#include <QObject>
#include <QStringList>
#include <QThreadPool>
#include <atomic>

#include "bridge/gguf_summary.h"

Q_DECLARE_METATYPE(pagoda::bridge::GgufSummary)

namespace pagoda::bridge {

class ModelScanner : public QObject {
    Q_OBJECT

public:
    explicit ModelScanner(QObject* parent = nullptr);
    // Stops between files and waits for the running scan.
    ~ModelScanner() override;

    // Files are summarized; folders are searched for *.gguf up to `folderDepth` levels
    // below them. Emits modelScanned / scanFailed per file, then scanFinished.
    void scan(const QStringList& paths, int folderDepth = 2);
    bool isScanning() const { return m_running > 0; }

    // The .gguf files under `folder` (sorted), searched synchronously; for tests and scan().
    static QStringList findGgufFiles(const QString& folder, int depth);

signals:
    void modelScanned(const pagoda::bridge::GgufSummary& summary);
    void scanFailed(const QString& path, const QString& message);
    void scanFinished(int found, int failed);

private:
    QThreadPool m_pool;
    int m_running = 0;  // GUI thread
    std::atomic<bool> m_stopping{false};
};

}  // namespace pagoda::bridge
