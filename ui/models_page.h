// The Models page: the library table, adding GGUF files or folders (scanned off the GUI
// thread), removing them, and loading / unloading with progress and a memory estimate.
#pragma once

#include <QHash>
#include <QWidget>

#include "bridge/gguf_summary.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTableView;

namespace pagoda::bridge {
class EngineBridge;
class ModelScanner;
class StoreClient;
}  // namespace pagoda::bridge

namespace pagoda::ui {

class DownloadPanel;
class ModelLibraryModel;

class ModelsPage : public QWidget {
    Q_OBJECT

public:
    ModelsPage(ModelLibraryModel& library, bridge::StoreClient& store, bridge::EngineBridge& bridge,
               bridge::ModelScanner& scanner, QWidget* parent = nullptr);

    QTableView* table() const { return m_table; }
    QPushButton* loadButton() const { return m_load; }
    QPushButton* unloadButton() const { return m_unload; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* statusLabel() const { return m_status; }
    DownloadPanel* downloadPanel() const { return m_downloadPanel; }
    // Ask before removing (on by default; tests turn it off).
    void setConfirmRemovals(bool confirm) { m_confirmRemovals = confirm; }

public slots:
    // Scans and adds files and folders (what the file dialogs do once a path is picked).
    void addPaths(const QStringList& paths);
    void addFilesWithDialog();
    void addFolderWithDialog();
    void loadSelected();
    void removeSelected();
    void selectModel(qint64 id);

signals:
    void modelsAdded(int count);

private:
    qint64 selectedId() const;
    void updateDetails();
    void updateButtons();

    ModelLibraryModel& m_library;
    bridge::StoreClient& m_store;
    bridge::EngineBridge& m_bridge;
    bridge::ModelScanner& m_scanner;
    QTableView* m_table = nullptr;
    QPushButton* m_addFile = nullptr;
    QPushButton* m_addFolder = nullptr;
    QPushButton* m_remove = nullptr;
    QPushButton* m_load = nullptr;
    QPushButton* m_unload = nullptr;
    QLabel* m_details = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_stage = nullptr;
    QProgressBar* m_progress = nullptr;
    DownloadPanel* m_downloadPanel = nullptr;
    QHash<QString, bridge::GgufSummary> m_summaries;  // by path, for the memory estimate
    QStringList m_scanErrors;
    int m_scanAdded = 0;
    bool m_confirmRemovals = true;
};

}  // namespace pagoda::ui
