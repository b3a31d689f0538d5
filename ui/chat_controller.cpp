#include "ui/chat_controller.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include "bridge/engine_bridge.h"
#include "bridge/adapter_info.h"
#include "bridge/sampling_preset.h"
#include "bridge/structured_output.h"
#include "bridge/store_client.h"

namespace pagoda::ui {

using store::Role;
using store::StoreOps;

struct ChatController::PathResult {
    store::Session session;
    std::vector<store::Message> path;
    std::vector<std::vector<int64_t>> siblings;  // per path entry, oldest first
};

namespace {

QString titleFromText(const QString& text) {
    QString line = text.trimmed().section(QLatin1Char('\n'), 0, 0).simplified();
    constexpr int kMaxTitle = 48;
    if (line.size() > kMaxTitle) line = line.left(kMaxTitle - 1).trimmed() + QChar(0x2026);
    return line.isEmpty() ? ChatController::defaultTitle() : line;
}

// The session and its active branch with each message's siblings; runs on the store thread.
Result<ChatController::PathResult> loadPathOps(StoreOps& ops, int64_t sessionId) {
    auto session = ops.get_session(sessionId);
    if (!session) return session.status();
    auto path = ops.active_path(sessionId);
    if (!path) return path.status();
    ChatController::PathResult r;
    r.session = std::move(session.value());
    r.path = std::move(path.value());
    for (const store::Message& m : r.path) {
        auto sib = ops.siblings(m.id);
        if (!sib) return sib.status();
        std::vector<int64_t> ids;
        for (const store::Message& s : sib.value()) ids.push_back(s.id);
        r.siblings.push_back(std::move(ids));
    }
    return r;
}
}  // namespace

ChatController::ChatController(bridge::StoreClient& store, bridge::EngineBridge& bridge, QObject* parent)
    : QObject(parent), m_store(store), m_bridge(bridge) {
    connect(&m_bridge, &bridge::EngineBridge::tokenReceived, this, &ChatController::onTokens);
    connect(&m_bridge, &bridge::EngineBridge::finished, this, &ChatController::onFinished);
}

QString ChatController::defaultTitle() { return tr("New chat"); }

int ChatController::rowOf(qint64 messageId) const {
    for (int i = 0; i < m_messages.size(); ++i) {
        if (m_messages[i].id == messageId) return i;
    }
    return -1;
}

void ChatController::openSession(qint64 id) {
    if (id <= 0) return closeSession();
    m_store.run(this, [id](StoreOps& ops) { return loadPathOps(ops, id); },
                [this, id](Result<PathResult> r) {
                    if (!r) {
                        emit errorOccurred(tr("Could not open the chat: %1").arg(QString::fromStdString(r.status().message())));
                        return;
                    }
                    applyPath(id, r.value(), false);
                });
}

void ChatController::closeSession() {
    m_sessionId = 0;
    m_session = store::Session{};
    m_messages.clear();
    emit messagesReset();
    emit sessionClosed();
}

void ChatController::newSession() {
    store::NewSession s;
    s.title = defaultTitle().toStdString();
    s.sampling_preset_json = bridge::samplingPresetJson(bridge::defaultSamplingPreset().id);
    if (m_bridge.loadedModel().modelId > 0) s.model_id = m_bridge.loadedModel().modelId;
    m_store.run(this, [s](StoreOps& ops) { return ops.create_session(s); },
                [this](Result<int64_t> id) {
                    if (!id) {
                        emit errorOccurred(tr("Could not create a chat: %1").arg(QString::fromStdString(id.status().message())));
                        return;
                    }
                    emit sessionsChanged();
                    openSession(id.value());
                });
}

bool ChatController::canStartReply() {
    if (isGenerating()) {
        emit errorOccurred(tr("A reply is still being written. Stop it first (Esc)."));
        return false;
    }
    if (!m_bridge.isLoaded()) {
        emit errorOccurred(m_bridge.isLoading() ? tr("The model is still loading; send again when it is ready.")
                                                : tr("No model is loaded. Pick one in the model list above."));
        return false;
    }
    return true;
}

bool ChatController::send(const QString& text) {
    if (text.trimmed().isEmpty()) return false;
    if (!canStartReply()) return false;
    m_pendingStart = true;
    m_stopRequested = false;
    emit generatingChanged(true);

    const int64_t sessionId = m_sessionId;
    const std::string content = text.toStdString();
    const std::string title = titleFromText(text).toStdString();
    const std::string untitled = defaultTitle().toStdString();
    const std::string preset = bridge::samplingPresetJson(bridge::defaultSamplingPreset().id);
    const qint64 modelId = m_bridge.loadedModel().modelId;
    m_store.run(
        this,
        [=](StoreOps& ops) {
            return ops.transaction([&]() -> Result<PathResult> {
                int64_t sid = sessionId;
                if (sid == 0) {
                    store::NewSession ns;
                    ns.title = title;
                    ns.sampling_preset_json = preset;
                    if (modelId > 0) ns.model_id = modelId;
                    auto created = ops.create_session(ns);
                    if (!created) return created.status();
                    sid = created.value();
                } else {
                    auto s = ops.get_session(sid);
                    if (!s) return s.status();
                    store::Session session = s.value();
                    // The first message names a chat that has no name yet.
                    if (session.title == untitled) session.title = title;
                    if (modelId > 0) session.model_id = modelId;
                    PAGODA_RETURN_IF_ERROR(ops.update_session(session));
                }
                store::NewMessage user;
                user.session_id = sid;
                user.role = Role::user;
                user.content = content;
                auto u = ops.add_message(user);
                if (!u) return u.status();
                store::NewMessage reply;
                reply.session_id = sid;
                reply.role = Role::assistant;
                reply.completed = false;
                auto a = ops.add_message(reply);
                if (!a) return a.status();
                return loadPathOps(ops, sid);
            });
        },
        [this](Result<PathResult> r) {
            if (!r) {
                m_pendingStart = false;
                emit generatingChanged(false);
                emit errorOccurred(tr("Could not save the message: %1").arg(QString::fromStdString(r.status().message())));
                return;
            }
            emit sessionsChanged();
            applyPath(r->session.id, r.value(), true);
        });
    return true;
}

void ChatController::stop() {
    if (m_ticket != 0) {
        m_bridge.cancel(m_ticket);
    } else if (m_pendingStart) {
        m_stopRequested = true;
    }
}

bool ChatController::regenerate() {
    if (m_sessionId == 0 || m_messages.isEmpty()) return false;
    if (!canStartReply()) return false;
    const MessageItem& last = m_messages.back();
    const int64_t sessionId = m_sessionId;
    const int64_t lastId = last.id;
    const bool lastIsReply = last.role == Role::assistant;
    if (!lastIsReply && last.role != Role::user) return false;
    m_pendingStart = true;
    m_stopRequested = false;
    emit generatingChanged(true);
    m_store.run(
        this,
        [=](StoreOps& ops) {
            return ops.transaction([&]() -> Result<PathResult> {
                if (lastIsReply) {
                    auto id = ops.regenerate_message(lastId);
                    if (!id) return id.status();
                } else {
                    store::NewMessage reply;
                    reply.session_id = sessionId;
                    reply.parent_id = lastId;
                    reply.role = Role::assistant;
                    reply.completed = false;
                    auto a = ops.add_message(reply);
                    if (!a) return a.status();
                }
                return loadPathOps(ops, sessionId);
            });
        },
        [this](Result<PathResult> r) {
            if (!r) {
                m_pendingStart = false;
                emit generatingChanged(false);
                emit errorOccurred(tr("Could not regenerate: %1").arg(QString::fromStdString(r.status().message())));
                return;
            }
            applyPath(r->session.id, r.value(), true);
        });
    return true;
}

bool ChatController::editMessage(qint64 messageId, const QString& text) {
    const int row = rowOf(messageId);
    if (row < 0 || text.trimmed().isEmpty()) return false;
    const bool resend = m_messages[row].role == Role::user;
    if (resend && !canStartReply()) return false;
    if (!resend && isGenerating()) {
        emit errorOccurred(tr("A reply is still being written. Stop it first (Esc)."));
        return false;
    }
    const int64_t sessionId = m_sessionId;
    const std::string content = text.toStdString();
    if (resend) {
        m_pendingStart = true;
        m_stopRequested = false;
        emit generatingChanged(true);
    }
    m_store.run(
        this,
        [=](StoreOps& ops) {
            return ops.transaction([&]() -> Result<PathResult> {
                auto edited = ops.edit_message(messageId, content);
                if (!edited) return edited.status();
                if (resend) {
                    store::NewMessage reply;
                    reply.session_id = sessionId;
                    reply.parent_id = edited.value();
                    reply.role = Role::assistant;
                    reply.completed = false;
                    auto a = ops.add_message(reply);
                    if (!a) return a.status();
                }
                return loadPathOps(ops, sessionId);
            });
        },
        [this, resend](Result<PathResult> r) {
            if (!r) {
                if (resend) {
                    m_pendingStart = false;
                    emit generatingChanged(false);
                }
                emit errorOccurred(tr("Could not save the edit: %1").arg(QString::fromStdString(r.status().message())));
                return;
            }
            applyPath(r->session.id, r.value(), resend);
        });
    return true;
}

void ChatController::switchBranch(qint64 messageId, int step) {
    const int row = rowOf(messageId);
    if (row < 0) return;
    const MessageItem& m = m_messages[row];
    const int target = m.siblingIndex + step;
    if (target < 0 || target >= m.siblingIds.size()) return;
    const int64_t targetId = m.siblingIds[target];
    const int64_t sessionId = m_sessionId;
    m_store.run(
        this,
        [=](StoreOps& ops) -> Result<PathResult> {
            PAGODA_RETURN_IF_ERROR(ops.select_branch(targetId));
            return loadPathOps(ops, sessionId);
        },
        [this](Result<PathResult> r) {
            if (!r) {
                emit errorOccurred(tr("Could not show that branch: %1").arg(QString::fromStdString(r.status().message())));
                return;
            }
            applyPath(r->session.id, r.value(), false);
        });
}

void ChatController::setSystemPrompt(const QString& prompt) {
    if (m_sessionId == 0 || QString::fromStdString(m_session.system_prompt) == prompt) return;
    m_session.system_prompt = prompt.toStdString();
    const store::Session s = m_session;
    m_store.run([s](StoreOps& ops) { return ops.update_session(s); });
    emit sessionChanged(m_sessionId);
}

void ChatController::setSamplingPreset(const QString& presetId) {
    if (m_sessionId == 0 || bridge::samplingPresetId(m_session.sampling_preset_json) == presetId) return;
    // A new preset replaces the sampling values, not the chat's structured output.
    const bridge::StructuredOutput output = bridge::structuredOutput(m_session.sampling_preset_json);
    m_session.sampling_preset_json = bridge::samplingPresetJson(presetId);
    if (auto kept = bridge::withStructuredOutput(m_session.sampling_preset_json, output)) {
        m_session.sampling_preset_json = std::move(*kept);
    }
    const store::Session s = m_session;
    m_store.run([s](StoreOps& ops) { return ops.update_session(s); });
    emit sessionChanged(m_sessionId);
}

QString ChatController::setStructuredOutput(bool enabled, const QString& schema) {
    if (m_sessionId == 0) return {};
    auto json = bridge::withStructuredOutput(m_session.sampling_preset_json, {enabled, schema});
    if (!json) return QString::fromStdString(json.status().message());
    if (*json == m_session.sampling_preset_json) return {};
    m_session.sampling_preset_json = std::move(*json);
    const store::Session s = m_session;
    m_store.run([s](StoreOps& ops) { return ops.update_session(s); });
    emit sessionChanged(m_sessionId);
    return {};
}

void ChatController::setAdaptersJson(const std::string& json) {
    if (m_sessionId == 0 || m_session.adapters_json == json) return;
    m_session.adapters_json = json;
    const store::Session s = m_session;
    m_store.run([s](StoreOps& ops) { return ops.update_session(s); });
    emit sessionChanged(m_sessionId);
}

void ChatController::renameSession(qint64 id, const QString& title) {
    const QString clean = title.simplified();
    if (id <= 0 || clean.isEmpty()) return;
    const std::string t = clean.toStdString();
    if (id == m_sessionId) {
        m_session.title = t;
        emit sessionChanged(id);
    }
    m_store.run(this, [id, t](StoreOps& ops) { return ops.rename_session(id, t); },
                [this](Status s) {
                    if (!s.is_ok()) emit errorOccurred(QString::fromStdString(s.message()));
                    emit sessionsChanged();
                });
}

void ChatController::exportSession(const QString& path, bool json) {
    if (m_sessionId == 0) {
        emit exportFinished(path, tr("No chat is open."));
        return;
    }
    const int64_t id = m_sessionId;
    const std::string file = path.toStdString();
    m_store.run(
        this,
        [id, json, file](StoreOps& ops) -> Status {
            auto text = json ? ops.export_json(id) : ops.export_markdown(id);
            if (!text) return text.status();
            // Written beside the target and renamed over it, so a failure never leaves half a file.
            const std::string tmp = file + ".part";
            {
                std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
                if (!out) return io_error("cannot write '" + tmp + "'");
                out << text.value();
                out.flush();
                if (!out) return io_error("writing '" + tmp + "' failed");
            }
            std::error_code ec;
            std::filesystem::rename(tmp, file, ec);
            if (ec) return io_error("cannot rename '" + tmp + "' to '" + file + "': " + ec.message());
            return Status::ok();
        },
        [this, path](Status s) { emit exportFinished(path, s.is_ok() ? QString() : QString::fromStdString(s.message())); });
}

void ChatController::deleteSession(qint64 id) {
    if (id <= 0) return;
    if (m_streamSessionId == id && m_ticket != 0) m_bridge.cancel(m_ticket);
    if (id == m_sessionId) closeSession();
    m_store.run(this, [id](StoreOps& ops) { return ops.delete_session(id); },
                [this](Status s) {
                    if (!s.is_ok()) emit errorOccurred(QString::fromStdString(s.message()));
                    emit sessionsChanged();
                });
}

void ChatController::applyPath(qint64 sessionId, const PathResult& path, bool startReplyNow) {
    // The first message names the chat: the header follows the title too.
    const bool changedSession = sessionId != m_sessionId || path.session.title != m_session.title ||
                                path.session.system_prompt != m_session.system_prompt ||
                                path.session.sampling_preset_json != m_session.sampling_preset_json;
    m_sessionId = sessionId;
    m_session = path.session;
    m_messages.clear();
    for (size_t i = 0; i < path.path.size(); ++i) {
        const store::Message& m = path.path[i];
        MessageItem item;
        item.id = m.id;
        item.role = m.role;
        item.content = QString::fromStdString(m.content);
        item.completed = m.completed;
        item.stats = m.stats;
        for (int64_t s : path.siblings[i]) item.siblingIds.push_back(s);
        item.siblingCount = static_cast<int>(item.siblingIds.size());
        item.siblingIndex = std::max(0, static_cast<int>(item.siblingIds.indexOf(m.id)));
        if (m.id == m_streamMessageId && m_ticket != 0) {
            // A reply still streaming: the GUI's copy is what the view keeps appending to.
            item.content = m_streamText;
            item.streaming = true;
        } else if (!m.completed && m.role == Role::assistant) {
            item.note = tr("interrupted");
        }
        m_messages.push_back(item);
    }
    if (startReplyNow && !m_messages.isEmpty()) {
        MessageItem& reply = m_messages.back();
        reply.note.clear();
        reply.streaming = true;
        m_streamMessageId = reply.id;
        m_streamSessionId = sessionId;
        m_streamText.clear();
    }
    if (changedSession) emit sessionChanged(sessionId);
    emit messagesReset();
    if (startReplyNow) startReply();
}

void ChatController::startReply() {
    m_pendingStart = false;
    const int row = rowOf(m_streamMessageId);
    if (m_stopRequested || row < 0) {
        // Stopped before the engine saw it: the empty reply is kept, marked as stopped.
        const qint64 id = m_streamMessageId;
        m_store.run([id](StoreOps& ops) { return ops.finish_message(id, {}); });
        if (row >= 0) {
            m_messages[row].streaming = false;
            m_messages[row].completed = true;
            m_messages[row].note = tr("stopped");
            emit messageUpdated(row);
        }
        m_streamMessageId = 0;
        emit generatingChanged(false);
        return;
    }
    bridge::GenerationRequest request;
    if (!m_session.system_prompt.empty()) {
        request.messages.push_back({QStringLiteral("system"), QString::fromStdString(m_session.system_prompt)});
    }
    for (int i = 0; i < row; ++i) {
        const MessageItem& m = m_messages[i];
        // Empty replies (stopped before any text, failed) are not part of the conversation.
        if (m.content.isEmpty()) continue;
        request.messages.push_back({QString::fromLatin1(store::role_name(m.role)), m.content});
    }
    auto sampling = bridge::parseSamplingPreset(m_session.sampling_preset_json);
    if (!sampling) {
        emit errorOccurred(tr("This chat's sampling settings are invalid (%1); using the default preset.")
                               .arg(QString::fromStdString(sampling.status().message())));
        request.sampling = bridge::defaultSamplingPreset().params;
    } else {
        request.sampling = sampling.value();
    }
    request.persistMessageId = m_streamMessageId;
    request.sessionId = m_sessionId;
    request.adapters = bridge::parseAdapterAttachments(m_session.adapters_json);
    m_ticket = m_bridge.generate(std::move(request));
}

void ChatController::onTokens(quint64 ticket, const QString& text) {
    if (ticket != m_ticket || m_ticket == 0) return;
    m_streamText += text;
    if (m_streamSessionId != m_sessionId) return;
    const int row = rowOf(m_streamMessageId);
    if (row < 0) return;
    m_messages[row].content = m_streamText;
    emit messageUpdated(row);
}

void ChatController::onFinished(const bridge::GenerationResult& result) {
    if (result.ticket != m_ticket || m_ticket == 0) return;
    m_ticket = 0;
    const int row = m_streamSessionId == m_sessionId ? rowOf(m_streamMessageId) : -1;
    if (row >= 0) {
        MessageItem& m = m_messages[row];
        m.streaming = false;
        m.completed = true;
        m.stats.prompt_tokens = result.promptTokens;
        m.stats.completion_tokens = result.completionTokens;
        m.stats.tokens_per_s = result.tokensPerSecond;
        if (result.reason == QLatin1String("cancelled")) {
            m.note = tr("stopped");
        } else if (result.reason == QLatin1String("error")) {
            m.note = tr("failed: %1").arg(result.message);
        } else if (result.reason == QLatin1String("length")) {
            m.note = tr("reached the length limit");
        }
        emit messageUpdated(row);
    }
    m_streamMessageId = 0;
    m_streamText.clear();
    emit generatingChanged(false);
    if (result.reason == QLatin1String("error")) emit errorOccurred(tr("The reply failed: %1").arg(result.message));
    emit replyFinished(result);
}

}  // namespace pagoda::ui
