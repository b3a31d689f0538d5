#include "ui/conversation_view.h"

#include <QApplication>
#include <QClipboard>
#include <QDesktopServices>
#include <QElapsedTimer>
#include <QEvent>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextDocumentFragment>
#include <QTextFrame>
#include <algorithm>

#include "ui/chat_controller.h"
#include "ui/markdown_blocks.h"

namespace pagoda::ui {

namespace {

constexpr int kRepaintIntervalMs = 33;
constexpr int kMaxRepaintIntervalMs = 250;
constexpr int kBottomSlack = 8;  // pixels: "at the bottom" despite rounding
// While a reply streams, a last block longer than this (a huge code block) is shown as plain
// text until the reply ends, so no single update gets expensive.
constexpr int kMarkdownWhileStreamingLimit = 4000;

// What each block of a message box is (a block property), so text can be read back without
// the chrome around it.
constexpr int kBlockRole = QTextFormat::UserProperty + 1;
enum BlockRole { kHeader = 1, kFooter = 2, kCodeLink = 3, kSeparator = 4 };

const QChar kZeroWidthSpace(0x200B);

QColor blend(const QColor& a, const QColor& b, double t) {
    return QColor::fromRgbF(a.redF() * (1 - t) + b.redF() * t, a.greenF() * (1 - t) + b.greenF() * t,
                            a.blueF() * (1 - t) + b.blueF() * t);
}

QTextBlockFormat roleFormat(BlockRole role) {
    QTextBlockFormat f;
    f.setProperty(kBlockRole, static_cast<int>(role));
    return f;
}

}  // namespace

ConversationView::ConversationView(ChatController& controller, QWidget* parent)
    : QTextBrowser(parent), m_controller(controller) {
    setObjectName(QStringLiteral("conversationView"));
    setOpenLinks(false);
    setOpenExternalLinks(false);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    document()->setDocumentMargin(14);
    // The document lays out only what changed; undo history would keep every streamed version.
    document()->setUndoRedoEnabled(false);

    m_repaintTimer.setSingleShot(true);
    m_repaintTimer.setInterval(kRepaintIntervalMs);
    connect(&m_repaintTimer, &QTimer::timeout, this, &ConversationView::applyDirty);

    QScrollBar* bar = verticalScrollBar();
    connect(bar, &QScrollBar::rangeChanged, this, [this, bar](int, int max) {
        if (m_stickToBottom) bar->setValue(max);
    });
    connect(bar, &QScrollBar::valueChanged, this,
            [this, bar](int value) { m_stickToBottom = value >= bar->maximum() - kBottomSlack; });
    connect(this, &QTextBrowser::anchorClicked, this, &ConversationView::onAnchor);
    connect(&m_controller, &ChatController::messagesReset, this, &ConversationView::rebuild);
    connect(&m_controller, &ChatController::messageUpdated, this, &ConversationView::markDirty);
    rebuild();
}

QString ConversationView::linkFor(const QString& action, qint64 messageId) {
    return QStringLiteral("pagoda:%1/%2").arg(action).arg(messageId);
}

void ConversationView::setAssistantName(const QString& name) {
    if (name == m_assistantName) return;
    m_assistantName = name;
    for (int i = 0; i < m_frames.size(); ++i) markDirty(i);
}

void ConversationView::updateColours() {
    const QPalette pal = palette();
    const QColor base = pal.color(QPalette::Base);
    m_userBg = blend(base, pal.color(QPalette::Highlight), 0.14);
    m_assistantBg = blend(base, pal.color(QPalette::Text), 0.045);
    m_codeBg = blend(base, pal.color(QPalette::Text), 0.10);
    m_muted = blend(pal.color(QPalette::Text), base, 0.45);
}

void ConversationView::changeEvent(QEvent* event) {
    QTextBrowser::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange) rebuild();
}

