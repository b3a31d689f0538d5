// The response cache without a server: which requests are cacheable, the canonical key
// (field order and defaults irrelevant, any output-relevant change -> a new key), the
// payload round trip (untrusted payloads refused), SQLite TTL expiry and LRU eviction
// on a test clock, recording and replaying a generation, and a Redis that is not there.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "grammar/grammar.h"
#include "server/openai_request.h"
#include "server/prompt_builder.h"
#include "server/redis_response_cache.h"
#include "server/response_cache.h"
#include "server/response_cache_key.h"
#include "server/response_cache_replay.h"
#include "server/sqlite_response_cache.h"

namespace pagoda::server {
namespace {

namespace fs = std::filesystem;

Request greedy_request(std::vector<TokenId> prompt = {1, 2, 3}) {
    Request r;
    r.prompt = std::move(prompt);
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = 16;
    return r;
}

std::string key_of(const std::vector<Request>& reqs, const std::string& kind = "chat", const std::string& model = "m") {
    auto c = canonical_cache_request(kind, model, {}, reqs);
    return c ? response_cache_key(*c) : std::string();
}

// A chat body through the real parser into engine sampling parameters, as the server does.
SamplingParams sampling_of(const std::string& body) {
    auto r = parse_chat_completion_request(body);
    EXPECT_TRUE(r) << body;
    if (!r) return {};
    return to_sampling_params(r.value().sampling, -1, r.value().logprobs, r.value().top_logprobs);
}

TEST(ResponseCacheKey, DeterministicOnlyWhenGreedyOrSeeded) {
    SamplingParams s;
    EXPECT_FALSE(is_deterministic(s));  // OpenAI default: temperature 1, random seed
    s.temperature = 0.0f;
    EXPECT_TRUE(is_deterministic(s));
    s.temperature = 0.7f;
    s.n = 4;
    EXPECT_FALSE(is_deterministic(s));
    s.seed = 42;
    EXPECT_TRUE(is_deterministic(s));

    Request r = greedy_request();
    r.sampling.temperature = 0.8f;
    EXPECT_FALSE(canonical_cache_request("chat", "m", {}, {r}));
    r.sampling.seed = 1;
    EXPECT_TRUE(canonical_cache_request("chat", "m", {}, {r}));
    // One non-deterministic prompt of several makes the whole request uncacheable.
    Request greedy = greedy_request();
    Request random = greedy_request();
    random.sampling.temperature = 1.0f;
    EXPECT_FALSE(canonical_cache_request("completion", "m", {}, {greedy, random}));
    Request logits = greedy_request();
    logits.return_prompt_logits = true;
    EXPECT_FALSE(canonical_cache_request("completion", "m", {}, {logits}));
    EXPECT_FALSE(canonical_cache_request("completion", "m", {}, {}));
}

TEST(ResponseCacheKey, FieldOrderAndSpelledOutDefaultsDoNotChangeTheKey) {
    const std::string a = R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":8,
                              "stop":["x"],"logit_bias":{"5":1.5,"7":-2}})";
    const std::string b = R"({"logit_bias":{"7":-2,"5":1.5},"stop":["x"],"max_tokens":8,"top_p":1,"n":1,
                              "temperature":0.0,"stream":true,"messages":[{"content":"hi","role":"user"}],"model":"m"})";
    Request ra = greedy_request();
    ra.sampling = sampling_of(a);
    Request rb = greedy_request();
    rb.sampling = sampling_of(b);
    const std::string ka = key_of({ra});
    ASSERT_EQ(ka.size(), 64u);  // hex SHA-256
    EXPECT_EQ(ka, key_of({rb}));
    // Every temperature <= 0 is the same argmax.
    Request neg = ra;
    neg.sampling.temperature = -1.0f;
    EXPECT_EQ(ka, key_of({neg}));
}

