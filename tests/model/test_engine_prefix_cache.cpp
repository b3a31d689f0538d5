// Prefix caching end to end: a request sharing a 1,000-token prefix with an earlier one
// computes only its own tokens (to block granularity), the stats show the hit, and the
// output is the same as without the cache. On a random-weight model with a 2,048-token
// context (no shared data needed).
#include <gtest/gtest.h>

#include "test_engine_common.h"

namespace pagoda {
namespace {

using namespace engine_test;

Request greedy(std::vector<TokenId> prompt, int32_t max_tokens) {
    Request r;
    r.prompt = std::move(prompt);
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = max_tokens;
    r.sampling.ignore_eos = true;
    return r;
}

TEST(EnginePrefixCache, SecondRequestComputesOnlyItsNewTokens) {
    LoadedModel l = load_random();
    ASSERT_TRUE(l);
    Model& model = *l.model;
    const int32_t n_vocab = model.config().n_vocab;
    const auto prefix = random_tokens(77, 1000, n_vocab);
    auto prompt_a = prefix;
    auto prompt_b = prefix;
    const auto tail_a = random_tokens(1, 20, n_vocab);
    const auto tail_b = random_tokens(2, 24, n_vocab);
    prompt_a.insert(prompt_a.end(), tail_a.begin(), tail_a.end());
    prompt_b.insert(prompt_b.end(), tail_b.begin(), tail_b.end());

    EngineConfig c = small_config(256);
    c.max_num_batched_tokens = 256;
    auto core = EngineCore::create(model, c);
    ASSERT_TRUE(core.is_ok()) << core.status().to_string();
    EngineCore& engine = *core.value();
    auto run = [&](RequestId id, const Request& r) {
        auto sink = std::make_shared<CollectingSink>();
        EXPECT_TRUE(engine.check_request(r).is_ok());
        engine.add_request(id, r, sink);
        while (engine.has_work()) EXPECT_TRUE(engine.step().is_ok());
        EXPECT_TRUE(sink->finished());
        return sink;
    };

    auto a = run(1, greedy(prompt_a, 8));
    const EngineStats after_a = engine.stats();
    EXPECT_EQ(after_a.prompt_tokens_computed, 1020);
    EXPECT_EQ(after_a.prefix_cache_hits, 0);
    EXPECT_EQ(after_a.kv_blocks_used, 0);
    EXPECT_GE(after_a.kv_blocks_cached, 62) << "the finished request's full blocks stay cached";

    auto b = run(2, greedy(prompt_b, 8));
    const EngineStats after_b = engine.stats();
    // 1000 shared tokens = 62 full blocks (992 tokens) + 8 in a block that differs.
    EXPECT_EQ(after_b.prompt_tokens_computed - after_a.prompt_tokens_computed, 1024 - 992);
    EXPECT_EQ(after_b.prefix_cache_hits, 992);
    EXPECT_EQ(after_b.prefix_cache_queries, 1020 + 1024);
    EXPECT_NEAR(after_b.prefix_cache_hit_rate, 992.0 / 2044.0, 1e-9);
    EXPECT_EQ(b->finish()->usage.cached_prompt_tokens, 992);
    EXPECT_EQ(a->finish()->usage.cached_prompt_tokens, 0);

    // Same tokens without the cache.
    EngineConfig off = c;
    off.enable_prefix_caching = false;
    const auto reference = run_jobs(model, off, {Job{greedy(prompt_b, 8), 0}});
    EXPECT_EQ(b->samples()[0].token_ids, reference[0].samples[0].token_ids);
    EXPECT_EQ(b->samples()[0].token_ids.size(), 8u);
}

// A request that arrives while the one it shares a prefix with is still decoding takes
// the running request's blocks (ref count 2) instead of recomputing them.
TEST(EnginePrefixCache, SharesBlocksWithARunningRequest) {
    LoadedModel l = load_random();
    ASSERT_TRUE(l);
    Model& model = *l.model;
    const auto prefix = random_tokens(5, 64, model.config().n_vocab);
    auto prompt_b = prefix;
    prompt_b.push_back(7);
    auto core = EngineCore::create(model, small_config(64));
    ASSERT_TRUE(core.is_ok());
    EngineCore& engine = *core.value();
    auto sink_a = std::make_shared<CollectingSink>();
    engine.add_request(1, greedy(prefix, 50), sink_a);
    ASSERT_TRUE(engine.step().is_ok());  // a's prompt: blocks 0..3, all full
    ASSERT_TRUE(engine.step().is_ok());
    auto sink_b = std::make_shared<CollectingSink>();
    engine.add_request(2, greedy(prompt_b, 4), sink_b);
    ASSERT_TRUE(engine.step().is_ok());
    const KvCacheManager& kv = engine.kv();
    for (int32_t b = 0; b < 4; ++b) EXPECT_EQ(kv.pool().ref_count(b), 2) << "block " << b;
    EXPECT_EQ(engine.stats().prefix_cache_hits, 64);
    while (engine.has_work()) ASSERT_TRUE(engine.step().is_ok());
    EXPECT_EQ(engine.stats().kv_blocks_used, 0);

    const auto reference = run_jobs(model, small_config(64), {Job{greedy(prompt_b, 4), 0}});
    EXPECT_EQ(sink_b->samples()[0].token_ids, reference[0].samples[0].token_ids);
}

}  // namespace
}  // namespace pagoda
