// The sampler stages: logit_bias, penalties, greedy / top-k / top-p / min-p /
// temperature draws with per-sequence seeds, and logprobs.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "sample/logits_processors.h"
#include "sample/row_sampler.h"
#include "sample/token_sampler.h"

namespace pagoda {
namespace {

SamplingParams hot(float temperature = 1.0f) {
    SamplingParams p;
    p.temperature = temperature;
    return p;
}

TEST(TokenSampler, GreedyIsArgmaxWithLowestIdOnTies) {
    TokenSampler s(1);
    SamplingParams p;
    p.temperature = 0.0f;
    const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
    EXPECT_EQ(s.sample(logits, p), 1);
    const std::vector<float> with_nan = {NAN, 0.1f, NAN};
    EXPECT_EQ(s.sample(with_nan, p), 1);
}

TEST(TokenSampler, SameSeedSameTokensOtherSeedOtherTokens) {
    std::vector<float> logits(64);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i)) * 2.0f;
    auto draw = [&](uint64_t seed) {
        TokenSampler s(seed);
        std::vector<TokenId> out;
        for (int i = 0; i < 50; ++i) out.push_back(s.sample(logits, hot()));
        return out;
    };
    EXPECT_EQ(draw(7), draw(7));
    EXPECT_NE(draw(7), draw(8));
    EXPECT_EQ(derive_seed(7, 0), 7u);
    EXPECT_NE(derive_seed(7, 1), derive_seed(7, 2));
}

TEST(TokenSampler, DrawsFollowTheDistribution) {
    const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    TokenSampler s(123);
    std::map<TokenId, int> counts;
    const int n = 20000;
    for (int i = 0; i < n; ++i) ++counts[s.sample(logits, hot())];
    EXPECT_NEAR(counts[0] / double(n), 0.5, 0.02);
    EXPECT_NEAR(counts[1] / double(n), 0.3, 0.02);
    EXPECT_NEAR(counts[2] / double(n), 0.2, 0.02);
    // Temperature 0.5 squares the odds: 25 : 9 : 4.
    counts.clear();
    for (int i = 0; i < n; ++i) ++counts[s.sample(logits, hot(0.5f))];
    EXPECT_NEAR(counts[0] / double(n), 25.0 / 38, 0.02);
    EXPECT_NEAR(counts[2] / double(n), 4.0 / 38, 0.02);
}

TEST(TokenSampler, FiltersCutTheTail) {
    const std::vector<float> logits = {std::log(0.1f), std::log(0.6f), std::log(0.25f), std::log(0.05f)};
    auto support = [&](SamplingParams p) {
        TokenSampler s(5);
        std::map<TokenId, int> seen;
        for (int i = 0; i < 3000; ++i) ++seen[s.sample(logits, p)];
        std::vector<TokenId> ids;
        for (const auto& [id, c] : seen) ids.push_back(id);
        return ids;
    };
    SamplingParams p = hot(2.0f);
    EXPECT_EQ(support(p), (std::vector<TokenId>{0, 1, 2, 3}));
    p.top_k = 2;
    EXPECT_EQ(support(p), (std::vector<TokenId>{1, 2}));
    p = hot(2.0f);
    p.top_p = 0.8f;  // 0.6 + 0.25 reaches 0.8
    EXPECT_EQ(support(p), (std::vector<TokenId>{1, 2}));
    p.top_p = 0.5f;
    EXPECT_EQ(support(p), (std::vector<TokenId>{1}));
    p = hot(2.0f);
    p.min_p = 0.2f;  // keep p >= 0.12
    EXPECT_EQ(support(p), (std::vector<TokenId>{1, 2}));
    p.min_p = 1.0f;
    EXPECT_EQ(support(p), (std::vector<TokenId>{1}));
}

TEST(TokenSampler, InfinitiesAndEmptyRows) {
    TokenSampler s(1);
    const std::vector<float> all_neg_inf = {-INFINITY, -INFINITY};
    EXPECT_EQ(s.sample(all_neg_inf, hot()), 0);
    const std::vector<float> one_inf = {0.0f, INFINITY, 1.0f};
    EXPECT_EQ(s.sample(one_inf, hot()), 1);
    const std::vector<float> masked = {-INFINITY, 0.0f, -INFINITY};
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(masked, hot()), 1);
}