void ConversationView::rebuild() {
    m_repaintTimer.stop();
    m_dirty.clear();
    m_frames.clear();
    m_codeBlocks.clear();
    m_streamRow = -1;
    m_streamTailStart = -1;
    updateColours();
    document()->clear();
    const auto& items = m_controller.messages();
    if (items.isEmpty()) {
        QTextCursor c(document());
        QTextBlockFormat centred;
        centred.setAlignment(Qt::AlignHCenter);
        centred.setTopMargin(120);
        c.setBlockFormat(centred);
        c.insertHtml(tr("<h2>Start a conversation</h2>"));
        QTextBlockFormat hint;
        hint.setAlignment(Qt::AlignHCenter);
        c.insertBlock(hint);
        c.insertHtml(tr("<span style=\"color:%1\">Type a message below and press Enter. Replies stream in as the "
                        "model writes them; Esc stops.</span>")
                         .arg(m_muted.name()));
        return;
    }
    for (int row = 0; row < items.size(); ++row) {
        QTextCursor c(document());
        c.movePosition(QTextCursor::End);
        QTextFrameFormat f;
        const bool user = items[row].role == store::Role::user;
        f.setBackground(user ? m_userBg : m_assistantBg);
        f.setPadding(10);
        f.setBorder(0);
        f.setBottomMargin(10);
        // Your messages sit to the right, replies to the left, as in most chat apps.
        (user ? f.setLeftMargin(56) : f.setRightMargin(56));
        m_frames.push_back(c.insertFrame(f));
        m_codeBlocks.push_back({});
        renderMessage(row);
    }
    m_stickToBottom = true;
    scrollToBottomSoon();
}

QString ConversationView::headerHtml(const MessageItem& m) const {
    QString who;
    switch (m.role) {
        case store::Role::user:
            who = tr("You");
            break;
        case store::Role::assistant:
            who = m_assistantName.isEmpty() ? tr("Assistant") : m_assistantName;
            break;
        case store::Role::system:
            who = tr("System");
            break;
        case store::Role::tool:
            who = tr("Tool");
            break;
    }
    const QString link = QStringLiteral("<a style=\"text-decoration:none\" href=\"%1\">%2</a>");
    const QString muted = QStringLiteral("<span style=\"color:%1\">%2</span>").arg(m_muted.name());
    QString html = QStringLiteral("<b>%1</b>").arg(who.toHtmlEscaped());
    if (m.siblingCount > 1) {
        html += QStringLiteral("&nbsp;&nbsp;&nbsp;");
        html += m.siblingIndex > 0 ? link.arg(linkFor(QStringLiteral("branch-prev"), m.id), QStringLiteral("&#x2039;"))
                                   : muted.arg(QStringLiteral("&#x2039;"));
        html += QStringLiteral("&nbsp;%1/%2&nbsp;").arg(m.siblingIndex + 1).arg(m.siblingCount);
        html += m.siblingIndex + 1 < m.siblingCount
                    ? link.arg(linkFor(QStringLiteral("branch-next"), m.id), QStringLiteral("&#x203A;"))
                    : muted.arg(QStringLiteral("&#x203A;"));
    }
    if (m.streaming) {
        html += QStringLiteral("&nbsp;&nbsp;&nbsp;") + muted.arg(tr("writing&#x2026;"));
    } else {
        html += QStringLiteral("&nbsp;&nbsp;&nbsp;&nbsp;");
        if (!m.content.isEmpty()) html += link.arg(linkFor(QStringLiteral("copy"), m.id), tr("Copy"));
        if (m.role != store::Role::system) {
            html += QStringLiteral("&nbsp;&nbsp;") + link.arg(linkFor(QStringLiteral("edit"), m.id), tr("Edit"));
        }
    }
    return html;
}

QString ConversationView::footerHtml(const MessageItem& m) const {
    QStringList parts;
    if (m.role == store::Role::assistant && m.stats.completion_tokens > 0) {
        parts << tr("%n tokens", nullptr, static_cast<int>(m.stats.completion_tokens));
        if (m.stats.tokens_per_s > 0) parts << tr("%1 tok/s").arg(m.stats.tokens_per_s, 0, 'f', 1);
    }
    if (!m.note.isEmpty()) parts << m.note;
    if (m.role == store::Role::assistant && m.content.isEmpty() && m.note.isEmpty()) parts << tr("no reply");
    if (parts.isEmpty()) return {};
    for (QString& p : parts) p = p.toHtmlEscaped();
    return QStringLiteral("<span style=\"color:%1; font-size:small\">%2</span>")
        .arg(m_muted.name(), parts.join(QStringLiteral(" &#xB7; ")));
}

