#include "store/schema.h"

#include <array>
#include <string>

#include "store/sqlite_db.h"

namespace pagoda::store {

namespace {

// Never edit a step once it has shipped: add a new one. Tests create databases at each version
// from these strings and migrate them.
constexpr std::array<Migration, 3> kMigrations = {{
    {1, "models, chat sessions, messages, app settings",
     R"sql(
CREATE TABLE models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    architecture TEXT NOT NULL DEFAULT '',
    parameter_count INTEGER NOT NULL DEFAULT 0,
    quantization TEXT NOT NULL DEFAULT '',
    file_size INTEGER NOT NULL DEFAULT 0,
    context_length INTEGER NOT NULL DEFAULT 0,
    has_chat_template INTEGER NOT NULL DEFAULT 0,
    added_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
    sampling_preset TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    completed INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX messages_by_session ON messages(session_id, id);
CREATE INDEX messages_by_parent ON messages(parent_id);
CREATE INDEX sessions_by_model ON sessions(model_id);
CREATE TABLE app_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
)sql"},
    {2, "LoRA adapters, adapters per session, per-session settings",
     R"sql(
CREATE TABLE adapters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    base_model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
    base_architecture TEXT NOT NULL DEFAULT '',
    added_at INTEGER NOT NULL
);
CREATE INDEX adapters_by_model ON adapters(base_model_id);
ALTER TABLE sessions ADD COLUMN adapters TEXT NOT NULL DEFAULT '[]';
CREATE TABLE session_settings (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (session_id, key)
) WITHOUT ROWID;
)sql"},
    {3, "generation statistics per message, the active branch per session",
     R"sql(
ALTER TABLE messages ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN tokens_per_s REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN active_leaf_id INTEGER;
-- Before v3 the newest message was what the user saw: make it the active leaf.
UPDATE sessions SET active_leaf_id = (SELECT max(m.id) FROM messages m WHERE m.session_id = sessions.id);
CREATE INDEX sessions_by_update ON sessions(updated_at DESC, id DESC);
)sql"},
}};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations.back().version; }

Result<int> schema_version(SqliteDb& db) {
    Result<int64_t> version = db.query_int64("PRAGMA user_version");
    if (!version) return version.status();
    return static_cast<int>(*version);
}

Status migrate(SqliteDb& db, int target) {
    const int latest = latest_schema_version();
    if (target < 0) target = latest;
    if (target > latest) return invalid_argument("schema version " + std::to_string(target) + " does not exist");

    for (const Migration& step : kMigrations) {
        if (step.version > target) break;
        Transaction txn(db);
        PAGODA_RETURN_IF_ERROR(txn.begin());
        // Read the version under the write lock: another process may have migrated meanwhile.
        Result<int> current = schema_version(db);
        if (!current) return current.status();
        if (*current > latest) {
            return unsupported(db.path().string() + " has schema version " + std::to_string(*current) +
                               ", newer than this Pagoda knows (" + std::to_string(latest) + ")");
        }
        if (*current >= step.version) continue;
        if (*current != step.version - 1) {
            return internal_error(db.path().string() + ": schema version " + std::to_string(*current) +
                                  " cannot take migration step " + std::to_string(step.version));
        }
        Status applied = db.exec(step.sql);
        if (!applied.is_ok()) {
            return Status::error(applied.code(), "migrating " + db.path().string() + " to schema version " +
                                                     std::to_string(step.version) + " (" + step.description +
                                                     "): " + applied.message());
        }
        if (step.version == 1) {
            PAGODA_RETURN_IF_ERROR(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
        }
        PAGODA_RETURN_IF_ERROR(db.exec("PRAGMA user_version = " + std::to_string(step.version)));
        PAGODA_RETURN_IF_ERROR(txn.commit());
    }
    return Status::ok();
}

}  // namespace pagoda::store
