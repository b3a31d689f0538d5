#include "ui/models_page.h"

#include <QApplication>
#include <QCheckBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPointer>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableView>
#include <QThreadPool>
#include <QVBoxLayout>
#include <algorithm>

#include "bridge/engine_bridge.h"
#include "bridge/model_scanner.h"
#include "bridge/store_client.h"
#include "ui/download_panel.h"
#include "ui/model_library_model.h"

namespace pagoda::ui {

ModelsPage::ModelsPage(ModelLibraryModel& library, bridge::StoreClient& store, bridge::EngineBridge& bridge,
                       bridge::ModelScanner& scanner, QWidget* parent)
    : QWidget(parent), m_library(library), m_store(store), m_bridge(bridge), m_scanner(scanner) {
    setObjectName(QStringLiteral("modelsPage"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(16, 12, 16, 12);

    auto* intro = new QLabel(tr("<b>Model library</b> &nbsp; GGUF files on this computer. Adding a file only "
                                "records where it is; nothing is copied."),
                             this);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto* buttons = new QHBoxLayout;
    m_addFile = new QPushButton(tr("Add GGUF file\u2026"), this);
    m_addFile->setToolTip(tr("Add one or more .gguf files (Ctrl+O)"));
    m_addFolder = new QPushButton(tr("Add folder\u2026"), this);
    m_addFolder->setToolTip(tr("Add every .gguf file in a folder and its subfolders"));
    m_remove = new QPushButton(tr("Remove"), this);
    m_load = new QPushButton(tr("Load"), this);
    m_load->setObjectName(QStringLiteral("loadModelButton"));
    m_unload = new QPushButton(tr("Unload"), this);
    buttons->addWidget(m_addFile);
    buttons->addWidget(m_addFolder);
    buttons->addWidget(m_remove);
    buttons->addStretch(1);
    buttons->addWidget(m_load);
    buttons->addWidget(m_unload);
    layout->addLayout(buttons);

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("modelTable"));
    m_table->setModel(&m_library);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(ModelLibraryModel::Name, QHeaderView::Stretch);
    m_table->setShowGrid(false);
    layout->addWidget(m_table, 1);

    m_details = new QLabel(this);
    m_details->setObjectName(QStringLiteral("modelDetails"));
    m_details->setWordWrap(true);
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_details);

    auto* progressRow = new QHBoxLayout;
    m_stage = new QLabel(this);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("loadProgress"));
    m_progress->setVisible(false);
    m_progress->setMaximumWidth(320);
    progressRow->addWidget(m_stage);
    progressRow->addWidget(m_progress);
    progressRow->addStretch(1);
    layout->addLayout(progressRow);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("modelsStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);

    m_downloadPanel = new DownloadPanel(this);
    layout->addWidget(m_downloadPanel);
    // A verified download joins the library like an added file.
    connect(m_downloadPanel, &DownloadPanel::downloaded, this, [this](const QString& path) { addPaths({path}); });

    connect(m_addFile, &QPushButton::clicked, this, &ModelsPage::addFilesWithDialog);
    connect(m_addFolder, &QPushButton::clicked, this, &ModelsPage::addFolderWithDialog);
    connect(m_remove, &QPushButton::clicked, this, &ModelsPage::removeSelected);
    connect(m_load, &QPushButton::clicked, this, &ModelsPage::loadSelected);
    connect(m_unload, &QPushButton::clicked, &m_bridge, &bridge::EngineBridge::unloadModel);
    connect(m_table, &QTableView::doubleClicked, this, &ModelsPage::loadSelected);
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateDetails();
        updateButtons();
    });
    connect(&m_library, &QAbstractItemModel::modelReset, this, [this] {
        updateDetails();
        updateButtons();
    });

    connect(&m_scanner, &bridge::ModelScanner::modelScanned, this, [this](const bridge::GgufSummary& s) {
        const QString path = QString::fromStdString(s.model.path);
        m_summaries.insert(path, s);
        if (!s.runnable) {
            m_scanErrors << tr("%1: Pagoda cannot run this file (%2)")
                                .arg(QFileInfo(path).fileName(), QString::fromStdString(s.problem));
            return;
        }
        ++m_scanAdded;
        const store::NewModel model = s.model;
        m_store.run(this, [model](store::StoreOps& ops) { return ops.add_model(model); },
                    [this](Result<int64_t> id) {
                        if (!id) {
                            m_scanErrors << QString::fromStdString(id.status().message());
                            return;
                        }
                        const qint64 added = id.value();
                        m_library.reload();
                        // Select the new row once the table has it.
                        auto* once = new QObject(this);
                        connect(&m_library, &ModelLibraryModel::reloaded, once, [this, added, once] {
                            selectModel(added);
                            once->deleteLater();
                        });
                    });
    });
    connect(&m_scanner, &bridge::ModelScanner::scanFailed, this, [this](const QString& path, const QString& message) {
        m_scanErrors << QStringLiteral("%1: %2").arg(QFileInfo(path).fileName(), message);
    });
    connect(&m_scanner, &bridge::ModelScanner::scanFinished, this, [this](int, int) {
        QString text = m_scanAdded > 0 ? tr("Added %n model(s).", nullptr, m_scanAdded) : QString();
        if (!m_scanErrors.isEmpty()) {
            if (!text.isEmpty()) text += QLatin1Char(' ');
            text += tr("Not added: %1").arg(m_scanErrors.join(QStringLiteral("; ")));
        }
        m_status->setText(text.isEmpty() ? tr("Nothing to add.") : text);
        emit modelsAdded(m_scanAdded);
        updateButtons();
    });

    connect(&m_bridge, &bridge::EngineBridge::loadStarted, this, [this](qint64, const QString& path) {
        m_status->setText(tr("Loading %1\u2026").arg(QFileInfo(path).fileName()));
        m_progress->setVisible(true);
        m_progress->setRange(0, 100);
        m_progress->setValue(0);
        updateButtons();
    });
    connect(&m_bridge, &bridge::EngineBridge::loadProgress, this, [this](const QString& stage, int percent) {
        m_stage->setText(stage);
        if (percent < 0) {
            m_progress->setRange(0, 0);  // busy: this step reports no progress
        } else {
            m_progress->setRange(0, 100);
            m_progress->setValue(percent);
        }
    });
    connect(&m_bridge, &bridge::EngineBridge::modelLoaded, this, [this](const bridge::LoadedModelInfo& info) {
        m_progress->setVisible(false);
        m_stage->clear();
        m_status->setText(tr("Loaded %1 on %2 in %3 s. KV cache %4, context %5 tokens.")
                              .arg(info.name, info.device)
                              .arg(info.loadSeconds, 0, 'f', 2)
                              .arg(ModelLibraryModel::formatBytes(info.kvCacheBytes))
                              .arg(info.contextLength));
        updateButtons();
    });
    connect(&m_bridge, &bridge::EngineBridge::loadFailed, this, [this](const QString& path, const QString& message) {
        m_progress->setVisible(false);
        m_stage->clear();
        m_status->setText(tr("Could not load %1: %2").arg(QFileInfo(path).fileName(), message));
        updateButtons();
    });
    connect(&m_bridge, &bridge::EngineBridge::modelUnloaded, this, [this] {
        m_status->setText(tr("Model unloaded."));
        updateButtons();
    });
    updateButtons();
}

