#include "store/session_export.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "store/store_ops.h"

namespace pagoda::store {

namespace {

using nlohmann::json;

std::string one_line(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
    return out;
}

// A stored JSON column as JSON; text that does not parse (edited by hand) is kept as a string.
json json_or_string(const std::string& text) {
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? json(text) : parsed;
}

const char* heading(Role role) {
    switch (role) {
        case Role::system:
            return "System";
        case Role::user:
            return "User";
        case Role::assistant:
            return "Assistant";
        case Role::tool:
            return "Tool";
    }
    return "User";
}

}  // namespace

std::string format_utc(int64_t unix_ms) {
    std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    if (!gmtime_r(&seconds, &tm)) return std::to_string(unix_ms);
    char buffer[64];
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buffer;
}

std::string session_to_markdown(const SessionExport& data) {
    const Session& s = data.session;
    std::string out = "# " + one_line(s.title) + "\n\n";
    if (data.model) out += "- Model: " + one_line(data.model->display_name) + "\n";
    out += "- Created: " + format_utc(s.created_at) + "\n";
    out += "- Updated: " + format_utc(s.updated_at) + "\n";
    if (!s.system_prompt.empty()) out += "\n## System prompt\n\n" + s.system_prompt + "\n";

    std::unordered_map<int64_t, const Message*> by_id;
    for (const Message& m : data.messages) by_id.emplace(m.id, &m);
    for (int64_t id : data.active_path) {
        auto it = by_id.find(id);
        if (it == by_id.end()) continue;
        const Message& m = *it->second;
        out += "\n## ";
        out += heading(m.role);
        out += "\n\n" + m.content;
        if (m.content.empty() || m.content.back() != '\n') out += '\n';
        if (!m.completed) out += "\n*(incomplete)*\n";
        if (m.role == Role::assistant && m.stats.completion_tokens > 0) {
            char stats[96];
            std::snprintf(stats, sizeof(stats), "\n*%lld tokens, %.1f tokens/s*\n",
                          static_cast<long long>(m.stats.completion_tokens), m.stats.tokens_per_s);
            out += stats;
        }
    }
    return out;
}

std::string session_to_json(const SessionExport& data) {
    const Session& s = data.session;
    json doc = json::object();
    doc["format"] = "pagoda.chat_session";
    doc["format_version"] = 1;
    doc["id"] = s.id;
    doc["title"] = s.title;
    doc["created_at"] = s.created_at;
    doc["updated_at"] = s.updated_at;
    doc["system_prompt"] = s.system_prompt;
    if (data.model) {
        doc["model"] = {{"id", data.model->id},
                        {"path", data.model->path},
                        {"display_name", data.model->display_name},
                        {"architecture", data.model->architecture},
                        {"quantization", data.model->quantization}};
    } else {
        doc["model"] = nullptr;
    }
    doc["sampling_preset"] = json_or_string(s.sampling_preset_json);
    doc["adapters"] = json_or_string(s.adapters_json);
    doc["settings"] = json::object();
    for (const auto& [key, value] : data.settings) doc["settings"][key] = value;
    doc["active_path"] = data.active_path;
    json messages = json::array();
    for (const Message& m : data.messages) {
        json jm = {{"id", m.id},
                   {"role", role_name(m.role)},
                   {"content", m.content},
                   {"created_at", m.created_at},
                   {"completed", m.completed},
                   {"prompt_tokens", m.stats.prompt_tokens},
                   {"completion_tokens", m.stats.completion_tokens},
                   {"tokens_per_s", m.stats.tokens_per_s}};
        jm["parent_id"] = m.parent_id ? json(*m.parent_id) : json(nullptr);
        messages.push_back(std::move(jm));
    }
    doc["messages"] = std::move(messages);
    // Streamed text can hold a cut UTF-8 sequence; replace it rather than throw.
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

// ---- StoreOps entry points ----

namespace {

Result<SessionExport> gather(StoreOps& ops, int64_t session_id) {
    SessionExport data;
    Result<Session> session = ops.get_session(session_id);
    if (!session) return session.status();
    data.session = std::move(*session);
    if (data.session.model_id) {
        Result<Model> model = ops.get_model(*data.session.model_id);
        if (model) data.model = std::move(*model);
    }
    Result<std::map<std::string, std::string>> settings = ops.session_settings(session_id);
    if (!settings) return settings.status();
    data.settings = std::move(*settings);
    Result<std::vector<Message>> all = ops.all_messages(session_id);
    if (!all) return all.status();
    data.messages = std::move(*all);
    Result<std::vector<Message>> path = ops.active_path(session_id);
    if (!path) return path.status();
    for (const Message& m : *path) data.active_path.push_back(m.id);
    return data;
}

}  // namespace

Result<std::string> StoreOps::export_markdown(int64_t session_id) {
    Result<SessionExport> data = gather(*this, session_id);
    if (!data) return data.status();
    return session_to_markdown(*data);
}

Result<std::string> StoreOps::export_json(int64_t session_id) {
    Result<SessionExport> data = gather(*this, session_id);
    if (!data) return data.status();
    return session_to_json(*data);
}

}  // namespace pagoda::store
