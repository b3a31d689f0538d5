// StoreOps: model library, adapters and settings.
#include <chrono>
#include <filesystem>

#include "store/sqlite_db.h"
#include "store/store_ops.h"

namespace pagoda::store {

namespace {

constexpr const char* kModelColumns =
    "SELECT id, path, display_name, architecture, parameter_count, quantization, file_size, context_length, "
    "has_chat_template, added_at, last_used_at FROM models ";

Model read_model(const Statement& row) {
    Model m;
    m.id = row.column_int64(0);
    m.path = row.column_text(1);
    m.display_name = row.column_text(2);
    m.architecture = row.column_text(3);
    m.parameter_count = row.column_int64(4);
    m.quantization = row.column_text(5);
    m.file_size = row.column_int64(6);
    m.context_length = row.column_int64(7);
    m.has_chat_template = row.column_int64(8) != 0;
    m.added_at = row.column_int64(9);
    m.last_used_at = row.column_optional_int64(10);
    return m;
}

constexpr const char* kAdapterColumns =
    "SELECT id, path, name, base_model_id, base_architecture, added_at FROM adapters ";

Adapter read_adapter(const Statement& row) {
    Adapter a;
    a.id = row.column_int64(0);
    a.path = row.column_text(1);
    a.name = row.column_text(2);
    a.base_model_id = row.column_optional_int64(3);
    a.base_architecture = row.column_text(4);
    a.added_at = row.column_int64(5);
    return a;
}

std::string file_name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

Status check_model_exists(SqliteDb& db, std::optional<int64_t> id) {
    if (!id) return Status::ok();
    Result<Statement> stmt = db.prepare("SELECT 1 FROM models WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, *id);
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    return *row ? Status::ok() : not_found("model " + std::to_string(*id) + " is not in the library");
}

}  // namespace

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// ---- models ----

Result<int64_t> StoreOps::add_model(const NewModel& model) {
    if (model.path.empty()) return invalid_argument("a model needs a path");
    if (model.parameter_count < 0 || model.file_size < 0 || model.context_length < 0) {
        return invalid_argument("model " + model.path + ": negative size");
    }
    Result<Statement> stmt = db_.prepare(
        "INSERT INTO models (path, display_name, architecture, parameter_count, quantization, file_size, "
        "context_length, has_chat_template, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT(path) DO UPDATE SET display_name = excluded.display_name, architecture = excluded.architecture, "
        "parameter_count = excluded.parameter_count, quantization = excluded.quantization, "
        "file_size = excluded.file_size, context_length = excluded.context_length, "
        "has_chat_template = excluded.has_chat_template RETURNING id");
    if (!stmt) return stmt.status();
    stmt->bind(1, model.path)
        .bind(2, model.display_name.empty() ? file_name_of(model.path) : model.display_name)
        .bind(3, model.architecture)
        .bind(4, model.parameter_count)
        .bind(5, model.quantization)
        .bind(6, model.file_size)
        .bind(7, model.context_length)
        .bind(8, int64_t{model.has_chat_template})
        .bind(9, now_ms());
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return internal_error("adding model " + model.path + " returned no id");
    int64_t id = stmt->column_int64(0);
    PAGODA_RETURN_IF_ERROR(stmt->run());  // finish the statement so its write completes
    return id;
}

Result<Model> StoreOps::get_model(int64_t id) {
    Result<Statement> stmt = db_.prepare(std::string(kModelColumns) + "WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id);
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return not_found("model " + std::to_string(id) + " is not in the library");
    return read_model(*stmt);
}

Result<std::vector<Model>> StoreOps::list_models() {
    return collect_rows<Model>(db_.prepare(std::string(kModelColumns) + "ORDER BY display_name COLLATE NOCASE, id"),
                          read_model);
}

Status StoreOps::remove_model(int64_t id) {
    Result<Statement> stmt = db_.prepare("DELETE FROM models WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : not_found("model " + std::to_string(id) + " is not in the library");
}

Status StoreOps::mark_model_used(int64_t id) {
    Result<Statement> stmt = db_.prepare("UPDATE models SET last_used_at = ?2 WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id).bind(2, now_ms());
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : not_found("model " + std::to_string(id) + " is not in the library");
}

// ---- adapters ----

Result<int64_t> StoreOps::add_adapter(const NewAdapter& adapter) {
    if (adapter.path.empty()) return invalid_argument("an adapter needs a path");
    PAGODA_RETURN_IF_ERROR(check_model_exists(db_, adapter.base_model_id));
    Result<Statement> stmt = db_.prepare(
        "INSERT INTO adapters (path, name, base_model_id, base_architecture, added_at) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(path) DO UPDATE SET name = excluded.name, base_model_id = excluded.base_model_id, "
        "base_architecture = excluded.base_architecture RETURNING id");
    if (!stmt) return stmt.status();
    stmt->bind(1, adapter.path)
        .bind(2, adapter.name.empty() ? file_name_of(adapter.path) : adapter.name)
        .bind(3, adapter.base_model_id)
        .bind(4, adapter.base_architecture)
        .bind(5, now_ms());
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return internal_error("adding adapter " + adapter.path + " returned no id");
    int64_t id = stmt->column_int64(0);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return id;
}

Result<Adapter> StoreOps::get_adapter(int64_t id) {
    Result<Statement> stmt = db_.prepare(std::string(kAdapterColumns) + "WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id);
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return not_found("adapter " + std::to_string(id) + " is not in the library");
    return read_adapter(*stmt);
}

Result<std::vector<Adapter>> StoreOps::list_adapters() {
    return collect_rows<Adapter>(db_.prepare(std::string(kAdapterColumns) + "ORDER BY name COLLATE NOCASE, id"),
                            read_adapter);
}

Status StoreOps::remove_adapter(int64_t id) {
    Result<Statement> stmt = db_.prepare("DELETE FROM adapters WHERE id = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, id);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : not_found("adapter " + std::to_string(id) + " is not in the library");
}

// ---- settings ----

Result<std::optional<std::string>> StoreOps::get_setting(std::string_view key) {
    Result<Statement> stmt = db_.prepare("SELECT value FROM app_settings WHERE key = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, key);
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(stmt->column_text(0));
}

Status StoreOps::set_setting(std::string_view key, std::string_view value) {
    if (key.empty()) return invalid_argument("a setting needs a key");
    Result<Statement> stmt = db_.prepare(
        "INSERT INTO app_settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!stmt) return stmt.status();
    stmt->bind(1, key).bind(2, value);
    return stmt->run();
}

Status StoreOps::remove_setting(std::string_view key) {
    Result<Statement> stmt = db_.prepare("DELETE FROM app_settings WHERE key = ?1");
    if (!stmt) return stmt.status();
    stmt->bind(1, key);
    return stmt->run();
}

Result<std::optional<std::string>> StoreOps::get_session_setting(int64_t session_id, std::string_view key) {
    Result<Statement> stmt = db_.prepare("SELECT value FROM session_settings WHERE session_id = ?1 AND key = ?2");
    if (!stmt) return stmt.status();
    stmt->bind(1, session_id).bind(2, key);
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(stmt->column_text(0));
}

Status StoreOps::set_session_setting(int64_t session_id, std::string_view key, std::string_view value) {
    if (key.empty()) return invalid_argument("a setting needs a key");
    Result<Statement> stmt = db_.prepare(
        "INSERT INTO session_settings (session_id, key, value) SELECT ?1, ?2, ?3 WHERE EXISTS "
        "(SELECT 1 FROM sessions WHERE id = ?1) ON CONFLICT(session_id, key) DO UPDATE SET value = excluded.value");
    if (!stmt) return stmt.status();
    stmt->bind(1, session_id).bind(2, key).bind(3, value);
    PAGODA_RETURN_IF_ERROR(stmt->run());
    return db_.changes() ? Status::ok() : not_found("chat session " + std::to_string(session_id) + " does not exist");
}

Result<std::map<std::string, std::string>> StoreOps::session_settings(int64_t session_id) {
    Result<Statement> stmt = db_.prepare("SELECT key, value FROM session_settings WHERE session_id = ?1 ORDER BY key");
    if (!stmt) return stmt.status();
    stmt->bind(1, session_id);
    std::map<std::string, std::string> out;
    while (true) {
        Result<bool> row = stmt->step();
        if (!row) return row.status();
        if (!*row) return out;
        out.emplace(stmt->column_text(0), stmt->column_text(1));
    }
}

}  // namespace pagoda::store
