// Draws one token from a (processed) row of logits with a per-sequence random stream:
// greedy, or top_k -> top_p -> min_p -> temperature -> draw (llama.cpp's default order;
// top_p and min_p see the temperature-1 distribution). Each sequence owns its generator,
// and a draw consumes exactly one number from it, so a seeded request gives the same
// tokens whatever else is in the batch.
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

class TokenSampler {
public:
    explicit TokenSampler(uint64_t seed) : rng_(seed) {}

    // NaN logits are never picked; if nothing is finite the result is token 0.
    TokenId sample(std::span<const float> logits, const SamplingParams& p);

    static TokenId argmax(std::span<const float> logits);

private:
    double uniform();  // [0, 1) from the raw generator bits, the same on every platform

    std::mt19937_64 rng_;
    std::vector<std::pair<float, TokenId>> candidates_;
    std::vector<double> probs_;
};

// Log-probabilities (natural log) of `token` and of the top_k most likely tokens.
SampledLogprobs compute_logprobs(std::span<const float> logits, TokenId token, int32_t top_k);

}  // namespace pagoda
