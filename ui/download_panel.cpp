#include "ui/download_panel.h"

#include <QDir>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardPaths>

#include "bridge/model_download.h"
#include "ui/model_library_model.h"

namespace pagoda::ui {

DownloadPanel::DownloadPanel(QWidget* parent) : QGroupBox(tr("Download a GGUF"), parent) {
    setObjectName(QStringLiteral("downloadPanel"));
    m_folder =
        QDir(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation)).filePath(QStringLiteral("models"));
    auto* grid = new QGridLayout(this);
    m_repo = new QLineEdit(this);
    m_repo->setObjectName(QStringLiteral("downloadRepo"));
    m_repo->setPlaceholderText(tr("Hugging Face repository (owner/name) or a URL"));
    m_file = new QLineEdit(this);
    m_file->setObjectName(QStringLiteral("downloadFile"));
    m_file->setPlaceholderText(tr("file name, e.g. model-Q4_K_M.gguf"));
    m_sha = new QLineEdit(this);
    m_sha->setObjectName(QStringLiteral("downloadSha"));
    m_sha->setPlaceholderText(tr("SHA-256 (optional; Hugging Face provides it)"));
    m_download = new QPushButton(tr("Download"), this);
    m_download->setObjectName(QStringLiteral("downloadStart"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("downloadProgress"));
    m_progress->setVisible(false);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("downloadStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    grid->addWidget(m_repo, 0, 0);
    grid->addWidget(m_file, 0, 1);
    grid->addWidget(m_download, 0, 2);
    grid->addWidget(m_sha, 1, 0, 1, 2);
    grid->addWidget(m_cancel, 1, 2);
    grid->addWidget(m_progress, 2, 0, 1, 3);
    grid->addWidget(m_status, 3, 0, 1, 3);
    connect(m_download, &QPushButton::clicked, this, &DownloadPanel::startDownload);
    connect(m_cancel, &QPushButton::clicked, this, &DownloadPanel::cancelDownload);
}

void DownloadPanel::setRunning(bool running) {
    m_download->setEnabled(!running);
    m_cancel->setEnabled(running);
    m_repo->setEnabled(!running);
    m_file->setEnabled(!running);
    m_sha->setEnabled(!running);
    m_progress->setVisible(running);
}

void DownloadPanel::startDownload() {
    if (m_current && m_current->isRunning()) return;
    auto source = bridge::resolveDownloadSource(m_repo->text(), m_file->text());
    if (!source) {
        m_status->setText(QString::fromStdString(source.status().message()));
        emit downloadFailed(m_status->text());
        return;
    }
    if (m_current) m_current->deleteLater();
    auto* d = new bridge::ModelDownload(source.value(), m_folder, m_sha->text(), this);
    m_current = d;
    connect(d, &bridge::ModelDownload::progress, this, [this](qint64 received, qint64 total) {
        if (total > 0) {
            // Per mille: a QProgressBar holds an int, files hold more bytes than that.
            m_progress->setRange(0, 1000);
            m_progress->setValue(static_cast<int>(received * 1000 / total));
            m_progress->setFormat(
                tr("%1 of %2").arg(ModelLibraryModel::formatBytes(received), ModelLibraryModel::formatBytes(total)));
        } else {
            m_progress->setRange(0, 0);
        }
    });
    connect(d, &bridge::ModelDownload::stageChanged, m_status, &QLabel::setText);
    connect(d, &bridge::ModelDownload::finished, this, [this](const QString& path) {
        setRunning(false);
        m_status->setText(m_current && !m_current->verifiedSha256().isEmpty()
                              ? tr("Downloaded and verified (SHA-256 %1): %2").arg(m_current->verifiedSha256(), path)
                              : tr("Downloaded (no checksum to verify against): %1").arg(path));
        emit downloaded(path);
    });
    connect(d, &bridge::ModelDownload::failed, this, [this](const QString& message) {
        setRunning(false);
        m_status->setText(message);
        emit downloadFailed(message);
    });
    setRunning(true);
    d->start();
}

void DownloadPanel::cancelDownload() {
    if (!m_current || !m_current->isRunning()) return;
    m_current->cancel();
    setRunning(false);
    m_status->setText(tr("Cancelled; start the same download again to resume."));
}

}  // namespace pagoda::ui