TEST(ResponseCacheKey, EveryOutputRelevantChangeGivesANewKey) {
    Request base = greedy_request();
    base.sampling.seed = 9;
    base.sampling.temperature = 0.5f;
    const std::string k0 = key_of({base});
    ASSERT_FALSE(k0.empty());
    std::vector<std::pair<std::string, Request>> variants;
    auto add = [&](const std::string& what, auto change) {
        Request r = base;
        change(r);
        variants.emplace_back(what, std::move(r));
    };
    add("prompt", [](Request& r) { r.prompt.push_back(4); });
    add("temperature", [](Request& r) { r.sampling.temperature = 0.6f; });
    add("top_k", [](Request& r) { r.sampling.top_k = 5; });
    add("top_p", [](Request& r) { r.sampling.top_p = 0.9f; });
    add("min_p", [](Request& r) { r.sampling.min_p = 0.1f; });
    add("repetition_penalty", [](Request& r) { r.sampling.repetition_penalty = 1.1f; });
    add("presence_penalty", [](Request& r) { r.sampling.presence_penalty = 0.5f; });
    add("frequency_penalty", [](Request& r) { r.sampling.frequency_penalty = 0.5f; });
    add("logit_bias", [](Request& r) { r.sampling.logit_bias = {{3, 1.0f}}; });
    add("seed", [](Request& r) { r.sampling.seed = 10; });
    add("max_tokens", [](Request& r) { r.sampling.max_tokens = 17; });
    add("stop_token_ids", [](Request& r) { r.sampling.stop_token_ids = {2}; });
    add("stop", [](Request& r) { r.sampling.stop = {"."}; });
    add("ignore_eos", [](Request& r) { r.sampling.ignore_eos = true; });
    add("n", [](Request& r) { r.sampling.n = 2; });
    add("logprobs", [](Request& r) { r.sampling.logprobs = true; });
    add("top_logprobs", [](Request& r) {
        r.sampling.logprobs = true;
        r.sampling.top_logprobs = 3;
    });
    add("adapter_id", [](Request& r) { r.adapter_id = 2; });
    add("adapters", [](Request& r) { r.adapters = {AdapterRef{1, 0.5f}}; });
    add("grammar", [](Request& r) { r.sampling.grammar = *grammar::compile_gbnf(R"(root ::= "a")"); });
    add("another grammar", [](Request& r) { r.sampling.grammar = *grammar::compile_gbnf(R"(root ::= "b")"); });
    std::vector<std::string> keys{k0};
    for (const auto& [what, r] : variants) {
        const std::string k = key_of({r});
        EXPECT_FALSE(k.empty()) << what;
        for (const std::string& seen : keys) EXPECT_NE(k, seen) << what;
        keys.push_back(k);
    }
    EXPECT_NE(key_of({base}, "completion"), k0);
    EXPECT_NE(key_of({base}, "chat", "other-model"), k0);
    auto with_adapter = canonical_cache_request("chat", "m", {"style-lora"}, {base});
    ASSERT_TRUE(with_adapter);
    EXPECT_NE(response_cache_key(*with_adapter), k0);
    // A grammar compiled again from the same text: the same key.
    Request g1 = base;
    Request g2 = base;
    g1.sampling.grammar = *grammar::compile_gbnf(R"(root ::= [0-9]+)");
    g2.sampling.grammar = *grammar::compile_gbnf(R"(root ::= [0-9]+)");
    EXPECT_EQ(key_of({g1}), key_of({g2}));
    // top_logprobs without logprobs asks for nothing: the same key.
    Request idle = base;
    idle.sampling.top_logprobs = 5;
    EXPECT_EQ(key_of({idle}), k0);
}

TEST(ResponseCacheKey, Sha256MatchesTheStandardVector) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

CachedGeneration sample_generation() {
    CachedGeneration g;
    CachedSlot slot;
    CachedSample s;
    SampledLogprobs lp;
    lp.token = 42;
    lp.logprob = -0.25f;
    lp.top = {{42, -0.25f}, {7, -std::numeric_limits<float>::infinity()}};
    s.deltas.push_back(CachedDelta{"Hello", {42}, {lp}});
    s.deltas.push_back(CachedDelta{" w\xC3\xB6rld \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82", {43, 44}, {}});  // CJK, emoji
    s.finish = FinishReason::length;
    slot.samples.push_back(s);
    slot.reason = FinishReason::length;
    slot.sample_reasons = {FinishReason::length};
    slot.usage.prompt_tokens = 5;
    slot.usage.cached_prompt_tokens = 1;
    slot.usage.completion_tokens = 3;
    g.request_slots.push_back(slot);
    return g;
}

