// End to end on a real trained model: karpathy's TinyStories 260K (llama architecture,
// grouped-query attention). Greedy decoding from BOS + "Once upon a time" must give the
// known continuation, whatever the thread count and however the prompt is split into
// prefill chunks (the paged KV path is the same either way).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/create_cpu_backend.h"
#include "kv/block_allocator.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "sched/sequence_runner.h"

namespace pagoda {
namespace {

const std::string kModelPath = std::string(PAGODA_SHARED_DIR) + "/models/stories260K.gguf";
const std::vector<TokenId> kPromptIds = {1, 403, 407, 261, 378};  // BOS + "Once upon a time"
// shared/README.md: what greedy decoding continues with.
const std::string kContinuation =
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red "
    "ball. She wanted to play with it, but it was too high.";
constexpr int32_t kTokens = 64;

struct Loaded {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
};

Loaded load(int threads) {
    Loaded l;
    l.backend = create_cpu_backend(threads);
    auto m = Model::load(kModelPath, *l.backend);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    if (m) l.model = std::move(m.value());
    return l;
}

struct Generation {
    std::vector<TokenId> tokens;
    std::vector<float> prompt_logits;
    RunStats stats;
};

Generation generate(Model& model, std::vector<TokenId> prompt, int32_t prefill_chunk, int32_t n_tokens,
                    const SamplerParams& sampling, int32_t ctx_tokens = 256) {
    Generation g;
    Transformer& t = model.transformer();
    const int32_t n_blocks = ctx_tokens / 16;
    EXPECT_TRUE(t.init_kv_cache(t.kv_cache_config(n_blocks)).is_ok());
    BlockAllocator blocks(n_blocks);
    Sampler sampler(sampling);
    RunOptions options;
    options.max_new_tokens = n_tokens;
    options.prefill_chunk = prefill_chunk;
    const Tokenizer* tok = model.tokenizer();
    options.is_end_of_generation = [tok](TokenId id) { return tok->is_eog(id); };
    RunCallbacks cb;
    cb.on_prompt_logits = [&](std::span<const float> l) { g.prompt_logits.assign(l.begin(), l.end()); };
    cb.on_token = [&](TokenId id) {
        g.tokens.push_back(id);
        return true;
    };
    SequenceRunner runner(t, blocks);
    auto stats = runner.run(prompt, sampler, options, cb);
    EXPECT_TRUE(stats.is_ok()) << stats.status().to_string();
    if (stats) g.stats = stats.value();
    EXPECT_EQ(blocks.n_free(), n_blocks) << "the runner must return every KV block";
    return g;
}

SamplerParams greedy() {
    SamplerParams p;
    p.temperature = 0.0f;
    return p;
}

class Stories260K : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(kModelPath)) GTEST_SKIP() << "needs " << kModelPath << " (shared/README.md)";
    }
};

TEST_F(Stories260K, ConfigMatchesTheModelCard) {
    Loaded l = load(1);
    ASSERT_TRUE(l.model);
    const ModelConfig& c = l.model->config();
    EXPECT_EQ(c.arch, Architecture::llama);
    EXPECT_EQ(c.n_embd, 64);
    EXPECT_EQ(c.n_ff, 172);
    EXPECT_EQ(c.n_layers, 5);
    EXPECT_EQ(c.n_heads, 8);
    EXPECT_EQ(c.n_kv_heads, 4);
    EXPECT_EQ(c.head_dim, 8);
    EXPECT_EQ(c.n_vocab, 512);
    EXPECT_FALSE(c.rope_neox);
    ASSERT_NE(l.model->tokenizer(), nullptr) << l.model->tokenizer_status().to_string();
}

