// The response cache through the HTTP API on stories260K (skipped without ../shared):
// a deterministic request twice is a miss then a hit with identical content, streamed or
// not; seeded sampling hits, unseeded never does; and with Redis (a redis-server the test
// starts on a loopback port; skipped when none is installed) two replicas with their own
// engines share answers, and Redis going away leaves requests working without a cache.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "server/redis_response_cache.h"
#include "server/sqlite_response_cache.h"
#include "server_test_fixture.h"

namespace pagoda::server::test {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

std::unique_ptr<RunningServer> stories_server(std::shared_ptr<ResponseCache> cache) {
    auto models = std::make_shared<ModelManager>(cpu_factory(test_engine_config()), ModelManagerConfig{});
    EXPECT_TRUE(models->add_file(kStoriesPath).is_ok());
    EXPECT_TRUE(models->preload("stories260K").is_ok());
    ServerConfig config;
    config.api.response_cache = std::move(cache);
    return start_server(models, config);
}

struct Answer {
    int status = 0;
    std::string cache;  // x-pagoda-cache, "" when absent
    Json body;          // non-streamed: the body; streamed: the chunks
    std::string text;   // choice 0's text (streamed: the concatenation)
    std::string finish;
    size_t n_chunks = 0;
};

std::string header(const RawResponse& r, const std::string& name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
}

Answer post(int port, const std::string& path, const std::string& body) {
    const RawResponse r = http_request(port, "POST", path, body);
    Answer a;
    a.status = r.status;
    a.cache = header(r, "x-pagoda-cache");
    a.body = Json::parse(r.body, nullptr, false);
    EXPECT_FALSE(a.body.is_discarded()) << r.body;
    if (a.status == 200 && !a.body.is_discarded()) {
        const Json& c = a.body["choices"][0];
        a.text = c.contains("message") ? c["message"]["content"].get<std::string>() : c["text"].get<std::string>();
        a.finish = c["finish_reason"].get<std::string>();
    }
    return a;
}

Answer post(int port, const std::string& path, const Json& body) { return post(port, path, body.dump()); }

Answer stream(int port, const std::string& path, Json body) {
    body["stream"] = true;
    const RawResponse r = http_request(port, "POST", path, body.dump());
    Answer a;
    a.status = r.status;
    a.cache = header(r, "x-pagoda-cache");
    EXPECT_EQ(header(r, "content-type").rfind("text/event-stream", 0), 0u);
    bool framing = false;
    auto payloads = sse_payloads(r.body, &framing);
    EXPECT_TRUE(framing) << r.body;
    EXPECT_FALSE(payloads.empty());
    if (payloads.empty()) return a;
    EXPECT_EQ(payloads.back(), "[DONE]");
    a.body = Json::array();
    for (size_t i = 0; i + 1 < payloads.size(); ++i) {
        Json j = Json::parse(payloads[i], nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << payloads[i];
        if (j.is_discarded()) continue;
        if (!j["choices"].empty()) {  // the usage chunk has none
            const Json& c = j["choices"][0];
            if (c.contains("delta") && c["delta"].contains("content"))
                a.text += c["delta"]["content"].get<std::string>();
            if (c.contains("text")) a.text += c["text"].get<std::string>();
            if (!c["finish_reason"].is_null()) a.finish = c["finish_reason"].get<std::string>();
        }
        a.body.push_back(std::move(j));
    }
    a.n_chunks = a.body.size();
    return a;
}

// The response without what differs between any two answers (id, created).
Json content(Json body) {
    body.erase("id");
    body.erase("created");
    return body;
}

class CacheServer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!fs::exists(kStoriesPath)) return;
        dir_ = fs::temp_directory_path() / ("pagoda-rc-http-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        auto cache = SqliteResponseCache::open((dir_ / "cache.db").string(), {});
        ASSERT_TRUE(cache) << cache.status().to_string();
        cache_ = std::shared_ptr<ResponseCache>(std::move(cache.value()));
        server_ = stories_server(cache_).release();
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        cache_.reset();
        fs::remove_all(dir_);
    }
    void SetUp() override {
        if (!fs::exists(kStoriesPath)) GTEST_SKIP() << "needs " << kStoriesPath << " (shared/README.md)";
        ASSERT_NE(server_, nullptr);
    }
    static int port() { return server_->port(); }

