#include "server/redis_response_cache.h"

#include <hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace pagoda::server {

namespace {

constexpr std::chrono::milliseconds kConnectTimeout{250};
constexpr std::chrono::milliseconds kCommandTimeout{500};
constexpr std::chrono::milliseconds kFirstBackoff{1000};
constexpr std::chrono::milliseconds kMaxBackoff{30000};
// Versioned so that a server reading another payload layout never sees these keys.
constexpr const char* kKeyPrefix = "pagoda:response-cache:v1:";

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

// A write to a connection Redis has closed raises SIGPIPE, which would end a process
// that does not ignore it (the desktop app, a test binary). Blocks it on this thread for
// the duration of a command and swallows one raised meanwhile.
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe, &old_);
    }
    ~SigpipeGuard() {
        if (!was_pending_) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                sigset_t pipe;
                sigemptyset(&pipe);
                sigaddset(&pipe, SIGPIPE);
                const timespec zero{0, 0};
                sigtimedwait(&pipe, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t old_{};
    bool was_pending_ = false;
};

struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

bool parse_int(const std::string& s, int lo, int hi, int& out) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    const int v = std::atoi(s.c_str());
    if (v < lo || v > hi) return false;
    out = v;
    return true;
}

}  // namespace

Result<RedisAddress> parse_redis_url(const std::string& url) {
    const std::string scheme = "redis://";
    if (url.rfind(scheme, 0) != 0)
        return invalid_argument("a Redis cache URL starts with redis:// (got '" + url + "')");
    std::string rest = url.substr(scheme.size());
    RedisAddress a;
    const size_t at = rest.rfind('@');
    if (at != std::string::npos) {
        const std::string auth = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const size_t colon = auth.find(':');
        if (colon == std::string::npos) {
            a.password = auth;
        } else {
            a.user = auth.substr(0, colon);
            a.password = auth.substr(colon + 1);
        }
    }
    const size_t slash = rest.find('/');
    if (slash != std::string::npos) {
        const std::string db = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
        if (!db.empty() && !parse_int(db, 0, 1 << 20, a.db)) {
            return invalid_argument("bad database number '" + db + "' in the Redis URL");
        }
    }
    std::string host = rest;
    if (!rest.empty() && rest.front() == '[') {  // [::1]:6379
        const size_t close = rest.find(']');
        if (close == std::string::npos) return invalid_argument("unclosed '[' in the Redis URL");
        host = rest.substr(1, close - 1);
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return invalid_argument("bad Redis URL '" + url + "'");
        if (!rest.empty() && !parse_int(rest.substr(1), 1, 65535, a.port)) {
            return invalid_argument("bad port in the Redis URL '" + url + "'");
        }
    } else {
        const size_t colon = rest.find(':');
        if (colon != std::string::npos) {
            host = rest.substr(0, colon);
            if (!parse_int(rest.substr(colon + 1), 1, 65535, a.port)) {
                return invalid_argument("bad port in the Redis URL '" + url + "'");
            }
        }
    }
    if (!host.empty()) a.host = host;
    return a;
}

Result<std::unique_ptr<RedisResponseCache>> RedisResponseCache::open(const std::string& url,
                                                                     const ResponseCacheConfig& config) {
    auto addr = parse_redis_url(url);
    if (!addr) return addr.status();
    std::unique_ptr<RedisResponseCache> c(new RedisResponseCache());
    c->addr_ = addr.value();
    c->config_ = config;
    std::lock_guard<std::mutex> lock(c->mutex_);
    c->ensure_connected_locked();  // down now: logged, retried later
    return c;
}

RedisResponseCache::~RedisResponseCache() {
    if (ctx_) redisFree(ctx_);
}

std::string RedisResponseCache::where() const { return addr_.host + ":" + std::to_string(addr_.port); }

std::string RedisResponseCache::describe() const { return "redis://" + where() + "/" + std::to_string(addr_.db); }

void RedisResponseCache::drop_locked(const std::string& why) {
    if (ctx_) {
        redisFree(ctx_);
        ctx_ = nullptr;
    }
    connected_ = false;
    backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    next_attempt_ = Clock::now() + backoff_;
    if (!down_logged_) {
        down_logged_ = true;
        std::fprintf(stderr, "response cache: redis at %s unreachable (%s), serving without cache\n", where().c_str(),
                     why.c_str());
        std::fflush(stderr);
    }
}

