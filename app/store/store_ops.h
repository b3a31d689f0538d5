// The store's operations as plain synchronous calls on one open connection.
//
// Store (store.h) runs these on its worker thread; code that already is on that thread (a job
// given to Store::submit) or a single-threaded tool can call them directly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pagoda/status.h"
#include "store/sqlite_db.h"
#include "store/store_types.h"

namespace pagoda::store {

class StoreOps {
public:
    explicit StoreOps(SqliteDb& db) : db_(db) {}

    // Runs fn() (returning Status or Result<T>) as one transaction: committed when it succeeds,
    // rolled back when it fails. Operations called inside nest as savepoints.
    template <typename F>
    auto transaction(F fn) -> std::invoke_result_t<F&>;

    // ---- model library ----
    // Adding a path that is already in the library refreshes its metadata and returns its id.
    Result<int64_t> add_model(const NewModel& model);
    Result<Model> get_model(int64_t id);
    Result<std::vector<Model>> list_models();  // by display name
    // Removes the entry only; the file stays on disk. Sessions and adapters that used it keep
    // working with their model unset.
    Status remove_model(int64_t id);
    Status mark_model_used(int64_t id);

    // ---- adapters ----
    Result<int64_t> add_adapter(const NewAdapter& adapter);
    Result<Adapter> get_adapter(int64_t id);
    Result<std::vector<Adapter>> list_adapters();  // by name
    Status remove_adapter(int64_t id);

    // ---- chat sessions ----
    Result<int64_t> create_session(const NewSession& session);
    Result<Session> get_session(int64_t id);
    Result<std::vector<Session>> list_sessions();  // most recently updated first
    // Saves title, system prompt, model, sampling preset and adapters of `session.id`.
    Status update_session(const Session& session);
    Status rename_session(int64_t id, std::string_view title);
    Status delete_session(int64_t id);  // with its messages and settings
    // Sessions whose title or any message (on any branch) contains `query`, case-insensitively
    // for ASCII; most recently updated first.
    Result<std::vector<Session>> search_sessions(std::string_view query);

    // ---- messages ----
    // Adds a message (by default after the session's active leaf) and makes it the active leaf.
    Result<int64_t> add_message(const NewMessage& message);
    Result<Message> get_message(int64_t id);
    // Appends streamed text. Store coalesces calls; this is the raw write.
    Status append_text(int64_t id, std::string_view text);
    // Marks a streamed message complete and records its statistics.
    Status finish_message(int64_t id, const MessageStats& stats);
    // An edit is a new sibling (same parent and role) holding `content`; the original and
    // everything after it stay reachable through siblings(). The new message is the active leaf.
    Result<int64_t> edit_message(int64_t id, std::string_view content);
    // A new, empty, incomplete assistant sibling of assistant message `id`, made the active leaf
    // so the new reply can be streamed into it.
    Result<int64_t> regenerate_message(int64_t id);
    // Root to active leaf.
    Result<std::vector<Message>> active_path(int64_t session_id);
    // Messages sharing `id`'s parent (all roots for a root), `id` included, oldest first.
    Result<std::vector<Message>> siblings(int64_t id);
    // Every message of the session, on every branch, oldest first.
    Result<std::vector<Message>> all_messages(int64_t session_id);
    // Shows the branch through message `id`: the active leaf becomes the newest descendant
    // reached by always following the newest child.
    Status select_branch(int64_t id);

    // ---- settings (UTF-8 key/value) ----
    Result<std::optional<std::string>> get_setting(std::string_view key);
    Status set_setting(std::string_view key, std::string_view value);
    Status remove_setting(std::string_view key);
    Result<std::optional<std::string>> get_session_setting(int64_t session_id, std::string_view key);
    Status set_session_setting(int64_t session_id, std::string_view key, std::string_view value);
    Result<std::map<std::string, std::string>> session_settings(int64_t session_id);

    // ---- export (session_export.h formats) ----
    Result<std::string> export_markdown(int64_t session_id);
    Result<std::string> export_json(int64_t session_id);

private:
    Status touch_session(int64_t session_id, std::optional<int64_t> active_leaf);
    // The session's active leaf; when unset or dangling, its newest message; none when empty.
    Result<std::optional<int64_t>> active_leaf(int64_t session_id);
    Result<std::vector<Message>> query_messages(std::string_view sql, int64_t param);

    SqliteDb& db_;
};

// Milliseconds since the Unix epoch.
int64_t now_ms();

template <typename F>
auto StoreOps::transaction(F fn) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    Transaction txn(db_);
    Status begun = txn.begin();
    if (!begun.is_ok()) return R(begun);
    R result = fn();
    if (!result.is_ok()) return result;  // ~Transaction rolls back
    Status committed = txn.commit();
    if (!committed.is_ok()) return R(committed);
    return result;
}

}  // namespace pagoda::store