TEST(ResponseCachePayload, RoundTripsEveryField) {
    const CachedGeneration g = sample_generation();
    auto payload = g.serialize();
    ASSERT_TRUE(payload);
    auto back = CachedGeneration::parse(*payload);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->request_slots.size(), 1u);
    const CachedSlot& slot = back->request_slots[0];
    EXPECT_EQ(slot.reason, FinishReason::length);
    EXPECT_EQ(slot.usage.prompt_tokens, 5);
    EXPECT_EQ(slot.usage.cached_prompt_tokens, 1);
    EXPECT_EQ(slot.usage.completion_tokens, 3);
    ASSERT_EQ(slot.samples.size(), 1u);
    ASSERT_EQ(slot.samples[0].deltas.size(), 2u);
    EXPECT_EQ(slot.samples[0].deltas[1].text, " w\xC3\xB6rld \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82");
    EXPECT_EQ(slot.samples[0].deltas[1].token_ids, (std::vector<TokenId>{43, 44}));
    ASSERT_EQ(slot.samples[0].deltas[0].logprobs.size(), 1u);
    const SampledLogprobs& lp = slot.samples[0].deltas[0].logprobs[0];
    EXPECT_EQ(lp.logprob, -0.25f);
    ASSERT_EQ(lp.top.size(), 2u);
    EXPECT_TRUE(std::isinf(lp.top[1].logprob) && lp.top[1].logprob < 0);
    EXPECT_EQ(slot.samples[0].finish, FinishReason::length);
}

TEST(ResponseCachePayload, RefusesMalformedPayloadsAndText) {
    for (const char* bad :
         {"", "null", "{}", R"({"v":2,"slots":[]})", R"({"v":1,"slots":[{"r":"nope"}]})",
          R"({"v":1,"slots":[{"r":"stop","sr":[],"u":[1,2],"s":[]}]})",
          R"({"v":1,"slots":[{"r":"stop","sr":[],"u":[1,0,2],"s":[{"f":null,"d":[{"t":"x","i":[-1]}]}]}]})",
          "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]"}) {
        EXPECT_FALSE(CachedGeneration::parse(bad)) << bad;
    }
    CachedGeneration g = sample_generation();
    g.request_slots[0].samples[0].deltas[0].text = "\xFF\xFE";  // not UTF-8: not stored rather than altered
    EXPECT_FALSE(g.serialize());
}

class SqliteCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("pagoda-rc-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::unique_ptr<SqliteResponseCache> open(ResponseCacheConfig config) {
        auto c = SqliteResponseCache::open((dir_ / "sub" / "cache.db").string(), config, [this] { return now_; });
        EXPECT_TRUE(c) << c.status().to_string();
        return c ? std::move(c.value()) : nullptr;
    }
    fs::path dir_;
    int64_t now_ = 1'000'000;
};

TEST_F(SqliteCacheTest, StoresLooksUpAndExpiresAfterTheTtl) {
    ResponseCacheConfig cfg;
    cfg.ttl_s = 10;
    auto c = open(cfg);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->lookup("k").outcome, CacheLookup::miss);
    ASSERT_TRUE(c->store("k", std::string("v\0w", 3)));
    now_ += 9'999;
    auto hit = c->lookup("k");
    EXPECT_EQ(hit.outcome, CacheLookup::hit);
    EXPECT_EQ(hit.value, std::string("v\0w", 3));
    now_ += 1;  // exactly ttl_s after the store
    EXPECT_EQ(c->lookup("k").outcome, CacheLookup::miss);
    EXPECT_EQ(c->entry_count(), 0);  // the expired row was deleted on the way
    // Re-storing renews the entry.
    ASSERT_TRUE(c->store("k", "v2"));
    EXPECT_EQ(c->lookup("k").value, "v2");
    ASSERT_TRUE(c->store("old", "x"));
    now_ += 20'000;
    EXPECT_EQ(c->purge_expired(), 2);
    EXPECT_EQ(c->counters().stores.load(), 3);
}

TEST_F(SqliteCacheTest, EvictsTheLeastRecentlyUsedBeyondMaxEntries) {
    ResponseCacheConfig cfg;
    cfg.max_entries = 3;
    auto c = open(cfg);
    ASSERT_TRUE(c);
    for (const char* k : {"a", "b", "c"}) {
        ++now_;
        ASSERT_TRUE(c->store(k, k));
    }
    ++now_;
    EXPECT_EQ(c->lookup("a").outcome, CacheLookup::hit);  // a is now the most recently used
    ++now_;
    ASSERT_TRUE(c->store("d", "d"));  // evicts b
    EXPECT_EQ(c->entry_count(), 3);
    EXPECT_EQ(c->lookup("b").outcome, CacheLookup::miss);
    for (const char* k : {"a", "c", "d"}) EXPECT_EQ(c->lookup(k).outcome, CacheLookup::hit) << k;
}