    static inline RunningServer* server_ = nullptr;
    static inline std::shared_ptr<ResponseCache> cache_;
    static inline fs::path dir_;
};

TEST_F(CacheServer, AGreedyRequestMissesThenHitsWithIdenticalContent) {
    const Json body = {
        {"model", "stories260K"}, {"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 24}};
    const Answer first = post(port(), "/v1/completions", body);
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.cache, "miss");
    const Answer second = post(port(), "/v1/completions", body);
    ASSERT_EQ(second.status, 200);
    EXPECT_EQ(second.cache, "hit");
    EXPECT_EQ(content(second.body), content(first.body));
    EXPECT_NE(second.body["id"], first.body["id"]);  // a new response, the same content
    EXPECT_EQ(second.text.substr(0, 35), ", there was a little girl named Lil");
    EXPECT_EQ(second.body["usage"]["completion_tokens"], 24);
}

TEST_F(CacheServer, FieldOrderAndSpelledOutDefaultsStillHit) {
    const Answer first = post(port(), "/v1/chat/completions",
                              std::string(R"({"model":"stories260K","messages":[{"role":"user","content":"A cat"}],)") +
                                  R"("temperature":0,"max_tokens":12})");
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.cache, "miss");
    const Answer second = post(port(), "/v1/chat/completions",
                               std::string(R"({"max_tokens":12,"top_p":1,"n":1,"temperature":0.0,)") +
                                   R"("messages":[{"content":"A cat","role":"user"}],"model":"stories260K"})");
    EXPECT_EQ(second.cache, "hit");
    EXPECT_EQ(content(second.body), content(first.body));
    // Any change to what decides the output is another entry.
    const Answer longer =
        post(port(), "/v1/chat/completions",
             std::string(R"({"model":"stories260K","messages":[{"role":"user","content":"A cat"}],)") +
                 R"("temperature":0,"max_tokens":13})");
    EXPECT_EQ(longer.cache, "miss");
    const Answer other = post(port(), "/v1/chat/completions",
                              std::string(R"({"model":"stories260K","messages":[{"role":"user","content":"A dog"}],)") +
                                  R"("temperature":0,"max_tokens":12})");
    EXPECT_EQ(other.cache, "miss");
}

TEST_F(CacheServer, AStreamedHitStreamsTheSameText) {
    const Json body = {{"model", "stories260K"},
                       {"messages", Json::array({{{"role", "user"}, {"content", "The sun"}}})},
                       {"temperature", 0},
                       {"max_tokens", 40}};
    const Answer live = stream(port(), "/v1/chat/completions", body);
    ASSERT_EQ(live.status, 200);
    EXPECT_EQ(live.cache, "miss");
    ASSERT_FALSE(live.text.empty());
    const Answer cached = stream(port(), "/v1/chat/completions", body);
    ASSERT_EQ(cached.status, 200);
    EXPECT_EQ(cached.cache, "hit");
    EXPECT_EQ(cached.text, live.text);
    EXPECT_EQ(cached.finish, live.finish);
    // Still a stream: the role chunk, several content chunks, the finish chunk.
    EXPECT_GE(cached.n_chunks, 4u);
    EXPECT_EQ(cached.body[0]["object"], "chat.completion.chunk");
    EXPECT_EQ(cached.body[0]["choices"][0]["delta"]["role"], "assistant");
    // The same entry answers the request unstreamed.
    const Answer whole = post(port(), "/v1/chat/completions", body);
    EXPECT_EQ(whole.cache, "hit");
    EXPECT_EQ(whole.text, live.text);
    EXPECT_EQ(whole.finish, live.finish);
}