void ModelsPage::addPaths(const QStringList& paths) {
    if (paths.isEmpty()) return;
    m_scanErrors.clear();
    m_scanAdded = 0;
    m_status->setText(tr("Reading %n file(s)\u2026", nullptr, static_cast<int>(paths.size())));
    m_scanner.scan(paths);
}

void ModelsPage::addFilesWithDialog() {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::DownloadLocation);
    addPaths(QFileDialog::getOpenFileNames(this, tr("Add GGUF models"), dir,
                                           tr("GGUF models (*.gguf *.GGUF);;All files (*)")));
}

void ModelsPage::addFolderWithDialog() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a folder of GGUF models"));
    if (!dir.isEmpty()) addPaths({dir});
}

qint64 ModelsPage::selectedId() const {
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty()) return 0;
    return rows.first().data(ModelLibraryModel::IdRole).toLongLong();
}

void ModelsPage::selectModel(qint64 id) {
    const int row = m_library.rowOfId(id);
    if (row >= 0) m_table->selectRow(row);
}

void ModelsPage::loadSelected() {
    const int row = m_library.rowOfId(selectedId());
    const store::Model* m = m_library.modelAt(row);
    if (!m || m_bridge.isLoading()) return;
    const qint64 id = m->id;
    m_bridge.loadModel(id, QString::fromStdString(m->path));
    m_store.run([id](store::StoreOps& ops) { return ops.mark_model_used(id); });
}