TEST_F(Stories260K, GreedyContinuationMatchesKnownText) {
    Loaded l = load(1);
    ASSERT_TRUE(l.model);
    const Tokenizer& tok = *l.model->tokenizer();
    std::vector<TokenId> prompt = {tok.special().bos};
    const auto text_ids = tok.encode("Once upon a time", false, false);
    prompt.insert(prompt.end(), text_ids.begin(), text_ids.end());
    ASSERT_EQ(prompt, kPromptIds);

    Generation g = generate(*l.model, prompt, 512, kTokens, greedy());
    ASSERT_EQ(static_cast<int32_t>(g.tokens.size()), kTokens)
        << "stopped early: " << finish_reason_name(g.stats.finish);
    EXPECT_EQ(g.stats.finish, RunFinish::length);
    EXPECT_EQ(g.stats.n_prompt, 5);
    EXPECT_EQ(g.stats.n_generated, kTokens);

    const std::string text = tok.decode(g.tokens);
    EXPECT_EQ(text.substr(0, kContinuation.size()), kContinuation) << "generated: " << text;

    // The first token is the argmax of the last prompt position's logits.
    ASSERT_EQ(g.prompt_logits.size(), 512u);
    const auto best = std::max_element(g.prompt_logits.begin(), g.prompt_logits.end()) - g.prompt_logits.begin();
    EXPECT_EQ(best, g.tokens[0]);
}

TEST_F(Stories260K, SameTokensForThreadCountsAndPrefillChunks) {
    std::vector<TokenId> reference;
    std::vector<float> reference_logits;
    for (int threads : {1, 2}) {
        Loaded l = load(threads);
        ASSERT_TRUE(l.model);
        for (int32_t chunk : {512, 1, 3}) {
            Generation g = generate(*l.model, kPromptIds, chunk, kTokens, greedy());
            ASSERT_EQ(static_cast<int32_t>(g.tokens.size()), kTokens);
            if (reference.empty()) {
                reference = g.tokens;
                reference_logits = g.prompt_logits;
                continue;
            }
            EXPECT_EQ(g.tokens, reference) << threads << " threads, prefill chunk " << chunk;
            ASSERT_EQ(g.prompt_logits.size(), reference_logits.size());
            for (size_t i = 0; i < reference_logits.size(); ++i)
                ASSERT_NEAR(g.prompt_logits[i], reference_logits[i], 1e-3f)
                    << "logit " << i << ", " << threads << " threads, prefill chunk " << chunk;
        }
    }
}

TEST_F(Stories260K, SeededSamplingIsReproducible) {
    Loaded l = load(2);
    ASSERT_TRUE(l.model);
    SamplerParams p;
    p.temperature = 0.9f;
    p.seed = 42;
    Generation a = generate(*l.model, kPromptIds, 512, 32, p);
    Generation b = generate(*l.model, kPromptIds, 4, 32, p);
    EXPECT_EQ(a.tokens, b.tokens);
    p.seed = 43;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.temperature = 1.5f;
    Generation c = generate(*l.model, kPromptIds, 512, 32, p);
    EXPECT_NE(a.tokens, c.tokens) << "a different seed and a hotter distribution should change the sample";
}

TEST_F(Stories260K, StopsWhenTheContextIsFull) {
    Loaded l = load(1);
    ASSERT_TRUE(l.model);
    // 2 blocks = 32 KV slots: 5 prompt tokens, then 27 decode steps fill it; the token
    // sampled from the last step is still reported.
    Generation g = generate(*l.model, kPromptIds, 512, 1000, greedy(), 32);
    EXPECT_EQ(g.stats.finish, RunFinish::context_full);
    EXPECT_EQ(g.stats.n_generated, 32 - 5 + 1);

    // And the tokens are the same as with room to spare.
    Generation roomy = generate(*l.model, kPromptIds, 512, g.stats.n_generated, greedy());
    EXPECT_EQ(g.tokens, roomy.tokens);
}

