#include "server/sqlite_response_cache.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace pagoda::server {

namespace {

constexpr int kSchemaVersion = 1;
constexpr int64_t kPurgeEvery = 64;  // stores between sweeps of expired rows

int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A prepared statement that finalizes itself.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK; }
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool ok() const { return ok_; }
    sqlite3_stmt* get() { return stmt_; }
    void text(int i, const std::string& s) {
        sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    void blob(int i, const std::string& s) {
        sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    void i64(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
    int step() { return sqlite3_step(stmt_); }

private:
    sqlite3_stmt* stmt_ = nullptr;
    bool ok_ = false;
};

}  // namespace

Result<std::unique_ptr<SqliteResponseCache>> SqliteResponseCache::open(const std::string& path,
                                                                       const ResponseCacheConfig& config,
                                                                       std::function<int64_t()> now_ms) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) return io_error("cannot create " + parent.string() + " for the response cache: " + ec.message());

    std::unique_ptr<SqliteResponseCache> c(new SqliteResponseCache());
    c->path_ = path;
    c->config_ = config;
    c->now_ms_ = now_ms ? std::move(now_ms) : std::function<int64_t()>(system_now_ms);
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path.c_str(), &c->db_, flags, nullptr) != SQLITE_OK) {
        const std::string msg = c->db_ ? sqlite3_errmsg(c->db_) : "out of memory";
        return io_error("cannot open the response cache " + path + ": " + msg);
    }
    sqlite3_busy_timeout(c->db_, 2000);

    int version = -1;
    {
        Stmt st(c->db_, "PRAGMA user_version");
        if (st.ok() && st.step() == SQLITE_ROW) version = sqlite3_column_int(st.get(), 0);
    }
    if (version < 0) {
        return io_error("the response cache " + path + " is not a SQLite database (" + sqlite3_errmsg(c->db_) +
                        "); give another path with --cache sqlite:PATH");
    }
    // A cache holds nothing that cannot be regenerated: another layout is simply replaced.
    if (version != 0 && version != kSchemaVersion && !c->exec("DROP TABLE IF EXISTS response_cache")) {
        return io_error("cannot reset the response cache " + path + ": " + sqlite3_errmsg(c->db_));
    }
    const bool ok = c->exec("PRAGMA journal_mode=WAL") && c->exec("PRAGMA synchronous=NORMAL") &&
                    c->exec(
                        "CREATE TABLE IF NOT EXISTS response_cache ("
                        " key TEXT PRIMARY KEY, value BLOB NOT NULL, bytes INTEGER NOT NULL,"
                        " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_used INTEGER NOT NULL)") &&
                    c->exec("CREATE INDEX IF NOT EXISTS response_cache_last_used ON response_cache(last_used)") &&
                    c->exec("CREATE INDEX IF NOT EXISTS response_cache_expires_at ON response_cache(expires_at)") &&
                    c->exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    if (!ok) return io_error("cannot set up the response cache " + path + ": " + sqlite3_errmsg(c->db_));
    return c;
}

SqliteResponseCache::~SqliteResponseCache() {
    if (db_) sqlite3_close_v2(db_);
}

bool SqliteResponseCache::exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

void SqliteResponseCache::log_failure(const char* what) {
    // Once: a broken disk must not flood the log with a line per request.
    if (failure_logged_) return;
    failure_logged_ = true;
    std::fprintf(stderr, "response cache: sqlite %s failed on %s (%s), serving without it where it fails\n", what,
                 path_.c_str(), sqlite3_errmsg(db_));
}

CacheLookupResult SqliteResponseCache::lookup(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t now = now_ms_();
    CacheLookupResult r;
    bool expired = false;
    {
        Stmt st(db_, "SELECT value, expires_at FROM response_cache WHERE key = ?1");
        if (!st.ok()) {
            log_failure("lookup");
            r.outcome = CacheLookup::unavailable;
            return r;
        }
        st.text(1, key);
        const int rc = st.step();
        if (rc == SQLITE_ROW) {
            if (sqlite3_column_int64(st.get(), 1) > now) {
                const void* data = sqlite3_column_blob(st.get(), 0);
                const int n = sqlite3_column_bytes(st.get(), 0);
                r.outcome = CacheLookup::hit;
                if (data && n > 0) r.value.assign(static_cast<const char*>(data), static_cast<size_t>(n));
            } else {
                expired = true;
            }
        } else if (rc != SQLITE_DONE) {
            log_failure("lookup");
            r.outcome = CacheLookup::unavailable;
            return r;
        }
    }
    if (r.outcome == CacheLookup::hit) {
        Stmt up(db_, "UPDATE response_cache SET last_used = ?1 WHERE key = ?2");
        if (up.ok()) {
            up.i64(1, now);
            up.text(2, key);
            up.step();
        }
    } else if (expired) {
        Stmt del(db_, "DELETE FROM response_cache WHERE key = ?1 AND expires_at <= ?2");
        if (del.ok()) {
            del.text(1, key);
            del.i64(2, now);
            del.step();
        }
    }
    return r;
}

bool SqliteResponseCache::store(const std::string& key, const std::string& value) {
    if (value.size() > config_.max_entry_bytes || config_.ttl_s <= 0) {
        counters().store_failures++;
        return false;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t now = now_ms_();
    {
        Stmt st(db_,
                "INSERT OR REPLACE INTO response_cache (key, value, bytes, created_at, expires_at, last_used)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?4)");
        if (!st.ok()) {
            log_failure("store");
            counters().store_failures++;
            return false;
        }
        st.text(1, key);
        st.blob(2, value);
        st.i64(3, static_cast<int64_t>(value.size()));
        st.i64(4, now);
        st.i64(5, now + config_.ttl_s * 1000);
        if (st.step() != SQLITE_DONE) {
            log_failure("store");
            counters().store_failures++;
            return false;
        }
    }
    counters().stores++;
    if (++stores_since_purge_ >= kPurgeEvery) {
        stores_since_purge_ = 0;
        Stmt del(db_, "DELETE FROM response_cache WHERE expires_at <= ?1");
        if (del.ok()) {
            del.i64(1, now);
            del.step();
        }
    }
    if (config_.max_entries > 0) {
        int64_t count = 0;
        {
            Stmt st(db_, "SELECT COUNT(*) FROM response_cache");
            if (st.ok() && st.step() == SQLITE_ROW) count = sqlite3_column_int64(st.get(), 0);
        }
        if (count > config_.max_entries) {
            // Least recently used first; among equals, the oldest row.
            Stmt del(db_,
                     "DELETE FROM response_cache WHERE key IN"
                     " (SELECT key FROM response_cache ORDER BY last_used ASC, rowid ASC LIMIT ?1)");
            if (del.ok()) {
                del.i64(1, count - config_.max_entries);
                del.step();
            }
        }
    }
    return true;
}

int64_t SqliteResponseCache::entry_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    Stmt st(db_, "SELECT COUNT(*) FROM response_cache");
    if (st.ok() && st.step() == SQLITE_ROW) return sqlite3_column_int64(st.get(), 0);
    return -1;
}

int64_t SqliteResponseCache::purge_expired() {
    std::lock_guard<std::mutex> lock(mutex_);
    Stmt del(db_, "DELETE FROM response_cache WHERE expires_at <= ?1");
    if (!del.ok()) return 0;
    del.i64(1, now_ms_());
    if (del.step() != SQLITE_DONE) return 0;
    return sqlite3_changes(db_);
}

}  // namespace pagoda::server
