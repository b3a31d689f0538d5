// StoreOps: chat sessions, messages and their branches.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "store/sqlite_db.h"
#include "store/store_ops.h"

namespace pagoda::store {

namespace {

// Parent links come from the database, which a user or a bug could have edited into a cycle:
// every walk along them stops at the first message it has already seen.

constexpr const char* kSessionColumns =
    "SELECT s.id, s.title, s.created_at, s.updated_at, s.system_prompt, s.model_id, s.sampling_preset, s.adapters, "
    "s.active_leaf_id FROM sessions s ";
constexpr const char* kSessionOrder = "ORDER BY s.updated_at DESC, s.id DESC";

Session read_session(const Statement& row) {
    Session s;
    s.id = row.column_int64(0);
    s.title = row.column_text(1);
    s.created_at = row.column_int64(2);
    s.updated_at = row.column_int64(3);
    s.system_prompt = row.column_text(4);
    s.model_id = row.column_optional_int64(5);
    s.sampling_preset_json = row.column_text(6);
    s.adapters_json = row.column_text(7);
    s.active_leaf_id = row.column_optional_int64(8);
    return s;
}

constexpr const char* kMessageColumns =
    "SELECT m.id, m.session_id, m.parent_id, m.role, m.content, m.created_at, m.completed, m.prompt_tokens, "
    "m.completion_tokens, m.tokens_per_s FROM messages m ";

Message read_message(const Statement& row) {
    Message m;
    m.id = row.column_int64(0);
    m.session_id = row.column_int64(1);
    m.parent_id = row.column_optional_int64(2);
    m.role = parse_role(row.column_text(3)).value_or(Role::user);  // the schema's CHECK allows only valid names
    m.content = row.column_text(4);
    m.created_at = row.column_int64(5);
    m.completed = row.column_int64(6) != 0;
    m.stats.prompt_tokens = row.column_int64(7);
    m.stats.completion_tokens = row.column_int64(8);
    m.stats.tokens_per_s = row.column_double(9);
    return m;
}

Status check_json(std::string_view text, bool want_object, const char* what) {
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return invalid_argument(std::string(what) + " is not valid JSON");
    if (want_object ? !parsed.is_object() : !parsed.is_array()) {
        return invalid_argument(std::string(what) + (want_object ? " must be a JSON object" : " must be a JSON array"));
    }
    return Status::ok();
}

Status check_session_fields(const NewSession& s) {
    PAGODA_RETURN_IF_ERROR(check_json(s.sampling_preset_json, true, "the sampling preset"));
    return check_json(s.adapters_json, false, "the session's adapter list");
}

Status session_not_found(int64_t id) { return not_found("chat session " + std::to_string(id) + " does not exist"); }
Status message_not_found(int64_t id) { return not_found("message " + std::to_string(id) + " does not exist"); }

Result<std::optional<int64_t>> optional_int(SqliteDb& db, std::string_view sql, int64_t param) {
    Result<Statement> stmt = db.prepare(sql);
    if (!stmt) return stmt.status();
    stmt->bind(1, param);
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return std::optional<int64_t>();
    return stmt->column_optional_int64(0);
}

}  // namespace

const char* role_name(Role role) {
    switch (role) {
        case Role::system:
            return "system";
        case Role::user:
            return "user";
        case Role::assistant:
            return "assistant";
        case Role::tool:
            return "tool";
    }
    return "user";
}

std::optional<Role> parse_role(std::string_view name) {
    for (Role r : {Role::system, Role::user, Role::assistant, Role::tool}) {
        if (name == role_name(r)) return r;
    }
    return std::nullopt;
}

// ---- sessions ----

Result<int64_t> StoreOps::create_session(const NewSession& session) {
    PAGODA_RETURN_IF_ERROR(check_session_fields(session));
    if (session.model_id) {
        Result<Model> model = get_model(*session.model_id);
        if (!model) return model.status();
    }
    Result<Statement> stmt = db_.prepare(
        "INSERT INTO sessions (title, created_at, updated_at, system_prompt, model_id, sampling_preset, adapters) "
        "VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt) return stmt.status();
    stmt->bind(1, session.title.empty() ? std::string_view("New chat") : std::string_view(session.title))
        .bind(2, now_ms())
        .bind(3, session.system_prompt)
        .bind(4, session.model_id)
        .bind(5, session.sampling_preset_json)
        .bind(6, session.adapters_json);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.last_insert_rowid();
}

Result<Session> StoreOps::get_session(int64_t id) {
    Result<Statement> stmt = db_.prepare(std::string(kSessionColumns) + "WHERE s.id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id);
    Result<std::vector<Session>> found = collect_rows<Session>(std::move(*stmt), read_session);
    if (!found) return found.status();
    if (found->empty()) return session_not_found(id);
    return std::move(found->front());
}

Result<std::vector<Session>> StoreOps::list_sessions() {
    Result<Statement> stmt = db_.prepare(std::string(kSessionColumns) + kSessionOrder);
    if (!stmt) return stmt.status();
    return collect_rows<Session>(std::move(*stmt), read_session);
}

Status StoreOps::update_session(const Session& session) {
    PAGODA_RETURN_IF_ERROR(check_session_fields(session));
    if (session.model_id) {
        Result<Model> model = get_model(*session.model_id);
        if (!model) return model.status();
    }
    Result<Statement> stmt = db_.prepare(
        "UPDATE sessions SET title = ?2, system_prompt = ?3, model_id = ?4, sampling_preset = ?5, adapters = ?6, "
        "updated_at = ?7 WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, session.id)
        .bind(2, session.title)
        .bind(3, session.system_prompt)
        .bind(4, session.model_id)
        .bind(5, session.sampling_preset_json)
        .bind(6, session.adapters_json)
        .bind(7, now_ms());
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : session_not_found(session.id);
}

Status StoreOps::rename_session(int64_t id, std::string_view title) {
    Result<Statement> stmt = db_.prepare("UPDATE sessions SET title = ?2, updated_at = ?3 WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id).bind(2, title).bind(3, now_ms());
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : session_not_found(id);
}

Status StoreOps::delete_session(int64_t id) {
    Result<Statement> stmt = db_.prepare("DELETE FROM sessions WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : session_not_found(id);
}

Result<std::vector<Session>> StoreOps::search_sessions(std::string_view query) {
    if (query.empty()) return list_sessions();
    // LIKE pattern with the user's % and _ taken literally.
    std::string pattern = "%";
    for (char c : query) {
        if (c == '%' || c == '_' || c == '\\') pattern += '\\';
        pattern += c;
    }
    pattern += '%';
    Result<Statement> stmt =
        db_.prepare(std::string(kSessionColumns) +
                    "WHERE s.title LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.id "
                    "AND m.content LIKE ?1 ESCAPE '\\') " +
                    kSessionOrder);
    if (!stmt) return stmt.status();
    stmt->bind(1, pattern);
    return collect_rows<Session>(std::move(*stmt), read_session);
}

Status StoreOps::touch_session(int64_t session_id, std::optional<int64_t> active_leaf) {
    Result<Statement> stmt =
        db_.prepare(active_leaf ? "UPDATE sessions SET updated_at = ?2, active_leaf_id = ?3 WHERE id = ?1"
                                : "UPDATE sessions SET updated_at = ?2 WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, session_id).bind(2, now_ms());
    if (active_leaf) stmt->bind(3, *active_leaf);
    return stmt->run();
}

// ---- messages ----

Result<std::vector<Message>> StoreOps::query_messages(std::string_view sql, int64_t param) {
    Result<Statement> stmt = db_.prepare(sql);
    if (!stmt) return stmt.status();
    stmt->bind(1, param);
    return collect_rows<Message>(std::move(stmt), read_message);
}

Result<Message> StoreOps::get_message(int64_t id) {
    Result<std::vector<Message>> found = query_messages(std::string(kMessageColumns) + "WHERE m.id = ?1", id);
    if (!found) return found.status();
    if (found->empty()) return message_not_found(id);
    return std::move(found->front());
}

Result<int64_t> StoreOps::add_message(const NewMessage& message) {
    Transaction txn(db_);
    PAGODA_RETURN_IF_ERROR(txn.begin());
    Result<Session> session = get_session(message.session_id);
    if (!session) return session.status();

    std::optional<int64_t> parent;
    if (message.root) {
        if (message.parent_id) return invalid_argument("a root message has no parent");
    } else if (message.parent_id) {
        Result<Message> p = get_message(*message.parent_id);
        if (!p) return p.status();
        if (p->session_id != message.session_id) {
            return invalid_argument("message " + std::to_string(p->id) + " belongs to another chat session");
        }
        parent = p->id;
    } else {
        Result<std::optional<int64_t>> leaf = active_leaf(message.session_id);
        if (!leaf) return leaf.status();
        parent = *leaf;
    }

    Result<Statement> stmt = db_.prepare(
        "INSERT INTO messages (session_id, parent_id, role, content, created_at, completed) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt) return stmt.status();
    stmt->bind(1, message.session_id)
        .bind(2, parent)
        .bind(3, role_name(message.role))
        .bind(4, message.content)
        .bind(5, now_ms())
        .bind(6, int64_t{message.completed});
    PAGODA_RETURN_IF_ERROR(stmt->run());
    int64_t id = db_.last_insert_rowid();
    PAGODA_RETURN_IF_ERROR(touch_session(message.session_id, id));
    PAGODA_RETURN_IF_ERROR(txn.commit());
    return id;
}

Status StoreOps::append_text(int64_t id, std::string_view text) {
    Result<Statement> stmt = db_.prepare("UPDATE messages SET content = content || ?2 WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id).bind(2, text);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : message_not_found(id);
}

Status StoreOps::finish_message(int64_t id, const MessageStats& stats) {
    Transaction txn(db_);
    PAGODA_RETURN_IF_ERROR(txn.begin());
    Result<Statement> stmt = db_.prepare(
        "UPDATE messages SET completed = 1, prompt_tokens = ?2, completion_tokens = ?3, tokens_per_s = ?4 "
        "WHERE id = ?1 RETURNING session_id");
    if (!stmt) return stmt.status();
    stmt->bind(1, id).bind(2, stats.prompt_tokens).bind(3, stats.completion_tokens).bind(4, stats.tokens_per_s);
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return message_not_found(id);
    int64_t session_id = stmt->column_int64(0);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    PAGODA_RETURN_IF_ERROR(touch_session(session_id, std::nullopt));
    return txn.commit();
}

Result<int64_t> StoreOps::edit_message(int64_t id, std::string_view content) {
    Result<Message> original = get_message(id);
    if (!original) return original.status();
    NewMessage edited;
    edited.session_id = original->session_id;
    edited.parent_id = original->parent_id;
    edited.root = !original->parent_id;
    edited.role = original->role;
    edited.content = std::string(content);
    return add_message(edited);
}

Result<int64_t> StoreOps::regenerate_message(int64_t id) {
    Result<Message> original = get_message(id);
    if (!original) return original.status();
    if (original->role != Role::assistant) {
        return invalid_argument("message " + std::to_string(id) + " is a " + role_name(original->role) +
                                " message; only assistant replies are regenerated");
    }
    NewMessage reply;
    reply.session_id = original->session_id;
    reply.parent_id = original->parent_id;
    reply.root = !original->parent_id;
    reply.role = Role::assistant;
    reply.completed = false;
    return add_message(reply);
}

Result<std::optional<int64_t>> StoreOps::active_leaf(int64_t session_id) {
    Result<Session> session = get_session(session_id);
    if (!session) return session.status();
    std::optional<int64_t> leaf;
    if (session->active_leaf_id) {
        Result<Statement> stmt = db_.prepare("SELECT id FROM messages WHERE id = ?1 AND session_id = ?2");
        if (!stmt) return stmt.status();
        stmt->bind(1, *session->active_leaf_id).bind(2, session_id);
        Result<bool> row = stmt->step();
        if (!row) return row.status();
        if (*row) leaf = session->active_leaf_id;
    }
    if (!leaf) {
        // No (or a dangling) leaf: show the newest message's branch.
        Result<std::optional<int64_t>> newest =
            optional_int(db_, "SELECT max(id) FROM messages WHERE session_id = ?1", session_id);
        if (!newest) return newest.status();
        leaf = *newest;
    }
    return leaf;
}

Result<std::vector<Message>> StoreOps::active_path(int64_t session_id) {
    Result<std::optional<int64_t>> leaf = active_leaf(session_id);
    if (!leaf) return leaf.status();
    if (!*leaf) return std::vector<Message>();
    // Leaf first, up the parent links. A path cannot be longer than the session has messages,
    // which bounds the walk even on a cycle.
    Result<Statement> stmt = db_.prepare(
        "WITH RECURSIVE path(id, depth) AS (SELECT ?1, 0 UNION ALL SELECT p.parent_id, path.depth + 1 "
        "FROM messages p JOIN path ON p.id = path.id WHERE p.parent_id IS NOT NULL AND "
        "path.depth < (SELECT count(*) FROM messages WHERE session_id = ?2)) " +
        std::string(kMessageColumns) + "JOIN path ON m.id = path.id ORDER BY path.depth");
    if (!stmt) return stmt.status();
    stmt->bind(1, **leaf).bind(2, session_id);
    std::vector<Message> path;
    std::unordered_set<int64_t> seen;
    while (true) {
        Result<bool> row = stmt->step();
        if (!row) return row.status();
        if (!*row) break;
        Message m = read_message(*stmt);
        if (!seen.insert(m.id).second) break;  // a cycle: the path ends where it repeats
        path.push_back(std::move(m));
    }
    std::reverse(path.begin(), path.end());
    return path;
}

Result<std::vector<Message>> StoreOps::siblings(int64_t id) {
    Result<Message> message = get_message(id);
    if (!message) return message.status();
    if (message->parent_id) {
        return query_messages(std::string(kMessageColumns) + "WHERE m.parent_id = ?1 ORDER BY m.id",
                              *message->parent_id);
    }
    return query_messages(
        std::string(kMessageColumns) + "WHERE m.session_id = ?1 AND m.parent_id IS NULL ORDER BY m.id",
        message->session_id);
}

Result<std::vector<Message>> StoreOps::all_messages(int64_t session_id) {
    Result<Session> session = get_session(session_id);
    if (!session) return session.status();
    return query_messages(std::string(kMessageColumns) + "WHERE m.session_id = ?1 ORDER BY m.id", session_id);
}

Status StoreOps::select_branch(int64_t id) {
    Result<Message> message = get_message(id);
    if (!message) return message.status();
    int64_t leaf = id;
    std::unordered_set<int64_t> seen{id};
    while (true) {
        Result<std::optional<int64_t>> child =
            optional_int(db_, "SELECT max(id) FROM messages WHERE parent_id = ?1", leaf);
        if (!child) return child.status();
        if (!*child || !seen.insert(**child).second) break;
        leaf = **child;
    }
    return touch_session(message->session_id, leaf);
}

}  // namespace pagoda::store
