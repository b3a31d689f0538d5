// The Adapters page: the LoRA adapters in the library with their base model (add files or
// PEFT folders, inspected off the GUI thread; remove; change the base model), and the open
// chat's attachments: tick adapters, set each one's scale with a slider, apply. Applying saves
// the attachments in the session and has the engine load them through
// EngineBridge::setSessionAdapters; the page shows the answer (applied) when it comes back.
// Every reply of the chat then runs with them.
#pragma once

#include <QWidget>
#include <vector>

#include "store/store_types.h"

class QComboBox;
class QLabel;
class QListWidget;
class QListWidgetItem;
class QPushButton;
class QSlider;
class QTableWidget;

namespace pagoda::bridge {
class EngineBridge;
class StoreClient;
}  // namespace pagoda::bridge

namespace pagoda::ui {

class ChatController;
class ModelLibraryModel;

class AdaptersPage : public QWidget {
    Q_OBJECT

public:
    enum Column { NameCol, BaseModelCol, ArchitectureCol, PathCol, ColumnCount };
    static constexpr int IdRole = Qt::UserRole + 1;
    static constexpr int ScaleRole = Qt::UserRole + 2;

    AdaptersPage(bridge::StoreClient& store, bridge::EngineBridge& bridge, ChatController& controller,
                 ModelLibraryModel& library, QWidget* parent = nullptr);

    QTableWidget* table() const { return m_table; }
    QPushButton* addButton() const { return m_add; }
    QPushButton* removeButton() const { return m_remove; }
    QComboBox* baseModelBox() const { return m_baseModel; }
    QListWidget* attachList() const { return m_attachList; }
    QSlider* scaleSlider() const { return m_scale; }
    QLabel* scaleLabel() const { return m_scaleLabel; }
    QPushButton* applyButton() const { return m_apply; }
    QLabel* statusLabel() const { return m_status; }
    const std::vector<store::Adapter>& adapters() const { return m_adapters; }
    int reloadCount() const { return m_reloads; }

public slots:
    // Inspects and adds adapter files / PEFT folders (what the file dialog does).
    void addPaths(const QStringList& paths);
    void addWithDialog();
    void removeSelected();
    void reload();
    // Saves the ticked adapters and scales on the open chat and asks the engine for them.
    void applyToChat();

signals:
    void reloaded();
    void adaptersAdded(int added, int failed);
    // After applyToChat: the engine's answer (ok false: the message says why).
    void applied(bool ok, const QString& message);

private:
    void fill();
    void fillAttachments();
    void updateControls();
    void onBaseModelPicked(int index);
    void onAdaptersChecked(qint64 sessionId, bool checked, const QString& error);
    qint64 selectedAdapterId() const;
    QString baseModelName(const store::Adapter& a) const;

    bridge::StoreClient& m_store;
    bridge::EngineBridge& m_bridge;
    ChatController& m_controller;
    ModelLibraryModel& m_library;
    std::vector<store::Adapter> m_adapters;
    QTableWidget* m_table = nullptr;
    QPushButton* m_add = nullptr;
    QPushButton* m_remove = nullptr;
    QComboBox* m_baseModel = nullptr;
    QLabel* m_chatLabel = nullptr;
    QListWidget* m_attachList = nullptr;
    QSlider* m_scale = nullptr;
    QLabel* m_scaleLabel = nullptr;
    QPushButton* m_apply = nullptr;
    QLabel* m_status = nullptr;
    int m_reloads = 0;
    int m_pendingChecks = 0;  // applies the engine has not answered yet
    int m_appliedCount = 0;   // adapters in the latest apply
    bool m_filling = false;
};

}  // namespace pagoda::ui
