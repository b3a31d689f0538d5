#include "store/store.h"

#include <pthread.h>

#include "store/sqlite_db.h"

namespace pagoda::store {

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
    std::unique_ptr<Store> store(new Store(std::move(options)));
    std::promise<Status> opened;
    std::future<Status> opened_future = opened.get_future();
    try {
        store->worker_ = std::thread(&Store::worker_main, store.get(), std::move(opened));
    } catch (const std::system_error& e) {
        return internal_error(std::string("cannot start the store thread: ") + e.what());
    }
    Status status = opened_future.get();
    if (!status.is_ok()) {
        store->worker_.join();  // it returned right after reporting
        return status;
    }
    return store;
}

Store::~Store() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void Store::enqueue(Job job) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void Store::append_to_message(int64_t id, std::string_view delta) {
    if (delta.empty()) return;
    appends_.fetch_add(1, std::memory_order_relaxed);
    bool wake = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (buffered_.empty()) {
            flush_deadline_ = std::chrono::steady_clock::now() + options_.flush_interval;
            wake = true;  // the worker may be sleeping with no deadline
        }
        buffered_[id].append(delta);
        buffered_bytes_ += delta.size();
        if (buffered_bytes_ >= options_.max_buffered_bytes) {
            flush_deadline_ = std::chrono::steady_clock::now();
            wake = true;
        }
    }
    if (wake) wake_.notify_one();
}

std::future<Status> Store::finish_message(int64_t id, MessageStats stats) {
    return submit([this, id, stats](StoreOps& ops) { return finish_on_worker(ops, id, stats); });
}

std::future<Status> Store::flush() {
    // Any job first writes the buffer; this one only reports whether that worked.
    return submit([this](StoreOps&) {
        std::lock_guard<std::mutex> lock(mutex_);
        return buffered_.empty() ? Status::ok() : last_flush_error_;
    });
}

StoreCounters Store::counters() const {
    StoreCounters c;
    c.appends = appends_.load(std::memory_order_relaxed);
    c.flushes = flushes_.load(std::memory_order_relaxed);
    c.failed_flushes = failed_flushes_.load(std::memory_order_relaxed);
    return c;
}

Status Store::finish_on_worker(StoreOps& ops, int64_t id, const MessageStats& stats) {
    auto error = append_errors_.find(id);
    if (error != append_errors_.end()) {
        Status status = error->second;
        append_errors_.erase(error);
        return status;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (buffered_.count(id)) {
            // The write before this job failed; the text stays buffered for the next try.
            return Status::error(last_flush_error_.code(), "streamed text of message " + std::to_string(id) +
                                                               " is not saved yet: " + last_flush_error_.message());
        }
    }
    return ops.finish_message(id, stats);
}