void ModelsPage::removeSelected() {
    const int row = m_library.rowOfId(selectedId());
    const store::Model* m = m_library.modelAt(row);
    if (!m) return;
    const qint64 id = m->id;
    const QString path = QString::fromStdString(m->path);
    bool deleteFile = false;
    if (m_confirmRemovals) {
        QMessageBox box(QMessageBox::Question, tr("Remove model"),
                        tr("Remove \"%1\" from the library?").arg(QString::fromStdString(m->display_name)),
                        QMessageBox::Ok | QMessageBox::Cancel, this);
        box.button(QMessageBox::Ok)->setText(tr("Remove"));
        auto* alsoDelete = new QCheckBox(tr("Also delete the file from disk (%1)").arg(path), &box);
        box.setCheckBox(alsoDelete);
        if (box.exec() != QMessageBox::Ok) return;
        deleteFile = alsoDelete->isChecked();
    }
    if (m_bridge.isLoaded() && m_bridge.loadedModel().modelId == id) m_bridge.unloadModel();
    m_store.run(this, [id](store::StoreOps& ops) { return ops.remove_model(id); },
                [this, path, deleteFile](Status s) {
                    if (!s.is_ok()) {
                        m_status->setText(QString::fromStdString(s.message()));
                        return;
                    }
                    QString text = tr("Removed %1 from the library.").arg(QFileInfo(path).fileName());
                    if (deleteFile) {
                        text += QLatin1Char(' ') + (QFile::remove(path) ? tr("The file was deleted.")
                                                                        : tr("The file could not be deleted."));
                    }
                    m_status->setText(text);
                    m_library.reload();
                });
}

void ModelsPage::updateDetails() {
    const store::Model* m = m_library.modelAt(m_library.rowOfId(selectedId()));
    if (!m) {
        m_details->setText(m_library.rowCount() == 0
                               ? tr("The library is empty. Add a GGUF file to get started; small models such as "
                                    "a 1B-parameter Q4_K_M file run well on a CPU.")
                               : tr("Select a model to see where it is and how much memory it needs."));
        return;
    }
    const QString path = QString::fromStdString(m->path);
    QString text = tr("<b>%1</b><br>%2").arg(QString::fromStdString(m->display_name).toHtmlEscaped(),
                                               path.toHtmlEscaped());
    const int row = m_library.rowOfId(m->id);
    QStringList others;
    for (int r : m_library.variantRows(row)) {
        const store::Model* v = m_library.modelAt(r);
        if (r == row || !v) continue;
        others << tr("%1 (%2)").arg(QString::fromStdString(v->quantization).toHtmlEscaped(),
                                    ModelLibraryModel::formatBytes(v->file_size));
    }
    if (!others.isEmpty()) {
        text += QLatin1String("<br>") + tr("Other quantizations of this model: %1. Select one and Load to switch.")
                                            .arg(others.join(QStringLiteral(", ")));
    }
    auto it = m_summaries.constFind(path);
    if (it != m_summaries.constEnd() && it->kvBytesPerToken > 0) {
        const int64_t ctx = std::min<int64_t>(it->model.context_length, m_bridge.maxContextLength());
        text += QLatin1String("<br>") +
                tr("Needs about %1 of memory: %2 of weights and %3 of KV cache for a %4-token context.")
                    .arg(ModelLibraryModel::formatBytes(bridge::estimateMemoryBytes(*it, ctx)),
                         ModelLibraryModel::formatBytes(it->tensorBytes),
                         ModelLibraryModel::formatBytes(bridge::desktopKvCacheBytes(it->kvBytesPerToken, ctx)))
                    .arg(ctx);
    } else if (it == m_summaries.constEnd()) {
        // Read once in the background (metadata only); the estimate appears when it is in.
        m_summaries.insert(path, bridge::GgufSummary{});
        QPointer<ModelsPage> guard(this);
        QThreadPool::globalInstance()->start([guard, path] {
            auto s = std::make_shared<Result<bridge::GgufSummary>>(bridge::summarizeGguf(path.toStdString()));
            QMetaObject::invokeMethod(
                qApp,
                [guard, path, s] {
                    if (!guard || !*s) return;
                    guard->m_summaries.insert(path, s->value());
                    guard->updateDetails();
                },
                Qt::QueuedConnection);
        });
    }
    m_details->setText(text);
}

void ModelsPage::updateButtons() {
    const bool selected = selectedId() != 0;
    m_load->setEnabled(selected && !m_bridge.isLoading());
    m_unload->setEnabled(m_bridge.isLoaded() && !m_bridge.isLoading());
    m_remove->setEnabled(selected && !m_bridge.isLoading());
    m_addFile->setEnabled(!m_scanner.isScanning());
    m_addFolder->setEnabled(!m_scanner.isScanning());
}

}  // namespace pagoda::ui