int ConversationView::insertBlocks(QTextCursor& c, const QStringList& blocks, int from, bool streaming,
                                   qint64 messageId) {
    QTextCharFormat tiny;
    tiny.setFontPointSize(2);
    int lastStart = c.position();
    if (blocks.isEmpty()) {
        c.insertBlock(roleFormat(kSeparator), tiny);
        c.insertBlock(QTextBlockFormat(), QTextCharFormat());
        if (streaming) c.insertText(QStringLiteral("\u2026"));
        return lastStart;
    }
    const int row = [&] {
        for (int r = 0; r < m_frames.size(); ++r) {
            if (m_controller.messages().value(r).id == messageId) return r;
        }
        return -1;
    }();
    for (int i = from; i < blocks.size(); ++i) {
        lastStart = c.position();
        const bool tail = i + 1 == blocks.size();
        const bool markdown = !(streaming && tail && blocks[i].size() > kMarkdownWhileStreamingLimit);
        // A tiny separator line between blocks. Markdown goes in after an invisible first
        // paragraph: the first inserted block merges into the current one and loses its own
        // format (a list item would leave its list), so that block must be a throwaway.
        c.insertBlock(roleFormat(kSeparator), tiny);
        const int sepPos = c.position();
        if (markdown) {
            c.insertMarkdown(QString(kZeroWidthSpace) + QStringLiteral("\n\n") + blocks[i],
                             QTextDocument::MarkdownDialectGitHub);
            QTextCursor sep(document());
            sep.setPosition(sepPos);
            sep.movePosition(QTextCursor::EndOfBlock, QTextCursor::KeepAnchor);
            sep.setCharFormat(tiny);
        } else {
            c.insertBlock(QTextBlockFormat(), QTextCharFormat());
            c.insertText(blocks[i]);
        }
        // Code blocks get a shaded background.
        bool hasCode = false;
        for (QTextBlock b = document()->findBlock(sepPos); b.isValid() && b.position() <= c.position(); b = b.next()) {
            if (!b.blockFormat().hasProperty(QTextFormat::BlockCodeFence)) continue;
            hasCode = true;
            QTextCursor bc(b);
            QTextBlockFormat shade;
            shade.setBackground(m_codeBg);
            shade.setLeftMargin(4);
            shade.setRightMargin(4);
            bc.mergeBlockFormat(shade);
        }
        if (hasCode && !streaming && row >= 0) {
            for (const QString& code : fencedCode(blocks[i])) {
                const int index = static_cast<int>(m_codeBlocks[row].size());
                m_codeBlocks[row] << code;
                c.insertBlock(roleFormat(kCodeLink), QTextCharFormat());
                c.insertHtml(QStringLiteral("<a style=\"text-decoration:none; font-size:small\" href=\"%1/%2\">%3</a>")
                                 .arg(linkFor(QStringLiteral("copycode"), messageId))
                                 .arg(index)
                                 .arg(tr("Copy code")));
            }
        }
    }
    return lastStart;
}

void ConversationView::renderMessage(int row) {
    const auto& items = m_controller.messages();
    if (row < 0 || row >= items.size() || row >= m_frames.size()) return;
    const MessageItem& m = items[row];
    QTextFrame* frame = m_frames[row];
    QTextCursor c(document());
    c.setPosition(frame->firstPosition());
    c.setPosition(frame->lastPosition(), QTextCursor::KeepAnchor);
    c.removeSelectedText();
    c.setBlockFormat(roleFormat(kHeader));
    c.setCharFormat(QTextCharFormat());
    c.insertHtml(headerHtml(m));
    m_codeBlocks[row].clear();
    const QStringList blocks = splitMarkdownBlocks(m.content);
    const int tail = insertBlocks(c, blocks, 0, m.streaming, m.id);
    if (!m.streaming) {
        const QString footer = footerHtml(m);
        if (!footer.isEmpty()) {
            c.insertBlock(roleFormat(kFooter), QTextCharFormat());
            c.insertHtml(footer);
        }
    }
    if (m.streaming) {
        m_streamRow = row;
        m_streamBlocks = blocks;
        m_streamTailStart = tail;
    } else if (row == m_streamRow) {
        m_streamRow = -1;
    } else if (row < m_streamRow) {
        // Positions after this box moved: the streaming reply re-renders whole next time.
        m_streamTailStart = -1;
    }
}

