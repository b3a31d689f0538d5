// The response cache in one SQLite file (sqlite3 C API, WAL): the default of
// `pagoda serve` on one machine. Several server processes may share the file (WAL,
// busy timeout); within a process one connection serves every thread under a mutex,
// which is plenty for lookups that take microseconds next to a generation.
//
// Limits: an entry expires ttl_s after it was stored (expired rows are skipped at once
// and deleted in passing); beyond max_entries the least recently used rows go.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/response_cache.h"

struct sqlite3;

namespace pagoda::server {

class SqliteResponseCache : public ResponseCache {
public:
    // `now_ms`: the clock (unix milliseconds); tests pass their own.
    static Result<std::unique_ptr<SqliteResponseCache>> open(const std::string& path, const ResponseCacheConfig& config,
                                                             std::function<int64_t()> now_ms = {});
    ~SqliteResponseCache() override;

    CacheLookupResult lookup(const std::string& key) override;
    bool store(const std::string& key, const std::string& value) override;
    std::string describe() const override { return "sqlite:" + path_; }
    int64_t entry_count() override;

    // Deletes expired rows; returns how many.
    int64_t purge_expired();

private:
    SqliteResponseCache() = default;
    bool exec(const char* sql);
    void log_failure(const char* what);

    std::string path_;
    ResponseCacheConfig config_;
    std::function<int64_t()> now_ms_;
    std::mutex mutex_;
    sqlite3* db_ = nullptr;
    int64_t stores_since_purge_ = 0;
    bool failure_logged_ = false;
};

}  // namespace pagoda::server