TEST_F(CacheServer, AnUnstreamedAnswerIsReplayedAsAStreamWithUsage) {
    const Json body = {{"model", "stories260K"}, {"prompt", "Tom had a"}, {"temperature", 0}, {"max_tokens", 30}};
    const Answer first = post(port(), "/v1/completions", body);
    EXPECT_EQ(first.cache, "miss");
    Json streamed = body;
    streamed["stream_options"] = {{"include_usage", true}};
    const Answer cached = stream(port(), "/v1/completions", streamed);
    EXPECT_EQ(cached.cache, "hit");
    EXPECT_EQ(cached.text, first.text);
    EXPECT_EQ(cached.finish, first.finish);
    ASSERT_FALSE(cached.body.empty());
    EXPECT_EQ(cached.body.back()["usage"], first.body["usage"]);
}

TEST_F(CacheServer, SeededSamplingHitsWithTheSameChoices) {
    const Json body = {{"model", "stories260K"}, {"prompt", "Lily saw"}, {"temperature", 1.0}, {"seed", 1234}, {"n", 3},
                       {"max_tokens", 20}};
    const Answer first = post(port(), "/v1/completions", body);
    EXPECT_EQ(first.cache, "miss");
    const Answer second = post(port(), "/v1/completions", body);
    EXPECT_EQ(second.cache, "hit");
    ASSERT_EQ(second.body["choices"].size(), 3u);
    EXPECT_EQ(content(second.body), content(first.body));
    Json other_seed = body;
    other_seed["seed"] = 1235;
    EXPECT_EQ(post(port(), "/v1/completions", other_seed).cache, "miss");
}

TEST_F(CacheServer, UnseededSamplingNeverHits) {
    const int64_t hits_before = cache_->counters().hits.load();
    const Json body = {{"model", "stories260K"}, {"prompt", "Lily saw"}, {"temperature", 1.0}, {"max_tokens", 8}};
    for (int i = 0; i < 3; ++i) {
        const Answer a = post(port(), "/v1/completions", body);
        EXPECT_EQ(a.status, 200);
        EXPECT_EQ(a.cache, "bypass");
    }
    Json defaults = {{"model", "stories260K"},
                     {"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})},
                     {"max_tokens", 4}};  // OpenAI's default temperature is 1
    EXPECT_EQ(post(port(), "/v1/chat/completions", defaults).cache, "bypass");
    EXPECT_EQ(post(port(), "/v1/chat/completions", defaults).cache, "bypass");
    EXPECT_EQ(cache_->counters().hits.load(), hits_before);
}

TEST_F(CacheServer, LogprobsAreCachedExactly) {
    const Json body = {{"model", "stories260K"}, {"messages", Json::array({{{"role", "user"}, {"content", "Once"}}})},
                       {"temperature", 0},       {"max_tokens", 6},
                       {"logprobs", true},       {"top_logprobs", 3}};
    const Answer first = post(port(), "/v1/chat/completions", body);
    EXPECT_EQ(first.cache, "miss");
    const Answer second = post(port(), "/v1/chat/completions", body);
    EXPECT_EQ(second.cache, "hit");
    ASSERT_EQ(second.body["choices"][0]["logprobs"]["content"].size(), 6u);
    EXPECT_EQ(second.body["choices"][0]["logprobs"], first.body["choices"][0]["logprobs"]);
}

TEST_F(CacheServer, MetricsCountHitsMissesAndBypasses) {
    const Json body = {{"model", "stories260K"}, {"prompt", "Ben"}, {"temperature", 0}, {"max_tokens", 4}};
    post(port(), "/v1/completions", body);
    post(port(), "/v1/completions", body);
    const RawResponse m = http_request(port(), "GET", "/metrics");
    ASSERT_EQ(m.status, 200);
    for (const char* line :
         {"pagoda_response_cache_requests_total{result=\"hit\"} ",
          "pagoda_response_cache_requests_total{result=\"miss\"} ",
          "pagoda_response_cache_requests_total{result=\"bypass\"} ", "pagoda_response_cache_stores_total "}) {
        EXPECT_NE(m.body.find(line), std::string::npos) << line << "\n" << m.body;
    }
    EXPECT_GE(cache_->counters().hits.load(), 1);
    EXPECT_GE(cache_->counters().stores.load(), 1);
}

TEST(CacheServerOff, NoCacheNoHeader) {
    if (!fs::exists(kStoriesPath)) GTEST_SKIP() << "needs " << kStoriesPath << " (shared/README.md)";
    auto server = stories_server(nullptr);
    ASSERT_TRUE(server);
    const Json body = {{"model", "stories260K"}, {"prompt", "Ben"}, {"temperature", 0}, {"max_tokens", 4}};
    for (int i = 0; i < 2; ++i) {
        const Answer a = post(server->port(), "/v1/completions", body);
        EXPECT_EQ(a.status, 200);
        EXPECT_EQ(a.cache, "");
    }
}

// ---- Redis: two replicas sharing one cache ----

int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
}