TEST(LogitsProcessors, BiasAndPenalties) {
    std::vector<float> logits = {1.0f, -1.0f, 2.0f, 0.5f};
    const std::vector<std::pair<TokenId, float>> bias = {{3, -100.0f}, {0, 1.5f}, {99, 5.0f}};
    apply_logit_bias(logits, bias);
    EXPECT_FLOAT_EQ(logits[0], 2.5f);
    EXPECT_FLOAT_EQ(logits[3], -99.5f);

    PenaltyState st;
    const std::vector<TokenId> prompt = {0, 1};
    st.add_prompt(prompt);
    st.add_output(2);
    st.add_output(2);
    SamplingParams p;
    p.repetition_penalty = 2.0f;
    std::vector<float> l = {4.0f, -4.0f, 6.0f, 1.0f};
    apply_penalties(l, st, p);
    EXPECT_EQ(l, (std::vector<float>{2.0f, -8.0f, 3.0f, 1.0f}));

    p = SamplingParams{};
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    l = {4.0f, -4.0f, 6.0f, 1.0f};
    apply_penalties(l, st, p);
    EXPECT_EQ(l, (std::vector<float>{4.0f, -4.0f, 6.0f - 0.5f - 0.5f, 1.0f})) << "prompt tokens are not penalized";
    EXPECT_FALSE(penalties_enabled(SamplingParams{}));
    EXPECT_TRUE(penalties_enabled(p));
}

TEST(Logprobs, MatchTheLogSoftmax) {
    const std::vector<float> logits = {1.0f, 3.0f, 2.0f, -INFINITY};
    const SampledLogprobs lp = compute_logprobs(logits, 2, 3);
    const double z = std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0));
    EXPECT_NEAR(lp.logprob, 2.0 - z, 1e-6);
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_EQ(lp.top[0].token, 1);
    EXPECT_EQ(lp.top[1].token, 2);
    EXPECT_EQ(lp.top[2].token, 0);
    EXPECT_NEAR(lp.top[0].logprob, 3.0 - z, 1e-6);
    EXPECT_TRUE(compute_logprobs(logits, 0, 0).top.empty());
    EXPECT_EQ(compute_logprobs(logits, 3, 0).logprob, -INFINITY);
}

TEST(PenaltyState, OneEntryPerTokenInFirstSeenOrderWithOutputCounts) {
    PenaltyState st;
    const std::vector<TokenId> prompt = {5, 3, 5, 9};
    st.add_prompt(prompt);
    st.add_output(3);
    st.add_output(11);
    st.add_output(3);
    const auto e = st.entries();
    ASSERT_EQ(e.size(), 4u);
    EXPECT_EQ(e[0].token, 5);
    EXPECT_EQ(e[0].output_count, 0);
    EXPECT_EQ(e[1].token, 3);
    EXPECT_EQ(e[1].output_count, 2);
    EXPECT_EQ(e[2].token, 9);
    EXPECT_EQ(e[3].token, 11);
    EXPECT_EQ(e[3].output_count, 1);
}

// The row sampler (what a device is checked against) picks what a TokenSampler with the
// same stream picks from the processed row, and takes log-probabilities from the raw one.
TEST(RowSampler, MatchesTokenSamplerOnTheProcessedRow) {
    std::vector<float> raw(64);
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = std::sin(static_cast<float>(i) * 1.7f) * 3.0f;
    SamplingParams p = hot(0.8f);
    p.top_k = 20;
    p.top_p = 0.9f;
    p.min_p = 0.02f;
    p.repetition_penalty = 1.3f;
    p.frequency_penalty = 0.4f;
    p.logit_bias = {{4, 1.5f}, {60, -INFINITY}};
    PenaltyState st;
    const std::vector<TokenId> prompt = {1, 2, 3, 30};
    st.add_prompt(prompt);
    st.add_output(2);

    std::vector<float> processed = raw;
    apply_logit_bias(processed, p.logit_bias);
    apply_penalties(processed, st, p);
    TokenSampler by_hand(42);
    TokenSampler stream(42);
    RowSampler rows;
    int differing_rows = 0;
    for (int draw = 0; draw < 200; ++draw) {
        RowSamplingRequest r = row_sampling_request(p, 0);
        r.uniform = stream.next_uniform();
        r.penalties = st.entries();
        r.logprobs = true;
        r.top_logprobs = 3;
        const RowSamplingResult got = rows.sample(raw, r);
        const TokenId want = by_hand.sample(processed, p);
        EXPECT_EQ(got.token, want) << "draw " << draw;
        EXPECT_FALSE(got.needs_host);
        EXPECT_EQ(got.logprobs.logprob, compute_logprobs(raw, want, 3).logprob);
        ASSERT_EQ(got.logprobs.top.size(), 3u);
        differing_rows += got.token != TokenSampler::argmax(processed);
        EXPECT_NE(got.token, 60) << "masked by the bias";
    }
    EXPECT_GT(differing_rows, 10) << "the draws are not all greedy";
}

}  // namespace
}  // namespace pagoda