void ConversationView::renderStreamTail(int row) {
    const auto& items = m_controller.messages();
    if (row != m_streamRow || m_streamTailStart < 0 || !items[row].streaming) return renderMessage(row);
    const QStringList blocks = splitMarkdownBlocks(items[row].content);
    const int kept = std::max(0, static_cast<int>(m_streamBlocks.size()) - 1);
    // Only the old last block may have grown; anything else changing needs a full render.
    for (int i = 0; i < kept; ++i) {
        if (i >= blocks.size() || blocks[i] != m_streamBlocks[i]) return renderMessage(row);
    }
    if (blocks == m_streamBlocks) return;
    QTextCursor c(document());
    c.setPosition(m_streamTailStart);
    c.setPosition(m_frames[row]->lastPosition(), QTextCursor::KeepAnchor);
    c.removeSelectedText();
    m_streamTailStart = insertBlocks(c, blocks, m_streamBlocks.isEmpty() ? 0 : kept, true, items[row].id);
    m_streamBlocks = blocks;
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
    QList<int> rows = m_dirty.values();
    m_dirty.clear();
    std::sort(rows.begin(), rows.end());
    // The streaming row last: re-rendering an earlier box moves the positions after it.
    for (int row : rows) {
        if (row != m_streamRow) renderMessage(row);
    }
    if (rows.contains(m_streamRow)) renderStreamTail(m_streamRow);
    if (m_stickToBottom) scrollToBottomSoon();
    // If an update got expensive, update less often, so repainting never takes more than
    // about a fifth of the GUI thread's time.
    const int spent = static_cast<int>(cost.elapsed());
    m_repaintTimer.setInterval(std::clamp(spent * 4, kRepaintIntervalMs, kMaxRepaintIntervalMs));
}

void ConversationView::scrollToBottomSoon() {
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (m_stickToBottom) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
        },
        Qt::QueuedConnection);
}

void ConversationView::onAnchor(const QUrl& url) {
    if (url.scheme() != QLatin1String("pagoda")) {
        QDesktopServices::openUrl(url);
        return;
    }
    const QStringList parts = url.path().split(QLatin1Char('/'));
    if (parts.size() < 2) return;
    const QString action = parts[0];
    const qint64 id = parts[1].toLongLong();
    const auto& items = m_controller.messages();
    int row = -1;
    for (int i = 0; i < items.size(); ++i) {
        if (items[i].id == id) row = i;
    }
    if (row < 0) return;
    if (action == QLatin1String("branch-prev")) {
        m_controller.switchBranch(id, -1);
    } else if (action == QLatin1String("branch-next")) {
        m_controller.switchBranch(id, +1);
    } else if (action == QLatin1String("edit")) {
        emit editRequested(id);
    } else if (action == QLatin1String("copy")) {
        QApplication::clipboard()->setText(items[row].content);
        emit copied(items[row].content);
    } else if (action == QLatin1String("copycode") && parts.size() >= 3) {
        const int index = parts[2].toInt();
        if (row < m_codeBlocks.size() && index >= 0 && index < m_codeBlocks[row].size()) {
            QApplication::clipboard()->setText(m_codeBlocks[row][index]);
            emit copied(m_codeBlocks[row][index]);
        }
    }
}

QString ConversationView::frameText(int row) const {
    if (row < 0 || row >= m_frames.size()) return {};
    QTextCursor c(document());
    c.setPosition(m_frames[row]->firstPosition());
    c.setPosition(m_frames[row]->lastPosition(), QTextCursor::KeepAnchor);
    return c.selection().toPlainText().remove(kZeroWidthSpace);
}

QString ConversationView::renderedText(int row) const {
    if (row < 0 || row >= m_frames.size()) return {};
    QStringList lines;
    const QTextFrame* frame = m_frames[row];
    for (QTextBlock b = document()->findBlock(frame->firstPosition()); b.isValid() && b.position() <= frame->lastPosition();
         b = b.next()) {
        if (b.blockFormat().hasProperty(kBlockRole)) continue;
        lines << b.text();
    }
    return lines.join(QLatin1Char('\n'));
}

QRect ConversationView::anchorRect(const QString& href) {
    for (QTextBlock b = document()->begin(); b.isValid(); b = b.next()) {
        for (auto it = b.begin(); !it.atEnd(); ++it) {
            const QTextFragment f = it.fragment();
            if (!f.isValid() || f.charFormat().anchorHref() != href) continue;
            QTextCursor c(document());
            c.setPosition(f.position());
            setTextCursor(c);
            ensureCursorVisible();
            const QRect start = cursorRect(c);
            c.setPosition(f.position() + f.length());
            const QRect end = cursorRect(c);
            return QRect(start.topLeft(), QPoint(end.left(), start.bottom()));
        }
    }
    return {};
}

}  // namespace pagoda::ui