bool RedisResponseCache::ensure_connected_locked() {
    if (ctx_) return true;
    if (Clock::now() < next_attempt_) return false;
    const timeval ct = to_timeval(kConnectTimeout);
    redisContext* ctx = redisConnectWithTimeout(addr_.host.c_str(), addr_.port, ct);
    if (!ctx) {
        drop_locked("out of memory");
        return false;
    }
    if (ctx->err) {
        const std::string why = ctx->errstr;
        redisFree(ctx);
        drop_locked(why);
        return false;
    }
    ctx_ = ctx;
    redisSetTimeout(ctx_, to_timeval(kCommandTimeout));
    SigpipeGuard guard;
    if (!addr_.password.empty()) {
        Reply r(static_cast<redisReply*>(
            addr_.user.empty() ? redisCommand(ctx_, "AUTH %s", addr_.password.c_str())
                               : redisCommand(ctx_, "AUTH %s %s", addr_.user.c_str(), addr_.password.c_str())));
        if (!r || r->type == REDIS_REPLY_ERROR) {
            drop_locked(r ? std::string("AUTH: ") + r->str : std::string(ctx_->errstr));
            return false;
        }
    }
    if (addr_.db != 0) {
        Reply r(static_cast<redisReply*>(redisCommand(ctx_, "SELECT %d", addr_.db)));
        if (!r || r->type == REDIS_REPLY_ERROR) {
            drop_locked(r ? std::string("SELECT: ") + r->str : std::string(ctx_->errstr));
            return false;
        }
    }
    connected_ = true;
    backoff_ = std::chrono::milliseconds(0);
    if (down_logged_) {
        down_logged_ = false;
        std::fprintf(stderr, "response cache: redis at %s reachable again\n", where().c_str());
        std::fflush(stderr);
    }
    return true;
}

redisReply* RedisResponseCache::command_locked(const std::function<void*(redisContext*)>& issue) {
    const bool was_connected = ctx_ != nullptr;
    if (!ensure_connected_locked()) return nullptr;
    for (int attempt = 0;; ++attempt) {
        SigpipeGuard guard;
        if (void* r = issue(ctx_)) return static_cast<redisReply*>(r);
        const std::string why = ctx_->errstr[0] ? ctx_->errstr : "no reply";
        if (attempt > 0 || !was_connected) {
            drop_locked(why);
            return nullptr;
        }
        // The connection was good until now (Redis restarted): reconnect at once, retry once.
        redisFree(ctx_);
        ctx_ = nullptr;
        connected_ = false;
        if (!ensure_connected_locked()) return nullptr;  // down: logged there
    }
}

CacheLookupResult RedisResponseCache::lookup(const std::string& key) {
    CacheLookupResult result;
    result.outcome = CacheLookup::unavailable;
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string k = kKeyPrefix + key;
    Reply r(command_locked([&](redisContext* c) { return redisCommand(c, "GET %b", k.data(), k.size()); }));
    if (!r) return result;
    if (r->type == REDIS_REPLY_STRING) {
        result.outcome = CacheLookup::hit;
        result.value.assign(r->str, r->len);
    } else if (r->type == REDIS_REPLY_NIL) {
        result.outcome = CacheLookup::miss;
    }
    return result;  // an error reply (a wrong-type key): unavailable for this request only
}

bool RedisResponseCache::store(const std::string& key, const std::string& value) {
    if (value.size() > config_.max_entry_bytes || config_.ttl_s <= 0) {
        counters().store_failures++;
        return false;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string k = kKeyPrefix + key;
    const std::string ttl = std::to_string(config_.ttl_s);
    Reply r(command_locked([&](redisContext* c) {
        return redisCommand(c, "SET %b %b EX %s", k.data(), k.size(), value.data(), value.size(), ttl.c_str());
    }));
    if (!r) {
        counters().store_failures++;
        return false;
    }
    if (r->type == REDIS_REPLY_ERROR) {  // e.g. OOM under maxmemory with a noeviction policy
        counters().store_failures++;
        return false;
    }
    counters().stores++;
    return true;
}

}  // namespace pagoda::server