bool redis_answers(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        const char ping[] = "PING\r\n";
        char buf[16] = {};
        ok = ::send(fd, ping, sizeof(ping) - 1, MSG_NOSIGNAL) == sizeof(ping) - 1 && ::recv(fd, buf, 7, 0) >= 5 &&
             std::string(buf, 5) == "+PONG";
    }
    ::close(fd);
    return ok;
}

bool have_redis_server() { return std::system("command -v redis-server >/dev/null 2>&1") == 0; }

// A private redis-server: no persistence, loopback only, killed with the test process.
class RedisProcess {
public:
    // port 0: a free one.
    bool start(int port_wanted = 0) {
        port_ = port_wanted > 0 ? port_wanted : free_loopback_port();
        if (port_ <= 0) return false;
        const std::string port = std::to_string(port_);
        std::vector<std::string> args = {
            "redis-server", "--port", port,          "--bind", "127.0.0.1",   "--save", "",
            "--appendonly", "no",     "--databases", "2",      "--maxmemory", "64mb",   "--maxmemory-policy",
            "allkeys-lru"};
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0) return false;
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test
            const int null = ::open("/dev/null", O_WRONLY);
            if (null >= 0) {
                ::dup2(null, 1);
                ::dup2(null, 2);
            }
            ::execvp("redis-server", argv.data());
            ::_exit(127);
        }
        for (int i = 0; i < 500; ++i) {  // up to 5 s
            if (redis_answers(port_)) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    ~RedisProcess() { stop(); }
    int port() const { return port_; }

private:
    pid_t pid_ = -1;
    int port_ = -1;
};

class RedisReplicas : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(kStoriesPath)) GTEST_SKIP() << "needs " << kStoriesPath << " (shared/README.md)";
        if (!have_redis_server()) {
            GTEST_SKIP() << "needs redis-server (Debian package redis-server, installed by scripts/setup.sh)";
        }
        ASSERT_TRUE(redis_.start()) << "redis-server did not start";
        url_ = "redis://127.0.0.1:" + std::to_string(redis_.port()) + "/1";
        for (auto* side : {&a_, &b_}) {
            auto cache = RedisResponseCache::open(url_, {});
            ASSERT_TRUE(cache) << cache.status().to_string();
            ASSERT_TRUE(cache.value()->connected());
            side->cache = std::shared_ptr<RedisResponseCache>(std::move(cache.value()));
            side->server = stories_server(side->cache);
            ASSERT_TRUE(side->server);
        }
    }
    void TearDown() override {
        a_.server.reset();
        b_.server.reset();
        redis_.stop();
    }

    struct Replica {
        std::shared_ptr<RedisResponseCache> cache;
        std::unique_ptr<RunningServer> server;
        int port() const { return server->port(); }
    };
    RedisProcess redis_;
    std::string url_;
    Replica a_, b_;
};

