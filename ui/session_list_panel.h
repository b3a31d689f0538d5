// The left column of the chat page: search box, the chat sessions (most recent first) and
// New / Rename / Delete. Renaming edits the title in place; the list reloads from the
// Store asynchronously whenever the controller reports a change.
#pragma once

#include <QWidget>

class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QPushButton;
class QTimer;

namespace pagoda::bridge {
class StoreClient;
}

namespace pagoda::ui {

class ChatController;

class SessionListPanel : public QWidget {
    Q_OBJECT

public:
    SessionListPanel(ChatController& controller, bridge::StoreClient& store, QWidget* parent = nullptr);

    QListWidget* list() const { return m_list; }
    QLineEdit* searchBox() const { return m_search; }
    QPushButton* newButton() const { return m_new; }
    QPushButton* renameButton() const { return m_rename; }
    QPushButton* deleteButton() const { return m_delete; }
    // Ask before deleting (on by default; tests turn it off).
    void setConfirmDeletes(bool confirm) { m_confirmDeletes = confirm; }
    // The number of reloads answered so far (tests wait on it).
    int reloadCount() const { return m_reloads; }
    qint64 sessionIdAt(int row) const;

public slots:
    void reload();
    void renameCurrent();
    void deleteCurrent();

signals:
    void reloaded();

private:
    void selectCurrentSession();
    void onItemChanged(QListWidgetItem* item);

    ChatController& m_controller;
    bridge::StoreClient& m_store;
    QLineEdit* m_search = nullptr;
    QListWidget* m_list = nullptr;
    QPushButton* m_new = nullptr;
    QPushButton* m_rename = nullptr;
    QPushButton* m_delete = nullptr;
    QTimer* m_searchDelay = nullptr;
    bool m_filling = false;
    bool m_confirmDeletes = true;
    int m_reloads = 0;
    quint64 m_reloadGeneration = 0;
};

}  // namespace pagoda::ui
