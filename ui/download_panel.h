// The Models page's download box: a Hugging Face repository and file name (or a URL), an
// optional SHA-256, a progress bar, cancel, and resume (starting the same download again
// continues the .part). A verified file is announced with downloaded(path) for the library.
#pragma once

#include <QGroupBox>
#include <QPointer>

#include "bridge/model_download.h"

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace pagoda::ui {

class DownloadPanel : public QGroupBox {
    Q_OBJECT

public:
    explicit DownloadPanel(QWidget* parent = nullptr);

    // Where downloads go (default: <app data>/models).
    void setFolder(const QString& folder) { m_folder = folder; }
    QString folder() const { return m_folder; }

    QLineEdit* repoEdit() const { return m_repo; }
    QLineEdit* fileEdit() const { return m_file; }
    QLineEdit* shaEdit() const { return m_sha; }
    QPushButton* downloadButton() const { return m_download; }
    QPushButton* cancelButton() const { return m_cancel; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* statusLabel() const { return m_status; }
    bridge::ModelDownload* current() const { return m_current; }

public slots:
    void startDownload();
    void cancelDownload();

signals:
    void downloaded(const QString& path);
    void downloadFailed(const QString& message);

private:
    void setRunning(bool running);

    QString m_folder;
    QLineEdit* m_repo = nullptr;
    QLineEdit* m_file = nullptr;
    QLineEdit* m_sha = nullptr;
    QPushButton* m_download = nullptr;
    QPushButton* m_cancel = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QPointer<bridge::ModelDownload> m_current;
};

}  // namespace pagoda::ui
