// The public Engine on its thread: submit / sinks / cancel / stats, request checks,
// stop strings split across tokens, n parallel samples, logprobs. On stories260K.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "pagoda/engine.h"
#include "sched/sequence_runner.h"
#include "test_engine_common.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using namespace engine_test;

const std::vector<TokenId> kOnceUponATime = {1, 403, 407, 261, 378};

class EngineApi : public ::testing::Test {
protected:
    void SetUp() override {
        LoadedModel l = load_stories(2);
        if (!l) GTEST_SKIP() << "needs " << kStoriesPath << " (shared/README.md)";
        EngineConfig c = small_config(128);
        c.max_num_seqs = 16;
        auto e = Engine::create(std::move(l.backend), std::move(l.model), c);
        ASSERT_TRUE(e.is_ok()) << e.status().to_string();
        engine_ = std::move(e.value());
    }

    std::shared_ptr<CollectingSink> run(const Request& r) {
        auto sink = std::make_shared<CollectingSink>();
        auto id = engine_->submit(r, sink);
        EXPECT_TRUE(id.is_ok()) << id.status().to_string();
        if (id) {
            EXPECT_TRUE(sink->wait(60.0)) << "request did not finish";
        }
        return sink;
    }

    static Request greedy(int32_t max_tokens) {
        Request r;
        r.prompt = kOnceUponATime;
        r.sampling.temperature = 0.0f;
        r.sampling.max_tokens = max_tokens;
        return r;
    }

    std::unique_ptr<Engine> engine_;
};

TEST_F(EngineApi, GreedyTextStreamsToTheSink) {
    auto sink = run(greedy(32));
    const auto samples = sink->samples();
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(samples[0].text.substr(0, 30), ", there was a little girl name");
    EXPECT_EQ(samples[0].token_ids.size(), 32u);
    EXPECT_EQ(sink->finish()->reason, FinishReason::length);
    EXPECT_EQ(sink->finish()->sample_reasons, (std::vector<FinishReason>{FinishReason::length}));
    EXPECT_EQ(sink->finish()->usage.completion_tokens, 32);
    EXPECT_GE(sink->n_deltas(), 32) << "one delta per step with a new token";
    EXPECT_TRUE(engine_->wait_idle(10.0));
    const EngineStats s = engine_->stats();
    EXPECT_EQ(s.running, 0);
    EXPECT_EQ(s.kv_blocks_used, 0);
    EXPECT_EQ(s.requests_finished, 1);
    EXPECT_EQ(s.generated_tokens, 32);
}

// The stop string is made of the end of one token and the start of the next.
TEST_F(EngineApi, StopStringSplitAcrossTokensIsCaughtAndNotEmitted) {
    auto plain = run(greedy(24));
    const auto ids = plain->samples()[0].token_ids;
    const Tokenizer& tok = *engine_->tokenizer();
    std::string text;
    std::string stop;
    size_t stop_at = 0;
    for (size_t i = 0; i + 1 < ids.size() && stop.empty(); ++i) {
        const std::string a = tok.token_to_piece(ids[i]);
        const std::string b = tok.token_to_piece(ids[i + 1]);
        if (a.size() >= 2 && b.size() >= 2 && i > 2) {
            stop = a.substr(a.size() - 2) + b.substr(0, 2);
            stop_at = text.size() + a.size() - 2;
        }
        text += a;
    }
    ASSERT_FALSE(stop.empty());
    ASSERT_EQ(plain->samples()[0].text.find(stop), stop_at) << "pick a stop string that occurs first there";

    Request r = greedy(24);
    r.sampling.stop = {stop, "never appears"};
    auto stopped = run(r);
    EXPECT_EQ(stopped->samples()[0].text, plain->samples()[0].text.substr(0, stop_at));
    EXPECT_EQ(stopped->finish()->reason, FinishReason::stop);
}

