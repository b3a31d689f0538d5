// ChatController: what the chat page shows and does, without widgets. It keeps the open
// session's active branch (root to leaf, with how many siblings each message has), sends
// messages, streams replies into them and moves between branches. Every Store access is
// asynchronous (StoreClient) and every Engine access goes through the EngineBridge, so
// nothing here blocks the GUI thread. The model (m_messages) changes only on the GUI thread.
#pragma once

#include <QObject>
#include <QString>
#include <QVector>
#include <optional>

#include "bridge/bridge_types.h"
#include "store/store_types.h"

namespace pagoda::bridge {
class EngineBridge;
class StoreClient;
}  // namespace pagoda::bridge

namespace pagoda::ui {

struct MessageItem {
    qint64 id = 0;
    store::Role role = store::Role::user;
    QString content;
    bool completed = true;
    bool streaming = false;
    int siblingIndex = 0;  // position among the messages sharing its parent
    int siblingCount = 1;
    QVector<qint64> siblingIds;
    store::MessageStats stats;
    QString note;  // "stopped", an error, ...
};

class ChatController : public QObject {
    Q_OBJECT

public:
    ChatController(bridge::StoreClient& store, bridge::EngineBridge& bridge, QObject* parent = nullptr);

    static QString defaultTitle();  // "New chat"

    qint64 sessionId() const { return m_sessionId; }
    const store::Session& session() const { return m_session; }
    const QVector<MessageItem>& messages() const { return m_messages; }
    bool isGenerating() const { return m_ticket != 0 || m_pendingStart; }
    // The message a reply streams into (0: none).
    qint64 streamingMessageId() const { return m_streamMessageId; }

public slots:
    void openSession(qint64 id);
    void closeSession();
    void newSession();
    // Sends `text` as a user message (creating a session when none is open) and streams the
    // reply. False, with errorOccurred, when no model is loaded or a reply is running.
    bool send(const QString& text);
    void stop();
    // A new reply to the last user message; the previous reply stays as a sibling branch.
    bool regenerate();
    // A user message edited: a new sibling branch with the new text, then a new reply.
    // An assistant message edited: a new sibling with the text, no reply.
    bool editMessage(qint64 messageId, const QString& text);
    // Shows the sibling `step` positions from `messageId` (-1 previous, +1 next).
    void switchBranch(qint64 messageId, int step);
    void setSystemPrompt(const QString& prompt);
    void setSamplingPreset(const QString& presetId);
    // JSON replies for this chat: any JSON object (schema empty) or valid under a JSON
    // Schema. Returns why the schema cannot be used ("" when saved).
    QString setStructuredOutput(bool enabled, const QString& schema);
    // Saves the open chat's LoRA adapters (Session::adapters_json).
    void setAdaptersJson(const std::string& json);
    void renameSession(qint64 id, const QString& title);
    // Writes the open session to `path` (Markdown: the branch on screen; JSON: every branch)
    // from the store thread; exportFinished reports the outcome.
    void exportSession(const QString& path, bool json);
    void deleteSession(qint64 id);

signals:
    void sessionChanged(qint64 id);  // another session opened, or its title, prompt or preset changed
    void sessionClosed();
    void messagesReset();        // m_messages replaced
    void messageUpdated(int row);  // text, note or stats of one row changed
    void generatingChanged(bool generating);
    // Titles, order (last update) or membership of the session list changed.
    void sessionsChanged();
    void errorOccurred(const QString& message);
    void exportFinished(const QString& path, const QString& error);
    void replyFinished(const pagoda::bridge::GenerationResult& result);

public:
    // A session and its active branch as the store thread reads it (implementation detail).
    struct PathResult;

private:
    void onTokens(quint64 ticket, const QString& text);
    void onFinished(const bridge::GenerationResult& result);
    // Replaces the view with a path loaded from the store, then optionally starts a reply
    // into its last message.
    void applyPath(qint64 sessionId, const PathResult& path, bool startReply);
    void startReply();
    // Store job: the session and its active path with sibling counts.
    void reloadPath(bool startReply);
    bool canStartReply();
    int rowOf(qint64 messageId) const;

    bridge::StoreClient& m_store;
    bridge::EngineBridge& m_bridge;

    qint64 m_sessionId = 0;
    store::Session m_session;
    QVector<MessageItem> m_messages;

    // The reply being generated (at most one at a time).
    quint64 m_ticket = 0;
    bool m_pendingStart = false;  // store work queued, generate() not called yet
    bool m_stopRequested = false;
    qint64 m_streamMessageId = 0;
    qint64 m_streamSessionId = 0;
    QString m_streamText;  // everything received for the reply, for a reopened session
};

}  // namespace pagoda::ui