bool Store::write_buffered(StoreOps& ops, SqliteDb& db, std::map<int64_t, std::string> batch) {
    // One transaction for the whole batch: one WAL append per interval, however many messages
    // are streaming at once.
    Status status;
    {
        Transaction txn(db);
        status = txn.begin();
        for (auto it = batch.begin(); status.is_ok() && it != batch.end(); ++it) {
            Status written = ops.append_text(it->first, it->second);
            if (written.code() == ErrorCode::not_found) {
                append_errors_.try_emplace(it->first, std::move(written));
            } else {
                status = std::move(written);
            }
        }
        if (status.is_ok()) status = txn.commit();
    }
    if (status.is_ok()) {
        flushes_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    // Keep the text (put it back in front of anything appended since) and retry next interval.
    failed_flushes_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    last_flush_error_ = status;
    if (buffered_.empty()) flush_deadline_ = std::chrono::steady_clock::now() + options_.flush_interval;
    for (auto& [id, text] : batch) {
        std::string& slot = buffered_[id];
        buffered_bytes_ += text.size();
        slot.insert(0, text);
    }
    return false;
}

void Store::worker_main(std::promise<Status> opened) {
    pthread_setname_np(pthread_self(), "pagoda-store");
    Result<SqliteDb> db = open_store_database(options_);
    if (!db) {
        opened.set_value(db.status());
        return;
    }
    path_ = db->path();
    StoreOps ops(*db);
    opened.set_value(Status::ok());

    int failed_while_stopping = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
        if (jobs_.empty() && !stopping_) {
            if (buffered_.empty()) {
                wake_.wait(lock, [&] { return stopping_ || !jobs_.empty() || !buffered_.empty(); });
            } else {
                wake_.wait_until(lock, flush_deadline_, [&] {
                    return stopping_ || !jobs_.empty() || std::chrono::steady_clock::now() >= flush_deadline_;
                });
            }
        }
        // Buffered text goes first when it is due, and before any job so that the job sees it.
        bool write_now =
            !buffered_.empty() && (stopping_ || !jobs_.empty() || std::chrono::steady_clock::now() >= flush_deadline_);
        std::map<int64_t, std::string> batch;
        if (write_now) {
            batch.swap(buffered_);
            buffered_bytes_ = 0;
        }
        Job job;
        if (!jobs_.empty()) {
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        if (batch.empty() && !job) {
            if (stopping_ && jobs_.empty() && buffered_.empty()) break;
            continue;
        }
        lock.unlock();
        bool written = batch.empty() || write_buffered(ops, *db, std::move(batch));
        if (job) job(ops);
        job = nullptr;  // drop captured state before waiting again
        lock.lock();
        // Closing with a write that keeps failing (disk full, a lock held by another process
        // beyond the busy timeout): a few tries, then give up rather than hang the caller.
        if (!written && stopping_ && ++failed_while_stopping >= 3) break;
    }
}

// ---- typed shortcuts ----

Store::Future<int64_t> Store::add_model(NewModel m) {
    return submit([m](StoreOps& o) { return o.add_model(m); });
}

Store::Future<Model> Store::get_model(int64_t id) {
    return submit([id](StoreOps& o) { return o.get_model(id); });
}

Store::Future<std::vector<Model>> Store::list_models() {
    return submit([](StoreOps& o) { return o.list_models(); });
}

std::future<Status> Store::remove_model(int64_t id) {
    return submit([id](StoreOps& o) { return o.remove_model(id); });
}

std::future<Status> Store::mark_model_used(int64_t id) {
    return submit([id](StoreOps& o) { return o.mark_model_used(id); });
}

Store::Future<int64_t> Store::add_adapter(NewAdapter a) {
    return submit([a](StoreOps& o) { return o.add_adapter(a); });
}

Store::Future<std::vector<Adapter>> Store::list_adapters() {
    return submit([](StoreOps& o) { return o.list_adapters(); });
}

std::future<Status> Store::remove_adapter(int64_t id) {
    return submit([id](StoreOps& o) { return o.remove_adapter(id); });
}

Store::Future<int64_t> Store::create_session(NewSession s) {
    return submit([s](StoreOps& o) { return o.create_session(s); });
}

Store::Future<Session> Store::get_session(int64_t id) {
    return submit([id](StoreOps& o) { return o.get_session(id); });
}

Store::Future<std::vector<Session>> Store::list_sessions() {
    return submit([](StoreOps& o) { return o.list_sessions(); });
}

std::future<Status> Store::update_session(Session s) {
    return submit([s](StoreOps& o) { return o.update_session(s); });
}

std::future<Status> Store::rename_session(int64_t id, std::string title) {
    return submit([id, title](StoreOps& o) { return o.rename_session(id, title); });
}

std::future<Status> Store::delete_session(int64_t id) {
    return submit([id](StoreOps& o) { return o.delete_session(id); });
}

Store::Future<std::vector<Session>> Store::search_sessions(std::string query) {
    return submit([query](StoreOps& o) { return o.search_sessions(query); });
}

Store::Future<int64_t> Store::add_message(NewMessage m) {
    return submit([m](StoreOps& o) { return o.add_message(m); });
}

Store::Future<Message> Store::get_message(int64_t id) {
    return submit([id](StoreOps& o) { return o.get_message(id); });
}

Store::Future<int64_t> Store::edit_message(int64_t id, std::string content) {
    return submit([id, content](StoreOps& o) { return o.edit_message(id, content); });
}

Store::Future<int64_t> Store::regenerate_message(int64_t id) {
    return submit([id](StoreOps& o) { return o.regenerate_message(id); });
}

Store::Future<std::vector<Message>> Store::active_path(int64_t session_id) {
    return submit([session_id](StoreOps& o) { return o.active_path(session_id); });
}

Store::Future<std::vector<Message>> Store::siblings(int64_t id) {
    return submit([id](StoreOps& o) { return o.siblings(id); });
}

Store::Future<std::vector<Message>> Store::all_messages(int64_t session_id) {
    return submit([session_id](StoreOps& o) { return o.all_messages(session_id); });
}

std::future<Status> Store::select_branch(int64_t id) {
    return submit([id](StoreOps& o) { return o.select_branch(id); });
}

Store::Future<std::optional<std::string>> Store::get_setting(std::string key) {
    return submit([key](StoreOps& o) { return o.get_setting(key); });
}

std::future<Status> Store::set_setting(std::string key, std::string value) {
    return submit([key, value](StoreOps& o) { return o.set_setting(key, value); });
}

Store::Future<std::optional<std::string>> Store::get_session_setting(int64_t session_id, std::string key) {
    return submit([session_id, key](StoreOps& o) { return o.get_session_setting(session_id, key); });
}

std::future<Status> Store::set_session_setting(int64_t session_id, std::string key, std::string value) {
    return submit([=](StoreOps& o) { return o.set_session_setting(session_id, key, value); });
}

Store::Future<std::string> Store::export_markdown(int64_t session_id) {
    return submit([session_id](StoreOps& o) { return o.export_markdown(session_id); });
}

Store::Future<std::string> Store::export_json(int64_t session_id) {
    return submit([session_id](StoreOps& o) { return o.export_json(session_id); });
}

}  // namespace pagoda::store