TEST_F(EngineApi, StopTokenIdsAndEos) {
    auto plain = run(greedy(10));
    const auto ids = plain->samples()[0].token_ids;
    Request r = greedy(10);
    r.sampling.stop_token_ids = {ids[3]};
    auto s = run(r);
    EXPECT_EQ(s->samples()[0].token_ids, std::vector<TokenId>(ids.begin(), ids.begin() + 3));
    EXPECT_EQ(s->finish()->reason, FinishReason::stop);

    // EOS (2; stories260K itself separates stories with BOS) pushed up by logit_bias:
    // it ends the sample and is not part of the output, unless ignore_eos.
    Request eos = greedy(5);
    eos.sampling.logit_bias = {{2, 100.0f}};
    auto ended = run(eos);
    EXPECT_EQ(ended->finish()->reason, FinishReason::stop);
    EXPECT_TRUE(ended->samples()[0].token_ids.empty());
    EXPECT_EQ(ended->finish()->usage.completion_tokens, 0);
    eos.sampling.ignore_eos = true;
    auto more = run(eos);
    EXPECT_EQ(more->finish()->reason, FinishReason::length);
    EXPECT_EQ(more->samples()[0].token_ids, (std::vector<TokenId>{2, 2, 2, 2, 2}));
    EXPECT_EQ(more->samples()[0].text, "") << "a control token has no text";
}

TEST_F(EngineApi, BadRequestsAreRefusedWithAReason) {
    auto sink = std::make_shared<CollectingSink>();
    Request empty;
    EXPECT_EQ(engine_->submit(empty, sink).status().code(), ErrorCode::invalid_argument);
    Request bad_token = greedy(4);
    bad_token.prompt.push_back(512);
    auto r = engine_->submit(bad_token, sink);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("vocabulary"), std::string::npos) << r.status().to_string();
    Request too_long = greedy(4);
    too_long.prompt.assign(2048, 5);
    r = engine_->submit(too_long, sink);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("context"), std::string::npos) << r.status().to_string();
    Request bad_p = greedy(4);
    bad_p.sampling.top_p = 1.5f;
    EXPECT_FALSE(engine_->submit(bad_p, sink).is_ok());
    Request bad_n = greedy(4);
    bad_n.sampling.n = 100;
    EXPECT_FALSE(engine_->submit(bad_n, sink).is_ok());
    EXPECT_FALSE(sink->finished()) << "refused requests get no callback";
    engine_->cancel(12345);  // unknown ids are ignored
}

TEST_F(EngineApi, CancelEndsTheRequestAndFreesItsBlocks) {
    Request r = greedy(1500);
    r.sampling.ignore_eos = true;
    auto sink = std::make_shared<CollectingSink>();
    auto id = engine_->submit(r, sink);
    ASSERT_TRUE(id.is_ok());
    while (sink->n_deltas() < 3) std::this_thread::yield();
    engine_->cancel(*id);
    ASSERT_TRUE(sink->wait(30.0));
    EXPECT_EQ(sink->finish()->reason, FinishReason::cancelled);
    EXPECT_LT(sink->samples()[0].token_ids.size(), 1500u);
    EXPECT_TRUE(engine_->wait_idle(10.0));
    EXPECT_EQ(engine_->stats().kv_blocks_used, 0);
}

TEST_F(EngineApi, ParallelSamplesMatchSingleRequestsWithTheirSeeds) {
    Request r = greedy(20);
    r.prompt = {1, 403, 407, 261, 378, 261, 403};  // 7 tokens: the shared tail block is partly filled
    r.sampling.temperature = 1.0f;
    r.sampling.seed = 99;
    r.sampling.n = 4;
    r.sampling.ignore_eos = true;
    auto sink = run(r);
    const auto samples = sink->samples();
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_EQ(sink->finish()->sample_reasons.size(), 4u);
    EXPECT_EQ(sink->finish()->usage.completion_tokens, 80);
    int distinct = 0;
    for (int i = 0; i < 4; ++i) {
        Request one = r;
        one.sampling.n = 1;
        one.sampling.seed = derive_seed(99, i);
        auto single = run(one);
        EXPECT_EQ(samples[static_cast<size_t>(i)].token_ids, single->samples()[0].token_ids) << "sample " << i;
        if (i > 0 && samples[static_cast<size_t>(i)].token_ids != samples[0].token_ids) ++distinct;
    }
    EXPECT_GT(distinct, 0) << "different seeds should give different samples";
    EXPECT_TRUE(engine_->wait_idle(10.0));
    EXPECT_EQ(engine_->stats().kv_blocks_used, 0);
}

