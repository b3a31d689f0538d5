// The chat/model store: one SQLite connection owned by a worker thread that runs queued jobs,
// so callers (the GUI thread, engine sinks, HTTP handlers) never wait on disk.
//
//   auto store = Store::open({});                 // XDG path, migrated; refuses newer/corrupt files
//   int64_t s = *(*store)->create_session({.title = "Hello"}).get();
//   (*store)->append_to_message(reply_id, delta);  // per token: cheap, coalesced
//
// Every call is queued in order and returns a std::future (call .get() for synchronous use, as
// tests do) or, through submit(fn, done), reports to a callback run on the store thread. No
// exception escapes: failures are Status / Result values.
//
// Streaming: append_to_message() only buffers. Buffered text is written at least every
// flush_interval (default 250 ms), before any other job runs (so reads see it), and on
// finish_message() / destruction. A killed process therefore loses at most the last interval of
// text plus the time one commit takes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "pagoda/status.h"
#include "store/database_file.h"
#include "store/store_ops.h"
#include "store/store_types.h"

namespace pagoda::store {

struct StoreOptions : DatabaseOptions {
    std::chrono::milliseconds flush_interval{250};
    // Buffered streaming text past this size is written at once instead of waiting.
    size_t max_buffered_bytes = 1 << 20;
};

struct StoreCounters {
    uint64_t appends = 0;         // append_to_message() calls
    uint64_t flushes = 0;         // transactions that wrote buffered text
    uint64_t failed_flushes = 0;  // kept buffered and retried
};

class Store {
public:
    // Opens (or creates) the database on the store thread and migrates it. Fails with a clear
    // Status, leaving the file untouched, for a newer schema, a corrupt file or a foreign one.
    static Result<std::unique_ptr<Store>> open(StoreOptions options = {});

    // Runs the jobs already queued, writes buffered text, closes the database.
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Runs fn(StoreOps&) on the store thread; fn returns Status or Result<T>. Several operations
    // in one fn can be made atomic with a Transaction on ops (they nest as savepoints).
    template <typename F>
    auto submit(F fn) -> std::future<std::invoke_result_t<F&, StoreOps&>>;
    // As above, then calls done(result) on the store thread. `done` must not wait for the store
    // (post the result to your own thread instead: QMetaObject::invokeMethod, a queue, ...).
    template <typename F, typename Done>
    void submit(F fn, Done done);

    // ---- streaming assistant text ----
    // Buffers `delta` for message `id`; never blocks on disk. An unknown id is reported by
    // finish_message().
    void append_to_message(int64_t id, std::string_view delta);
    // Writes the message's buffered text, marks it complete with its statistics.
    std::future<Status> finish_message(int64_t id, MessageStats stats = {});
    // Resolves once everything appended before the call is in the database.
    std::future<Status> flush();
    StoreCounters counters() const;

    // ---- typed shortcuts for StoreOps (see store_ops.h for what each does) ----
    template <typename T>
    using Future = std::future<Result<T>>;

    Future<int64_t> add_model(NewModel m);
    Future<Model> get_model(int64_t id);
    Future<std::vector<Model>> list_models();
    std::future<Status> remove_model(int64_t id);
    std::future<Status> mark_model_used(int64_t id);

    Future<int64_t> add_adapter(NewAdapter a);
    Future<std::vector<Adapter>> list_adapters();
    std::future<Status> remove_adapter(int64_t id);

    Future<int64_t> create_session(NewSession s);
    Future<Session> get_session(int64_t id);
    Future<std::vector<Session>> list_sessions();
    std::future<Status> update_session(Session s);
    std::future<Status> rename_session(int64_t id, std::string title);
    std::future<Status> delete_session(int64_t id);
    Future<std::vector<Session>> search_sessions(std::string query);

    Future<int64_t> add_message(NewMessage m);
    Future<Message> get_message(int64_t id);
    Future<int64_t> edit_message(int64_t id, std::string content);
    Future<int64_t> regenerate_message(int64_t id);
    Future<std::vector<Message>> active_path(int64_t session_id);
    Future<std::vector<Message>> siblings(int64_t id);
    Future<std::vector<Message>> all_messages(int64_t session_id);
    std::future<Status> select_branch(int64_t id);

    Future<std::optional<std::string>> get_setting(std::string key);
    std::future<Status> set_setting(std::string key, std::string value);
    Future<std::optional<std::string>> get_session_setting(int64_t session_id, std::string key);
    std::future<Status> set_session_setting(int64_t session_id, std::string key, std::string value);

    Future<std::string> export_markdown(int64_t session_id);
    Future<std::string> export_json(int64_t session_id);

private:
    using Job = std::function<void(StoreOps&)>;

    explicit Store(StoreOptions options) : options_(std::move(options)) {}
    void enqueue(Job job);
    void worker_main(std::promise<Status> opened);
    // False when the batch could not be written and went back into the buffer.
    bool write_buffered(StoreOps& ops, SqliteDb& db, std::map<int64_t, std::string> batch);
    Status finish_on_worker(StoreOps& ops, int64_t id, const MessageStats& stats);

    // Runs fn, turning an escaping exception into an internal error.
    template <typename R, typename F>
    static R guarded(F& fn, StoreOps& ops) noexcept;

    StoreOptions options_;
    std::filesystem::path path_;
    std::thread worker_;

    mutable std::mutex mutex_;  // guards everything below up to the counters
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    std::map<int64_t, std::string> buffered_;  // message id -> text not yet written
    size_t buffered_bytes_ = 0;
    std::chrono::steady_clock::time_point flush_deadline_;
    bool stopping_ = false;

    // Worker thread only.
    std::map<int64_t, Status> append_errors_;  // first failure per message, reported at finish
    Status last_flush_error_;

    std::atomic<uint64_t> appends_{0};
    std::atomic<uint64_t> flushes_{0};
    std::atomic<uint64_t> failed_flushes_{0};
};

template <typename R, typename F>
R Store::guarded(F& fn, StoreOps& ops) noexcept {
    try {
        return fn(ops);
    } catch (const std::exception& e) {
        return R(internal_error(std::string("store job threw: ") + e.what()));
    } catch (...) {
        return R(internal_error("store job threw an unknown exception"));
    }
}

template <typename F>
auto Store::submit(F fn) -> std::future<std::invoke_result_t<F&, StoreOps&>> {
    using R = std::invoke_result_t<F&, StoreOps&>;
    auto promise = std::make_shared<std::promise<R>>();
    auto shared_fn = std::make_shared<F>(std::move(fn));  // std::function needs a copyable callable
    std::future<R> future = promise->get_future();
    enqueue([promise, shared_fn](StoreOps& ops) { promise->set_value(guarded<R>(*shared_fn, ops)); });
    return future;
}

template <typename F, typename Done>
void Store::submit(F fn, Done done) {
    using R = std::invoke_result_t<F&, StoreOps&>;
    auto shared_fn = std::make_shared<F>(std::move(fn));
    auto shared_done = std::make_shared<Done>(std::move(done));
    enqueue([shared_fn, shared_done](StoreOps& ops) {
        R result = guarded<R>(*shared_fn, ops);
        try {
            (*shared_done)(std::move(result));
        } catch (...) {
            // A throwing callback must not take the store thread down.
        }
    });
}

}  // namespace pagoda::store
