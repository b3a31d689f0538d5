#include "ui/session_list_panel.h"

#include <QDateTime>
#include <QLocale>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QTimer>
#include <QVBoxLayout>

#include "bridge/store_client.h"
#include "ui/chat_controller.h"

namespace pagoda::ui {

namespace {
constexpr int kIdRole = Qt::UserRole + 1;
}  // namespace

SessionListPanel::SessionListPanel(ChatController& controller, bridge::StoreClient& store, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_store(store) {
    setObjectName(QStringLiteral("sessionListPanel"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 4, 8);
    m_new = new QPushButton(tr("New chat"), this);
    m_new->setObjectName(QStringLiteral("newChatButton"));
    m_new->setToolTip(tr("Start a new chat (Ctrl+N)"));
    layout->addWidget(m_new);
    m_search = new QLineEdit(this);
    m_search->setObjectName(QStringLiteral("sessionSearch"));
    m_search->setPlaceholderText(tr("Search chats"));
    m_search->setClearButtonEnabled(true);
    layout->addWidget(m_search);
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("sessionList"));
    m_list->setEditTriggers(QAbstractItemView::EditKeyPressed);
    m_list->setUniformItemSizes(true);
    layout->addWidget(m_list, 1);
    auto* row = new QHBoxLayout;
    m_rename = new QPushButton(tr("Rename"), this);
    m_delete = new QPushButton(tr("Delete"), this);
    row->addWidget(m_rename);
    row->addWidget(m_delete);
    layout->addLayout(row);

    m_searchDelay = new QTimer(this);
    m_searchDelay->setSingleShot(true);
    m_searchDelay->setInterval(200);
    connect(m_search, &QLineEdit::textChanged, m_searchDelay, qOverload<>(&QTimer::start));
    connect(m_searchDelay, &QTimer::timeout, this, &SessionListPanel::reload);
    connect(m_new, &QPushButton::clicked, &m_controller, &ChatController::newSession);
    connect(m_rename, &QPushButton::clicked, this, &SessionListPanel::renameCurrent);
    connect(m_delete, &QPushButton::clicked, this, &SessionListPanel::deleteCurrent);
    connect(m_list, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
        if (m_filling || !item) return;
        const qint64 id = item->data(kIdRole).toLongLong();
        if (id != m_controller.sessionId()) m_controller.openSession(id);
    });
    connect(m_list, &QListWidget::itemChanged, this, &SessionListPanel::onItemChanged);
    connect(&m_controller, &ChatController::sessionsChanged, this, &SessionListPanel::reload);
    connect(&m_controller, &ChatController::sessionChanged, this, [this](qint64 id) {
        // Keep the title in the list in step with the header (renames, first message).
        for (int i = 0; i < m_list->count(); ++i) {
            QListWidgetItem* item = m_list->item(i);
            if (item->data(kIdRole).toLongLong() == id) {
                m_filling = true;
                item->setText(QString::fromStdString(m_controller.session().title));
                m_filling = false;
            }
        }
        selectCurrentSession();
    });
    connect(&m_controller, &ChatController::sessionClosed, this, &SessionListPanel::selectCurrentSession);
    reload();
}

qint64 SessionListPanel::sessionIdAt(int row) const {
    QListWidgetItem* item = m_list->item(row);
    return item ? item->data(kIdRole).toLongLong() : 0;
}

void SessionListPanel::reload() {
    const std::string query = m_search->text().trimmed().toStdString();
    const quint64 generation = ++m_reloadGeneration;
    m_store.run(
        this,
        [query](store::StoreOps& ops) { return query.empty() ? ops.list_sessions() : ops.search_sessions(query); },
        [this, generation](Result<std::vector<store::Session>> sessions) {
            ++m_reloads;
            // An older answer overtaken by a newer query is dropped.
            if (generation != m_reloadGeneration) return;
            if (!sessions) return;
            m_filling = true;
            m_list->clear();
            for (const store::Session& s : sessions.value()) {
                auto* item = new QListWidgetItem(QString::fromStdString(s.title), m_list);
                item->setData(kIdRole, QVariant::fromValue<qint64>(s.id));
                item->setFlags(item->flags() | Qt::ItemIsEditable);
                item->setToolTip(tr("Last changed %1")
                                     .arg(QLocale().toString(QDateTime::fromMSecsSinceEpoch(s.updated_at),
                                                             QLocale::ShortFormat)));
            }
            m_filling = false;
            selectCurrentSession();
            emit reloaded();
        });
}

void SessionListPanel::selectCurrentSession() {
    m_filling = true;
    m_list->setCurrentItem(nullptr);
    for (int i = 0; i < m_list->count(); ++i) {
        if (m_list->item(i)->data(kIdRole).toLongLong() == m_controller.sessionId()) {
            m_list->setCurrentRow(i);
            break;
        }
    }
    m_filling = false;
    const bool any = m_list->currentItem() != nullptr;
    m_rename->setEnabled(any);
    m_delete->setEnabled(any);
}

void SessionListPanel::renameCurrent() {
    if (QListWidgetItem* item = m_list->currentItem()) m_list->editItem(item);
}

void SessionListPanel::onItemChanged(QListWidgetItem* item) {
    if (m_filling || !item) return;
    const qint64 id = item->data(kIdRole).toLongLong();
    const QString title = item->text().simplified();
    if (title.isEmpty()) {
        reload();  // an empty name is not kept
        return;
    }
    m_controller.renameSession(id, title);
}

void SessionListPanel::deleteCurrent() {
    QListWidgetItem* item = m_list->currentItem();
    if (!item) return;
    const qint64 id = item->data(kIdRole).toLongLong();
    if (m_confirmDeletes) {
        const auto answer = QMessageBox::question(
            this, tr("Delete chat"), tr("Delete \"%1\" and all its messages? This cannot be undone.").arg(item->text()),
            QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes) return;
    }
    m_controller.deleteSession(id);
}

}  // namespace pagoda::ui
