// Continuous batching must not change what a request produces: its greedy tokens and
// its seeded samples are the same alone and beside 31 other requests of different
// lengths arriving at different steps (chunked prefill, decodes and prefills mixed in
// one forward pass), and the same when a KV pool too small for everyone forces
// preemption and recomputation. On stories260K (a real trained model) on the CPU.
#include <gtest/gtest.h>

#include "test_engine_common.h"

namespace pagoda {
namespace {

using namespace engine_test;

class EngineBatching : public ::testing::Test {
protected:
    void SetUp() override {
        loaded_ = load_stories(2);
        if (!loaded_) GTEST_SKIP() << "needs " << kStoriesPath << " (shared/README.md)";
    }
    LoadedModel loaded_;
};

void expect_same(const std::vector<Outcome>& alone, const std::vector<Outcome>& batched) {
    ASSERT_EQ(alone.size(), batched.size());
    for (size_t i = 0; i < alone.size(); ++i) {
        ASSERT_EQ(alone[i].samples.size(), 1u) << "job " << i;
        ASSERT_EQ(batched[i].samples.size(), 1u) << "job " << i;
        EXPECT_FALSE(alone[i].samples[0].token_ids.empty()) << "job " << i;
        EXPECT_EQ(batched[i].samples[0].token_ids, alone[i].samples[0].token_ids) << "job " << i;
        EXPECT_EQ(batched[i].samples[0].text, alone[i].samples[0].text) << "job " << i;
        EXPECT_EQ(batched[i].finish.reason, alone[i].finish.reason) << "job " << i;
    }
}

TEST_F(EngineBatching, ThirtyTwoRequestsGiveWhatEachGivesAlone) {
    Model& model = *loaded_.model;
    const auto jobs = make_mixed_jobs(32, model.config().n_vocab, 40, 24);
    const auto alone = run_alone(model, small_config(), jobs);

    EngineConfig c = small_config(512);
    c.max_num_seqs = 32;
    c.max_num_batched_tokens = 48;  // prompts run in chunks beside the decodes
    EngineStats stats;
    const auto batched = run_jobs(model, c, jobs, &stats);
    expect_same(alone, batched);
    EXPECT_EQ(stats.kv_blocks_used, 0);
    EXPECT_EQ(stats.requests, 0);
    EXPECT_EQ(stats.requests_finished, 32);
    EXPECT_LT(stats.steps, 400) << "requests must actually share steps";
}

TEST_F(EngineBatching, PreemptionUnderATinyKvPoolKeepsEveryOutput) {
    Model& model = *loaded_.model;
    const auto jobs = make_mixed_jobs(64, model.config().n_vocab, 30, 5);
    const auto alone = run_alone(model, small_config(), jobs);

    EngineConfig c = small_config(24);  // 384 slots for 64 requests of up to ~125 tokens
    c.max_num_seqs = 64;
    c.max_num_batched_tokens = 96;
    EngineStats stats;
    const auto batched = run_jobs(model, c, jobs, &stats);
    expect_same(alone, batched);
    EXPECT_GT(stats.preemptions, 0) << "the pool was meant to be too small";
    EXPECT_EQ(stats.kv_blocks_used, 0) << "no block may leak";
    EXPECT_EQ(stats.kv_blocks_free, 24);
    EXPECT_EQ(stats.running + stats.waiting, 0);
}

TEST_F(EngineBatching, EngineMatchesTheSingleSequenceRunnerAndTheKnownText) {
    Model& model = *loaded_.model;
    Job j;
    j.request.prompt = {1, 403, 407, 261, 378};  // BOS + "Once upon a time"
    j.request.sampling.temperature = 0.0f;
    j.request.sampling.max_tokens = 40;
    j.request.return_prompt_logits = true;
    Job other;  // something else in the batch
    other.request.prompt = random_tokens(5, 30, model.config().n_vocab);
    other.request.sampling.temperature = 0.0f;
    const auto out = run_jobs(model, small_config(), {other, j});
    const std::string known = ", there was a little girl named Lily. She loved to play outside in the park.";
    EXPECT_EQ(out[1].samples[0].text.substr(0, known.size()), known);
    EXPECT_EQ(out[1].finish.reason, FinishReason::length);
    EXPECT_EQ(out[1].finish.usage.prompt_tokens, 5);
    EXPECT_EQ(out[1].finish.usage.completion_tokens, 40);
}

}  // namespace
}  // namespace pagoda
