// Draws one token from a (processed) row of logits with a per-sequence random stream:
// greedy, or top_k -> top_p -> min_p -> temperature -> draw (llama.cpp's default order;
// top_p and min_p see the temperature-1 distribution). Each sequence owns its generator,
// and every token sampled at temperature > 0 consumes exactly one number from it (even
// when the row leaves no choice), so a seeded request gives the same tokens whatever
// else is in the batch and whichever backend draws.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "pagoda/request.h"
#include "pagoda/types.h"

namespace pagoda {

// The seed of sample `index` of a request seeded with `seed` (index 0 keeps the seed).
uint64_t derive_seed(uint64_t seed, int32_t index);

// What decides a draw besides the random number (SamplingParams' sampling fields).
struct DrawParams {
    float temperature = 0.0f;  // <= 0: greedy
    int32_t top_k = 0;
    float top_p = 1.0f;
    float min_p = 0.0f;
};

// The deterministic part of sampling: the token the draw u in [0, 1) picks from a row
// after the filters. Shared by TokenSampler and the engine's per-row sampler, so a
// device that receives u (backend/row_sampling.h) can be checked against it exactly.
class TokenPicker {
public:
    // NaN logits are never picked; if nothing is finite the result is token 0.
    TokenId pick(std::span<const float> logits, const DrawParams& p, double u);

private:
    std::vector<std::pair<float, TokenId>> candidates_;
    std::vector<double> probs_;
};

class TokenSampler {
public:
    explicit TokenSampler(uint64_t seed) : rng_(seed) {}

    // The next number of this sequence's stream, in [0, 1), from the raw generator bits
    // (the same on every platform). Each token sampled at temperature > 0 takes one.
    double next_uniform();

    TokenId sample(std::span<const float> logits, const SamplingParams& p);

    static TokenId argmax(std::span<const float> logits);

private:
    std::mt19937_64 rng_;
    TokenPicker picker_;
};

// Log-probabilities (natural log) of `token` and of the top_k most likely tokens.
SampledLogprobs compute_logprobs(std::span<const float> logits, TokenId token, int32_t top_k);

}  // namespace pagoda
