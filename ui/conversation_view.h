// The conversation of the open session, in one QTextBrowser: each message is a frame (a
// tinted box) holding a header line (who wrote it, the < 2/3 > branch switcher, Copy and
// Edit links), its text rendered as Markdown, and a footer (speed, why it ended).
//
// Streaming is cheap and coalesced: controller updates mark a row dirty, and one timer
// re-renders the dirty rows at most ~30 times a second (less often when an update gets
// expensive). While a reply streams only its last Markdown block (markdown_blocks.h) is
// replaced, so an update costs the size of that block, not of the reply or the session. The
// view stays scrolled to the bottom while a reply streams unless the user scrolled up.
#pragma once

#include <QSet>
#include <QStringList>
#include <QTextBrowser>
#include <QTimer>
#include <QVector>

class QTextFrame;

namespace pagoda::ui {

class ChatController;
struct MessageItem;

class ConversationView : public QTextBrowser {
    Q_OBJECT

public:
    explicit ConversationView(ChatController& controller, QWidget* parent = nullptr);

    void setAssistantName(const QString& name);
    int messageCount() const { return static_cast<int>(m_frames.size()); }
    // The message's text as rendered (Markdown markup gone), header and footer excluded.
    QString renderedText(int row) const;
    // The whole box of a message as plain text: header, text, footer.
    QString frameText(int row) const;
    // Where the link `href` is drawn, in viewport coordinates (empty when absent), after
    // scrolling it into view, so tests can click it like a user.
    QRect anchorRect(const QString& href);
    static QString linkFor(const QString& action, qint64 messageId);  // "pagoda:edit/12"
    // Applies pending coalesced updates now (tests, screenshots).
    void flushUpdates();
    int repaintCount() const { return m_repaints; }

signals:
    void editRequested(qint64 messageId);
    void copied(const QString& text);

protected:
    void changeEvent(QEvent* event) override;

private:
    struct Body;
    void rebuild();
    void markDirty(int row);
    void applyDirty();
    void onAnchor(const QUrl& url);
    void scrollToBottomSoon();
    // Replaces a message box's contents; remembers where a streaming reply's last block starts.
    void renderMessage(int row);
    // Re-renders only what changed at the end of the streaming reply in `row`.
    void renderStreamTail(int row);
    // Inserts Markdown blocks from blocks[from] on at `cursor`; returns where the last began.
    int insertBlocks(QTextCursor& cursor, const QStringList& blocks, int from, bool streaming, qint64 messageId);
    QString headerHtml(const MessageItem& item) const;
    QString footerHtml(const MessageItem& item) const;
    void updateColours();

    ChatController& m_controller;
    QVector<QTextFrame*> m_frames;
    QVector<int> m_bodyStarts;  // per row: where the text begins (after the header)
    QSet<int> m_dirty;
    QTimer m_repaintTimer;
    QString m_assistantName;
    bool m_stickToBottom = true;
    int m_repaints = 0;

    // The reply streaming into the last row, as rendered so far.
    int m_streamRow = -1;
    QStringList m_streamBlocks;
    int m_streamTailStart = -1;  // position before the last block's separator

    QColor m_userBg, m_assistantBg, m_codeBg, m_muted;
    QVector<QStringList> m_codeBlocks;  // per row: fenced code, for "Copy code"
};

}  // namespace pagoda::ui