TEST_F(SqliteCacheTest, RefusesEntriesOverTheByteCapAndSurvivesReopening) {
    ResponseCacheConfig cfg;
    cfg.max_entry_bytes = 8;
    {
        auto c = open(cfg);
        ASSERT_TRUE(c);
        EXPECT_FALSE(c->store("big", std::string(9, 'x')));
        EXPECT_EQ(c->counters().store_failures.load(), 1);
        EXPECT_TRUE(c->store("small", "12345678"));
    }
    auto again = open(cfg);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->lookup("small").value, "12345678");
    EXPECT_EQ(again->lookup("big").outcome, CacheLookup::miss);
}

TEST_F(SqliteCacheTest, ServesSeveralThreadsAtOnce) {
    ResponseCacheConfig cfg;
    cfg.max_entries = 50;  // eviction runs concurrently with lookups too
    auto c = open(cfg);
    ASSERT_TRUE(c);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                const std::string key = std::to_string(t) + ":" + std::to_string(i);
                if (!c->store(key, key + "-value")) ++wrong;
                const CacheLookupResult r = c->lookup(key);
                // Another thread's store may already have evicted it; never another value.
                if (r.outcome == CacheLookup::unavailable ||
                    (r.outcome == CacheLookup::hit && r.value != key + "-value")) {
                    ++wrong;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_LE(c->entry_count(), 50);
    EXPECT_EQ(c->counters().stores.load(), 400);
}

TEST_F(SqliteCacheTest, RefusesAFileThatIsNotADatabase) {
    fs::create_directories(dir_ / "sub");
    {
        std::FILE* f = std::fopen((dir_ / "sub" / "cache.db").c_str(), "wb");
        ASSERT_NE(f, nullptr);
        std::fputs("this is somebody's notes file, not a database, and it is long enough to matter", f);
        std::fclose(f);
    }
    auto c = SqliteResponseCache::open((dir_ / "sub" / "cache.db").string(), {});
    EXPECT_FALSE(c);
}

GenerationEvent delta_event(int32_t slot, int32_t index, const std::string& text, std::vector<TokenId> ids,
                            std::optional<FinishReason> finish = std::nullopt) {
    GenerationEvent e;
    e.slot = slot;
    e.delta = RequestDelta{};
    SampleDelta s;
    s.index = index;
    s.text = text;
    s.token_ids = std::move(ids);
    s.finish_reason = finish;
    e.delta->samples.push_back(std::move(s));
    return e;
}

GenerationEvent finish_event(int32_t slot, FinishReason reason, int32_t n) {
    GenerationEvent e;
    e.slot = slot;
    e.finish = RequestFinish{};
    e.finish->reason = reason;
    e.finish->sample_reasons.assign(static_cast<size_t>(n), reason);
    e.finish->usage.prompt_tokens = 3;
    e.finish->usage.completion_tokens = 20;
    return e;
}

class MemoryCache : public ResponseCache {
public:
    CacheLookupResult lookup(const std::string& key) override {
        auto it = entries.find(key);
        if (it == entries.end()) return {};
        return {CacheLookup::hit, it->second};
    }
    bool store(const std::string& key, const std::string& value) override {
        entries[key] = value;
        return true;
    }
    std::string describe() const override { return "memory"; }
    std::map<std::string, std::string> entries;
};

TEST(ResponseCacheReplay, RecordsACleanGenerationAndReplaysItInLargerPieces) {
    auto cache = std::make_shared<MemoryCache>();
    CacheRecorder rec(cache, "k", 1, 2);
    std::string text0, text1;
    for (int step = 0; step < 20; ++step) {
        const bool last = step == 19;
        const std::string piece = "t" + std::to_string(step);
        rec.on_event(delta_event(0, 0, piece, {step}, last ? std::optional(FinishReason::length) : std::nullopt));
        rec.on_event(
            delta_event(0, 1, piece + "!", {step + 100}, last ? std::optional(FinishReason::length) : std::nullopt));
        text0 += piece;
        text1 += piece + "!";
    }
    rec.on_event(finish_event(0, FinishReason::length, 2));
    rec.finish(false, false);
    ASSERT_EQ(cache->entries.count("k"), 1u);

    auto gen = CachedGeneration::parse(cache->entries["k"]);
    ASSERT_TRUE(gen);
    EXPECT_TRUE(replay_events(*gen, 2, 2).empty());  // another shape: not this request's entry
    EXPECT_TRUE(replay_events(*gen, 1, 1).empty());
    const auto events = replay_events(*gen, 1, 2, 8);
    // 20 steps in groups of 8: 3 events per sample, then the finish.
    ASSERT_EQ(events.size(), 7u);
    std::string got0, got1;
    for (const GenerationEvent& e : events) {
        if (!e.delta) continue;
        for (const SampleDelta& s : e.delta->samples) (s.index == 0 ? got0 : got1) += s.text;
    }
    EXPECT_EQ(got0, text0);
    EXPECT_EQ(got1, text1);
    EXPECT_EQ(events[2].delta->samples[0].finish_reason, FinishReason::length);
    EXPECT_FALSE(events[1].delta->samples[0].finish_reason);
    ASSERT_TRUE(events.back().finish);
    EXPECT_EQ(events.back().finish->usage.completion_tokens, 20);
}

TEST(ResponseCacheReplay, NeverStoresACutShortFailedOrCancelledGeneration) {
    auto cache = std::make_shared<MemoryCache>();
    {
        CacheRecorder rec(cache, "cut", 1, 1);
        rec.on_event(delta_event(0, 0, "a", {1}, FinishReason::length));
        rec.on_event(finish_event(0, FinishReason::length, 1));
        rec.finish(/*cut_short=*/true, false);
    }
    {
        CacheRecorder rec(cache, "cancelled", 1, 1);
        rec.on_event(delta_event(0, 0, "a", {1}, FinishReason::cancelled));
        rec.on_event(finish_event(0, FinishReason::cancelled, 1));
        rec.finish(false, false);
    }
    {
        CacheRecorder rec(cache, "failed", 1, 1);
        rec.on_event(finish_event(0, FinishReason::error, 1));
        rec.finish(false, true);
    }
    {
        CacheRecorder rec(cache, "unfinished", 2, 1);  // the second prompt never finished
        rec.on_event(delta_event(0, 0, "a", {1}, FinishReason::stop));
        rec.on_event(finish_event(0, FinishReason::stop, 1));
        rec.finish(false, false);
    }
    EXPECT_TRUE(cache->entries.empty());
}

TEST(RedisResponseCache, ParsesUrls) {
    auto a = parse_redis_url("redis://cache.local:6380/2");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "cache.local");
    EXPECT_EQ(a->port, 6380);
    EXPECT_EQ(a->db, 2);
    auto b = parse_redis_url("redis://user:secret@[::1]");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "::1");
    EXPECT_EQ(b->port, 6379);
    EXPECT_EQ(b->user, "user");
    EXPECT_EQ(b->password, "secret");
    EXPECT_EQ(parse_redis_url("redis://")->host, "127.0.0.1");
    for (const char* bad :
         {"http://x", "redis://h:0", "redis://h:70000", "redis://h:12ab", "redis://h/x", "redis://[::1"}) {
        EXPECT_FALSE(parse_redis_url(bad)) << bad;
    }
}

TEST(RedisResponseCache, AServerThatIsNotThereMeansNoCacheAndOneLogLine) {
    // Port 1 (tcpmux) on loopback: nobody listens, the connection is refused at once.
    const int port = 1;
    ::testing::internal::CaptureStderr();
    auto c = RedisResponseCache::open("redis://127.0.0.1:" + std::to_string(port), {});
    ASSERT_TRUE(c);
    EXPECT_FALSE(c.value()->connected());
    EXPECT_EQ(c.value()->lookup("k").outcome, CacheLookup::unavailable);
    EXPECT_FALSE(c.value()->store("k", "v"));
    EXPECT_EQ(c.value()->lookup("k").outcome, CacheLookup::unavailable);
    const std::string log = ::testing::internal::GetCapturedStderr();
    const std::string line = "response cache: redis at 127.0.0.1:" + std::to_string(port) + " unreachable";
    EXPECT_NE(log.find(line), std::string::npos) << log;
    EXPECT_EQ(log.find(line), log.rfind(line)) << "logged more than once:\n" << log;
    EXPECT_FALSE(open_response_cache("redis://h:0", {}));
    EXPECT_FALSE(open_response_cache("memcached://x", {}));
}

}  // namespace
}  // namespace pagoda::server
