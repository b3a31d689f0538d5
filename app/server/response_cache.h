// Response cache for deterministic requests (greedy, or an explicit seed): the engine's
// complete output for a request, stored under a hash of the request's canonical form
// (response_cache_key.h), so the same request is answered again without generating.
//
// What is stored is the generation, not a response body: every step's text, token ids
// and logprobs per sample, the finish reasons and the usage (CachedGeneration). A hit is
// replayed through a fresh ResponseAssembler, so it can be answered streamed or not,
// with a new id, whatever way the first answer went out.
//
// Backends: SQLite (one machine, the default of `pagoda serve`) and Redis (replicas
// share it). A backend that fails degrades to "no cache": lookups miss, stores are
// dropped, and requests never fail because of the cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/request.h"
#include "pagoda/status.h"

namespace pagoda::server {

// One engine step's news for one sample.
struct CachedDelta {
    std::string text;
    std::vector<TokenId> token_ids;
    std::vector<SampledLogprobs> logprobs;
};

struct CachedSample {
    std::vector<CachedDelta> deltas;
    std::optional<FinishReason> finish;
};

// One engine request (one prompt) of an API request.
struct CachedSlot {
    std::vector<CachedSample> samples;  // n
    FinishReason reason = FinishReason::stop;
    std::vector<FinishReason> sample_reasons;
    RequestUsage usage;
};

struct CachedGeneration {
    std::vector<CachedSlot> request_slots;  // not "slots": a Qt macro

    // nullopt when the output cannot be stored faithfully (text that is not UTF-8).
    std::optional<std::string> serialize() const;
    // The payload is untrusted (a shared Redis): anything malformed gives nullopt.
    static std::optional<CachedGeneration> parse(std::string_view payload);
};

enum class CacheLookup { hit, miss, unavailable };

struct CacheLookupResult {
    CacheLookup outcome = CacheLookup::miss;
    std::string value;  // hit: the stored payload
};

struct CacheCounters {
    std::atomic<int64_t> hits{0};
    std::atomic<int64_t> misses{0};
    std::atomic<int64_t> bypassed{0};  // not cacheable, or the backend unavailable
    std::atomic<int64_t> stores{0};
    std::atomic<int64_t> store_failures{0};  // refused (too large) or the backend failed
};

struct ResponseCacheConfig {
    int64_t ttl_s = 3600;               // an entry lives this long after it is stored
    int64_t max_entries = 10000;        // SQLite: least recently used beyond it go; 0: no limit
    size_t max_entry_bytes = 4u << 20;  // larger payloads are not stored
};

class ResponseCache {
public:
    virtual ~ResponseCache() = default;

    // Thread-safe. `key` is the hex digest from response_cache_key.h.
    virtual CacheLookupResult lookup(const std::string& key) = 0;
    // Thread-safe; false when not stored (too large, backend down). Never throws.
    virtual bool store(const std::string& key, const std::string& value) = 0;
    // "sqlite:/path/cache.db", "redis://host:port/0": for logs.
    virtual std::string describe() const = 0;
    // Rows in the cache, or -1 when unknown (Redis).
    virtual int64_t entry_count() { return -1; }

    CacheCounters& counters() { return counters_; }
    const CacheCounters& counters() const { return counters_; }
    // Prometheus text lines (pagoda_response_cache_*), appended to /metrics.
    std::string render_metrics() const;

private:
    CacheCounters counters_;
};

// `spec`: "sqlite" (default file in the data dir), "sqlite:PATH", or
// "redis://[:password@]host[:port][/db]". "off" is the caller's business (no cache).
// A Redis that is down at start is not an error: it is retried later.
Result<std::shared_ptr<ResponseCache>> open_response_cache(const std::string& spec, const ResponseCacheConfig& config);

// $XDG_DATA_HOME/pagoda/response-cache.db, or ~/.local/share/pagoda/response-cache.db.
Result<std::string> default_response_cache_path();

}  // namespace pagoda::server