TEST_F(RedisReplicas, ReplicaBHitsWhatReplicaAAnswered) {
    const Json body = {{"model", "stories260K"},
                       {"messages", Json::array({{{"role", "user"}, {"content", "Once upon a time"}}})},
                       {"temperature", 0},
                       {"max_tokens", 32}};
    const Answer a = post(a_.port(), "/v1/chat/completions", body);
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(a.cache, "miss");
    EXPECT_EQ(a_.cache->counters().stores.load(), 1);
    const Answer b = post(b_.port(), "/v1/chat/completions", body);
    ASSERT_EQ(b.status, 200);
    EXPECT_EQ(b.cache, "hit");
    EXPECT_EQ(content(b.body), content(a.body));
    EXPECT_EQ(b_.cache->counters().hits.load(), 1);
    // Streamed from B too: the same text as A generated.
    const Answer bs = stream(b_.port(), "/v1/chat/completions", body);
    EXPECT_EQ(bs.cache, "hit");
    EXPECT_EQ(bs.text, a.text);
    EXPECT_GE(bs.n_chunks, 3u);

    // Seeded sampling is shared as well.
    const Json seeded = {
        {"model", "stories260K"}, {"prompt", "The dog"}, {"temperature", 0.8}, {"seed", 7}, {"max_tokens", 16}};
    const Answer sa = post(a_.port(), "/v1/completions", seeded);
    EXPECT_EQ(sa.cache, "miss");
    const Answer sb = post(b_.port(), "/v1/completions", seeded);
    EXPECT_EQ(sb.cache, "hit");
    EXPECT_EQ(content(sb.body), content(sa.body));
}

TEST_F(RedisReplicas, ANonDeterministicRequestNeverHits) {
    const Json body = {{"model", "stories260K"}, {"prompt", "The dog"}, {"temperature", 0.8}, {"max_tokens", 8}};
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(post(a_.port(), "/v1/completions", body).cache, "bypass");
        EXPECT_EQ(post(b_.port(), "/v1/completions", body).cache, "bypass");
    }
    EXPECT_EQ(a_.cache->counters().stores.load(), 0);
    EXPECT_EQ(b_.cache->counters().hits.load(), 0);
}

TEST_F(RedisReplicas, RedisGoingAwayDegradesToNoCacheWithOneLogLine) {
    const Json body = {{"model", "stories260K"}, {"prompt", "One day"}, {"temperature", 0}, {"max_tokens", 12}};
    const Answer before = post(a_.port(), "/v1/completions", body);
    ASSERT_EQ(before.cache, "miss");
    ASSERT_EQ(post(a_.port(), "/v1/completions", body).cache, "hit");

    ::testing::internal::CaptureStderr();
    redis_.stop();
    std::vector<Answer> answers;
    for (int i = 0; i < 3; ++i) answers.push_back(post(a_.port(), "/v1/completions", body));
    answers.push_back(stream(a_.port(), "/v1/completions", body));
    const std::string log = ::testing::internal::GetCapturedStderr();

    for (const Answer& a : answers) {
        EXPECT_EQ(a.status, 200);
        EXPECT_TRUE(a.cache == "bypass" || a.cache == "miss") << a.cache;
        EXPECT_EQ(a.text, before.text);  // generated afresh: greedy gives the same text
    }
    const std::string line = "response cache: redis at 127.0.0.1:" + std::to_string(redis_.port()) + " unreachable";
    const size_t first = log.find(line);
    EXPECT_NE(first, std::string::npos) << log;
    EXPECT_EQ(first, log.rfind(line)) << "more than one line:\n" << log;
    EXPECT_FALSE(a_.cache->connected());

    // Redis back on the same port: the next attempt after the backoff (1 s) reconnects.
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(redis_.start(redis_.port()));
    std::string header_after;
    for (int i = 0; i < 100 && header_after != "miss"; ++i) {  // bounded: up to ~10 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const Answer a = post(a_.port(), "/v1/completions", body);
        EXPECT_EQ(a.status, 200);
        header_after = a.cache;
    }
    const std::string log2 = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(header_after, "miss");  // the fresh Redis is empty
    EXPECT_NE(log2.find("response cache: redis at 127.0.0.1:" + std::to_string(redis_.port()) + " reachable again"),
              std::string::npos)
        << log2;
    EXPECT_EQ(post(b_.port(), "/v1/completions", body).cache, "hit");  // stored again, shared again
}

}  // namespace
}  // namespace pagoda::server::test