TEST_F(EngineApi, LogprobsDescribeTheSampledTokens) {
    Request r = greedy(6);
    r.sampling.logprobs = true;
    r.sampling.top_logprobs = 5;
    auto sink = run(r);
    const auto s = sink->samples()[0];
    ASSERT_EQ(s.logprobs.size(), 6u);
    for (size_t i = 0; i < 6; ++i) {
        const SampledLogprobs& lp = s.logprobs[i];
        EXPECT_EQ(lp.token, s.token_ids[i]);
        ASSERT_EQ(lp.top.size(), 5u);
        EXPECT_EQ(lp.top[0].token, lp.token) << "greedy picks the most likely token";
        EXPECT_FLOAT_EQ(lp.top[0].logprob, lp.logprob);
        EXPECT_LE(lp.logprob, 0.0f);
        double mass = 0;
        for (size_t k = 0; k < 5; ++k) {
            if (k > 0) {
                EXPECT_LE(lp.top[k].logprob, lp.top[k - 1].logprob);
            }
            mass += std::exp(lp.top[k].logprob);
        }
        EXPECT_LE(mass, 1.0 + 1e-5);
    }
}

TEST_F(EngineApi, InteractiveRequestsFinishWhileBulkOnesQueue) {
    // 16 sequence slots, all taken by long bulk work; a chat request still runs now.
    std::vector<std::shared_ptr<CollectingSink>> bulk;
    for (int i = 0; i < 16; ++i) {
        Request r = greedy(1000);
        r.sampling.ignore_eos = true;
        r.prompt.push_back(static_cast<TokenId>(10 + i));
        bulk.push_back(std::make_shared<CollectingSink>());
        ASSERT_TRUE(engine_->submit(r, bulk.back()).is_ok());
    }
    while (engine_->stats().running < 16) std::this_thread::yield();
    Request chat = greedy(8);
    chat.priority = Priority::interactive;
    auto sink = run(chat);
    EXPECT_EQ(sink->finish()->reason, FinishReason::length);
    for (const auto& b : bulk) EXPECT_FALSE(b->finished()) << "bulk work is still going";
    EXPECT_GT(engine_->stats().preemptions, 0);
    // Destroying the engine cancels what is left.
}

TEST(EngineApiShutdown, DestroyingTheEngineCancelsEverything) {
    LoadedModel l = load_stories(1);
    if (!l) GTEST_SKIP() << "needs " << kStoriesPath;
    auto e = Engine::create(std::move(l.backend), std::move(l.model), small_config(64));
    ASSERT_TRUE(e.is_ok());
    std::vector<std::shared_ptr<CollectingSink>> sinks;
    for (int i = 0; i < 4; ++i) {
        Request r;
        r.prompt = kOnceUponATime;
        r.sampling.max_tokens = 1500;
        r.sampling.ignore_eos = true;
        sinks.push_back(std::make_shared<CollectingSink>());
        ASSERT_TRUE(e.value()->submit(r, sinks.back()).is_ok());
    }
    e.value().reset();
    for (const auto& s : sinks) {
        ASSERT_TRUE(s->finished());
        EXPECT_EQ(s->finish()->reason, FinishReason::cancelled);
    }
}

// The engine's prompt logits and greedy tokens are the single-sequence runner's.
TEST(EngineCoreParity, PromptLogitsMatchTheSequenceRunner) {
    LoadedModel l = load_stories(2);
    if (!l) GTEST_SKIP() << "needs " << kStoriesPath;
    Model& model = *l.model;
    Request r;
    r.prompt = kOnceUponATime;
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = 16;
    r.return_prompt_logits = true;
    auto core = EngineCore::create(model, small_config(64));
    ASSERT_TRUE(core.is_ok());
    auto sink = std::make_shared<CollectingSink>();
    core.value()->add_request(1, r, sink);
    while (core.value()->has_work()) ASSERT_TRUE(core.value()->step().is_ok());
    core.value().reset();

    Transformer& t = model.transformer();
    ASSERT_TRUE(t.init_kv_cache(t.kv_cache_config(16)).is_ok());
    BlockAllocator blocks(16);
    SamplerParams sp;
    sp.temperature = 0.0f;
    Sampler sampler(sp);
    RunOptions options;
    options.max_new_tokens = 16;
    std::vector<float> logits;
    std::vector<TokenId> tokens;
    RunCallbacks cb;
    cb.on_prompt_logits = [&](std::span<const float> lg) { logits.assign(lg.begin(), lg.end()); };
    cb.on_token = [&](TokenId id) {
        tokens.push_back(id);
        return true;
    };
    ASSERT_TRUE(SequenceRunner(t, blocks).run(r.prompt, sampler, options, cb).is_ok());
    EXPECT_EQ(sink->prompt_logits(), logits);
    EXPECT_EQ(sink->samples()[0].token_ids, tokens);
}

}  // namespace
}  // namespace pagoda