// The forward pass takes several sequences per step (continuous batching builds on it):
// two prompts in one step, each with its own blocks, give the logits each gives alone.
TEST_F(Stories260K, TwoSequencesInOneStepMatchSeparateSteps) {
    Loaded l = load(2);
    ASSERT_TRUE(l.model);
    Transformer& t = l.model->transformer();
    ASSERT_TRUE(t.init_kv_cache(t.kv_cache_config(8)).is_ok());
    const std::vector<TokenId> a = kPromptIds;                    // 5 tokens, block 3
    const std::vector<TokenId> b = {1, 403, 407, 261, 378, 261};  // 6 tokens, block 6
    const int32_t block_a = 3, block_b = 6;

    auto run_one = [&](const std::vector<TokenId>& toks, int32_t block) {
        std::vector<int32_t> pos(toks.size());
        std::vector<int64_t> slots(toks.size());
        for (size_t i = 0; i < toks.size(); ++i) {
            pos[i] = static_cast<int32_t>(i);
            slots[i] = int64_t{block} * 16 + static_cast<int64_t>(i);
        }
        const int32_t qs[2] = {0, static_cast<int32_t>(toks.size())};
        const int32_t ctx = static_cast<int32_t>(toks.size());
        const int32_t row = ctx - 1;
        StepInputs in;
        in.tokens = toks;
        in.positions = pos;
        in.slot_mapping = slots;
        in.query_start = qs;
        in.context_lens = std::span<const int32_t>(&ctx, 1);
        in.block_tables = std::span<const int32_t>(&block, 1);
        in.max_blocks_per_seq = 1;
        in.logit_rows = std::span<const int32_t>(&row, 1);
        std::vector<float> logits;
        EXPECT_TRUE(t.forward(in, logits).is_ok());
        return logits;
    };
    const std::vector<float> alone_a = run_one(a, block_a);
    const std::vector<float> alone_b = run_one(b, block_b);

    std::vector<TokenId> toks = a;
    toks.insert(toks.end(), b.begin(), b.end());
    std::vector<int32_t> pos;
    std::vector<int64_t> slots;
    for (size_t i = 0; i < a.size(); ++i) {
        pos.push_back(static_cast<int32_t>(i));
        slots.push_back(int64_t{block_a} * 16 + static_cast<int64_t>(i));
    }
    for (size_t i = 0; i < b.size(); ++i) {
        pos.push_back(static_cast<int32_t>(i));
        slots.push_back(int64_t{block_b} * 16 + static_cast<int64_t>(i));
    }
    const int32_t qs[3] = {0, 5, 11};
    const int32_t ctx[2] = {5, 6};
    const int32_t tables[2] = {block_a, block_b};
    const int32_t rows[2] = {10, 4};  // b's last token first: rows come back in the order asked
    StepInputs in;
    in.tokens = toks;
    in.positions = pos;
    in.slot_mapping = slots;
    in.query_start = qs;
    in.context_lens = ctx;
    in.block_tables = tables;
    in.max_blocks_per_seq = 1;
    in.logit_rows = rows;
    std::vector<float> both;
    ASSERT_TRUE(t.forward(in, both).is_ok());
    ASSERT_EQ(both.size(), 2u * 512);
    for (size_t i = 0; i < 512; ++i) {
        ASSERT_NEAR(both[i], alone_b[i], 1e-3f) << "sequence b, logit " << i;
        ASSERT_NEAR(both[512 + i], alone_a[i], 1e-3f) << "sequence a, logit " << i;
    }
}

TEST_F(Stories260K, PromptLongerThanTheCacheIsAnError) {
    Loaded l = load(1);
    ASSERT_TRUE(l.model);
    Transformer& t = l.model->transformer();
    ASSERT_TRUE(t.init_kv_cache(t.kv_cache_config(1)).is_ok());
    BlockAllocator blocks(1);
    Sampler sampler(greedy());
    std::vector<TokenId> prompt(17, 403);
    SequenceRunner runner(t, blocks);
    auto r = runner.run(prompt, sampler, RunOptions{}, RunCallbacks{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::out_of_memory);
    EXPECT_EQ(blocks.n_free(), 1);

    // A token outside the vocabulary is refused, not read out of bounds.
    std::vector<TokenId> bad = {1, 512};
    auto r2 = runner.run(bad, sampler, RunOptions{}, RunCallbacks{});
    ASSERT_FALSE(r2.is_ok());
    EXPECT_EQ(r2.status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(blocks.n_free(), 1);
}

}  // namespace
}  // namespace pagoda
