// The scrolling list of MessageWidgets for the open session. Streaming updates are
// coalesced: each controller update marks its row dirty and one timer repaints the dirty
// rows at most ~30 times a second, however fast tokens arrive. The view stays scrolled to
// the bottom while a reply streams unless the user scrolled up to read.
#pragma once

#include <QScrollArea>
#include <QSet>
#include <QTimer>
#include <QVector>

class QLabel;
class QVBoxLayout;

namespace pagoda::ui {

class ChatController;
class MessageWidget;

class ConversationView : public QScrollArea {
    Q_OBJECT

public:
    explicit ConversationView(ChatController& controller, QWidget* parent = nullptr);

    void setAssistantName(const QString& name);
    int messageCount() const { return static_cast<int>(m_widgets.size()); }
    MessageWidget* messageWidget(int row) const;
    // Applies pending coalesced updates now (tests, screenshots).
    void flushUpdates();
    // How many coalesced repaints ran (a fast stream must need far fewer than its tokens).
    int repaintCount() const { return m_repaints; }

private:
    void rebuild();
    void markDirty(int row);
    void applyDirty();
    void scrollToBottomSoon();

    ChatController& m_controller;
    QWidget* m_content = nullptr;
    QVBoxLayout* m_layout = nullptr;
    QLabel* m_emptyLabel = nullptr;
    QVector<MessageWidget*> m_widgets;
    QSet<int> m_dirty;
    QTimer m_repaintTimer;
    QString m_assistantName;
    bool m_stickToBottom = true;
    int m_repaints = 0;
};

}  // namespace pagoda::ui
