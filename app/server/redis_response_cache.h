// The response cache in Redis (hiredis, synchronous): replicas of `pagoda serve` given the
// same --cache redis://... share their answers. Entries are SET with EX ttl_s; the size
// limit is Redis's own (maxmemory with allkeys-lru: installer/redis/pagoda-cache.conf),
// and payloads over max_entry_bytes are never sent.
//
// Redis going away is not an error for anyone's request: the first failure logs one line
// ("response cache: redis at HOST:PORT unreachable ..."), lookups then answer
// `unavailable` at once without touching the network, and a reconnect is tried after a
// backoff (1 s doubling to 30 s); success logs one line too. A connection that breaks
// under a command (Redis restarted) is reopened at once and the command retried once, so
// a quick restart costs no request its cache.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/response_cache.h"

struct redisContext;
struct redisReply;

namespace pagoda::server {

struct RedisAddress {
    std::string host = "127.0.0.1";
    int port = 6379;
    int db = 0;
    std::string user;      // Redis 6 ACL user, with password
    std::string password;  // "" : no AUTH
};

// "redis://[[user]:password@]host[:port][/db]".
Result<RedisAddress> parse_redis_url(const std::string& url);

class RedisResponseCache : public ResponseCache {
public:
    // Fails only on a malformed URL: an unreachable server is retried later.
    static Result<std::unique_ptr<RedisResponseCache>> open(const std::string& url, const ResponseCacheConfig& config);
    ~RedisResponseCache() override;

    CacheLookupResult lookup(const std::string& key) override;
    bool store(const std::string& key, const std::string& value) override;
    std::string describe() const override;

    bool connected() const { return connected_.load(); }

private:
    RedisAddress addr_;
    ResponseCacheConfig config_;

    using Clock = std::chrono::steady_clock;
    bool ensure_connected_locked();
    // Issues a command; a connection found broken (Redis restarted) is reopened and the
    // command retried once before Redis counts as down. Null: no reply.
    redisReply* command_locked(const std::function<void*(redisContext*)>& issue);
    void drop_locked(const std::string& why);
    std::string where() const;

    std::mutex mutex_;
    redisContext* ctx_ = nullptr;
    std::atomic<bool> connected_{false};
    bool down_logged_ = false;
    Clock::time_point next_attempt_{};
    std::chrono::milliseconds backoff_{0};
};

}  // namespace pagoda::server
