#include "ui/conversation_view.h"

#include <QElapsedTimer>
#include <QLabel>
#include <algorithm>
#include <QScrollBar>
#include <QVBoxLayout>

#include "ui/chat_controller.h"
#include "ui/message_widget.h"

namespace pagoda::ui {

namespace {
constexpr int kRepaintIntervalMs = 33;
constexpr int kMaxRepaintIntervalMs = 250;
constexpr int kBottomSlack = 8;  // pixels: "at the bottom" despite rounding
}  // namespace

ConversationView::ConversationView(ChatController& controller, QWidget* parent)
    : QScrollArea(parent), m_controller(controller) {
    setObjectName(QStringLiteral("conversationView"));
    setWidgetResizable(true);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_content = new QWidget(this);
    m_layout = new QVBoxLayout(m_content);
    m_layout->setContentsMargins(16, 12, 16, 12);
    m_layout->setSpacing(10);
    m_emptyLabel = new QLabel(m_content);
    m_emptyLabel->setObjectName(QStringLiteral("emptyConversation"));
    m_emptyLabel->setAlignment(Qt::AlignCenter);
    m_emptyLabel->setWordWrap(true);
    m_emptyLabel->setTextFormat(Qt::RichText);
    m_emptyLabel->setText(tr("<h2>Start a conversation</h2>"
                             "<p>Type a message below and press Enter.<br>"
                             "Replies stream in as the model writes them; Esc stops.</p>"));
    m_layout->addStretch(1);
    m_layout->addWidget(m_emptyLabel);
    m_layout->addStretch(1);
    setWidget(m_content);

    m_repaintTimer.setSingleShot(true);
    m_repaintTimer.setInterval(kRepaintIntervalMs);
    connect(&m_repaintTimer, &QTimer::timeout, this, &ConversationView::applyDirty);

    QScrollBar* bar = verticalScrollBar();
    connect(bar, &QScrollBar::rangeChanged, this, [this, bar](int, int max) {
        if (m_stickToBottom) bar->setValue(max);
    });
    connect(bar, &QScrollBar::valueChanged, this,
            [this, bar](int value) { m_stickToBottom = value >= bar->maximum() - kBottomSlack; });

    connect(&m_controller, &ChatController::messagesReset, this, &ConversationView::rebuild);
    connect(&m_controller, &ChatController::messageUpdated, this, &ConversationView::markDirty);
    rebuild();
}

void ConversationView::setAssistantName(const QString& name) {
    if (name == m_assistantName) return;
    m_assistantName = name;
    for (int i = 0; i < m_widgets.size(); ++i) markDirty(i);
}

MessageWidget* ConversationView::messageWidget(int row) const {
    return row >= 0 && row < m_widgets.size() ? m_widgets[row] : nullptr;
}

void ConversationView::rebuild() {
    const auto& items = m_controller.messages();
    // Reuse widgets row by row: switching branches or sessions then only re-renders text.
    while (m_widgets.size() > items.size()) {
        MessageWidget* w = m_widgets.takeLast();
        m_layout->removeWidget(w);
        w->deleteLater();
    }
    while (m_widgets.size() < items.size()) {
        auto* w = new MessageWidget(m_content);
        connect(w, &MessageWidget::editSubmitted, &m_controller, &ChatController::editMessage);
        connect(w, &MessageWidget::branchRequested, &m_controller, &ChatController::switchBranch);
        // Before the trailing stretch.
        m_layout->insertWidget(m_layout->count() - 1, w);
        m_widgets.push_back(w);
    }
    for (int i = 0; i < items.size(); ++i) m_widgets[i]->setItem(items[i], m_assistantName);
    m_dirty.clear();
    m_emptyLabel->setVisible(items.isEmpty());
    // The first stretch centres the empty-state text; with messages they start at the top.
    m_layout->setStretch(0, items.isEmpty() ? 1 : 0);
    m_stickToBottom = true;
    scrollToBottomSoon();
}

void ConversationView::markDirty(int row) {
    m_dirty.insert(row);
    if (!m_repaintTimer.isActive()) m_repaintTimer.start();
}

void ConversationView::flushUpdates() {
    m_repaintTimer.stop();
    applyDirty();
}

void ConversationView::applyDirty() {
    if (m_dirty.isEmpty()) return;
    ++m_repaints;
    QElapsedTimer cost;
    cost.start();
    const auto& items = m_controller.messages();
    for (int row : std::as_const(m_dirty)) {
        if (row >= 0 && row < items.size() && row < m_widgets.size()) m_widgets[row]->setItem(items[row], m_assistantName);
    }
    m_dirty.clear();
    if (m_stickToBottom) scrollToBottomSoon();
    // Adaptive: if an update got expensive, update less often, so repainting never takes
    // more than about a fifth of the GUI thread's time.
    const int spent = static_cast<int>(cost.elapsed());
    if (qEnvironmentVariableIsSet("PAGODA_UI_TRACE_GAPS")) qInfo("applyDirty %lld us, text %d", (long long)cost.nsecsElapsed()/1000, (int)items.back().content.size());
    m_repaintTimer.setInterval(std::clamp(spent * 4, kRepaintIntervalMs, kMaxRepaintIntervalMs));
}

void ConversationView::scrollToBottomSoon() {
    // After the layout has taken the new heights into account.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (m_stickToBottom) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
        },
        Qt::QueuedConnection);
}

}  // namespace pagoda::ui
