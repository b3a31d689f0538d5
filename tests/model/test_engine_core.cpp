// EngineCore driven step by step on a random-weight model (no shared data needed):
// cancellation, sinks that misbehave, quantized weights in a mixed batch, sequences
// that outgrow the KV pool, and the stats.
#include <gtest/gtest.h>

#include <stdexcept>

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

TEST(EngineCore, CancelFreesTheRequestsBlocksAtOnce) {
    LoadedModel l = load_random();
    ASSERT_TRUE(l);
    auto core = EngineCore::create(*l.model, small_config(64));
    ASSERT_TRUE(core.is_ok());
    EngineCore& e = *core.value();
    auto a = std::make_shared<CollectingSink>();
    auto b = std::make_shared<CollectingSink>();
    e.add_request(1, greedy(random_tokens(1, 40, 512), 100), a);
    e.add_request(2, greedy(random_tokens(2, 20, 512), 100), b);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(e.step().is_ok());
    const auto table_a = e.kv().block_table(1);  // seq ids start at 1, in submission order
    ASSERT_EQ(table_a.size(), 3u);
    const int32_t used = e.stats().kv_blocks_used;
    EXPECT_EQ(used, 3 + 2);

    e.cancel(1);
    EXPECT_TRUE(a->finished()) << "on_finish comes with the cancel, not a step later";
    EXPECT_EQ(a->finish()->reason, FinishReason::cancelled);
    EXPECT_EQ(e.stats().kv_blocks_used, 2);
    EXPECT_FALSE(e.has_request(1));
    e.cancel(1);  // twice: ignored
    ASSERT_TRUE(e.step().is_ok());
    EXPECT_FALSE(b->finished());
    e.cancel_all();
    EXPECT_EQ(b->finish()->reason, FinishReason::cancelled);
    EXPECT_EQ(e.stats().kv_blocks_used, 0);
    EXPECT_FALSE(e.has_work());
}

class ThrowingSink : public CollectingSink {
public:
    void on_delta(const RequestDelta& d) override {
        CollectingSink::on_delta(d);
        if (++calls_ == 2) throw std::runtime_error("consumer went away");
    }

private:
    int calls_ = 0;
};

TEST(EngineCore, ASinkThatThrowsCancelsOnlyItsRequest) {
    LoadedModel l = load_random();
    ASSERT_TRUE(l);
    auto core = EngineCore::create(*l.model, small_config(64));
    ASSERT_TRUE(core.is_ok());
    EngineCore& e = *core.value();
    auto bad = std::make_shared<ThrowingSink>();
    auto good = std::make_shared<CollectingSink>();
    e.add_request(1, greedy(random_tokens(1, 10, 512), 10), bad);
    e.add_request(2, greedy(random_tokens(2, 10, 512), 10), good);
    while (e.has_work()) ASSERT_TRUE(e.step().is_ok());
    EXPECT_EQ(bad->finish()->reason, FinishReason::cancelled);
    EXPECT_EQ(bad->samples()[0].token_ids.size(), 2u);
    EXPECT_EQ(good->finish()->reason, FinishReason::length);
    EXPECT_EQ(good->samples()[0].token_ids.size(), 10u);
    EXPECT_EQ(e.stats().kv_blocks_used, 0);
}

// Quantized weights encode each activation row on its own, so rows stay independent of
// what else is in the batch: Q4_0 and Q8_0 models are batch invariant too.
TEST(EngineCore, QuantizedModelsAreBatchInvariant) {
    for (auto type : {fixtures::RandomModelType::q4_0, fixtures::RandomModelType::q8_0}) {
        LoadedModel l = load_random(2, 5, type);
        ASSERT_TRUE(l);
        std::vector<Job> jobs;
        for (int i = 0; i < 12; ++i) {
            Job j;
            j.request =
                greedy(random_tokens(static_cast<uint64_t>(i) + 40, static_cast<size_t>(3 + i * 11), 512), 6 + i % 5);
            if (i % 2) {
                j.request.sampling.temperature = 1.0f;
                j.request.sampling.seed = static_cast<uint64_t>(i);
            }
            j.arrive_step = i % 4;
            jobs.push_back(std::move(j));
        }
        const auto alone = run_alone(*l.model, small_config(), jobs);
        EngineConfig c = small_config();
        c.max_num_batched_tokens = 40;
        const auto batched = run_jobs(*l.model, c, jobs);
        for (size_t i = 0; i < jobs.size(); ++i)
            EXPECT_EQ(batched[i].samples[0].token_ids, alone[i].samples[0].token_ids)
                << fixtures::random_model_type_name(type) << " job " << i;
    }
}

TEST(EngineCore, ASequenceThatOutgrowsTheWholePoolEndsWithLength) {
    LoadedModel l = load_random();
    ASSERT_TRUE(l);
    auto core = EngineCore::create(*l.model, small_config(3));  // 48 slots
    ASSERT_TRUE(core.is_ok());
    EngineCore& e = *core.value();
    const Request r = greedy(random_tokens(3, 30, 512), 100);
    ASSERT_TRUE(e.check_request(r).is_ok());
    auto sink = std::make_shared<CollectingSink>();
    e.add_request(1, r, sink);
    while (e.has_work()) ASSERT_TRUE(e.step().is_ok());
    ASSERT_TRUE(sink->finished());
    EXPECT_EQ(sink->finish()->reason, FinishReason::length);
    EXPECT_NE(sink->finish()->message.find("KV cache"), std::string::npos);
    EXPECT_EQ(sink->samples()[0].token_ids.size(), 48u - 30u + 1u) << "until position 47 is computed";
    EXPECT_EQ(e.stats().kv_blocks_used, 0);
    // A prompt that alone needs more than the pool is refused up front.
    EXPECT_FALSE(e.check_request(greedy(random_tokens(3, 48, 512), 1)).is_ok());
}

TEST(EngineCore, StatsCountTokensAndKvUse) {
    LoadedModel l = load_random();
    ASSERT_TRUE(l);
    auto core = EngineCore::create(*l.model, small_config(64));
    ASSERT_TRUE(core.is_ok());
    EngineCore& e = *core.value();
    auto sink = std::make_shared<CollectingSink>();
    e.add_request(1, greedy(random_tokens(1, 20, 512), 10), sink);
    ASSERT_TRUE(e.step().is_ok());
    EngineStats s = e.stats();
    EXPECT_EQ(s.running, 1);
    EXPECT_EQ(s.requests, 1);
    EXPECT_EQ(s.kv_blocks_used, 2);
    EXPECT_EQ(s.kv_slots_allocated, 32);
    EXPECT_EQ(s.kv_slots_filled, 20);
    EXPECT_EQ(s.prompt_tokens_computed, 20);
    EXPECT_EQ(s.generated_tokens, 1);
    EXPECT_GT(s.prompt_tokens_per_s, 0.0);
    while (e.has_work()) ASSERT_TRUE(e.step().is_ok());
    s = e.stats();
    EXPECT_EQ(s.generated_tokens, 10);
    EXPECT_EQ(s.steps, 10);
    EXPECT_EQ(s.requests_finished, 1);
    EXPECT_EQ(s.kv_blocks_used, 0);
    EXPECT_EQ(s.kv_blocks_cached, 1) << "the one full block of the finished request";
    EXPECT_EQ(sink->finish()->usage.completion_tokens, 10);
}

}  // namespace
}  // namespace pagoda
