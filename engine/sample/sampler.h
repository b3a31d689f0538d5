// Picks the next token from a row of logits: greedy, or temperature sampling after
// top-k, top-p and min-p filtering, in llama.cpp's default order
// (top_k -> top_p -> min_p -> temperature -> draw). The single-sequence runner's sampler
// (sched/sequence_runner.h); the Engine samples with sample/token_sampler.h and
// sample/logits_processors.h (per-sequence seeds, penalties, logit_bias, logprobs).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "pagoda/types.h"

namespace pagoda {

struct SamplerParams {
    float temperature = 0.8f;  // <= 0: greedy (argmax, lowest id on ties)
    int32_t top_k = 40;        // <= 0: off
    float top_p = 0.95f;       // >= 1: off
    float min_p = 0.05f;       // <= 0: off
    uint64_t seed = 0;         // same seed, same logits -> same tokens, on every platform
};

class Sampler {
public:
    explicit Sampler(const SamplerParams& params);

    // logits: [n_vocab]. NaN logits are never picked; if every logit is NaN or -inf the
    // result is token 0.
    TokenId sample(std::span<const float> logits);

    const SamplerParams& params() const { return params_; }

    static TokenId argmax(std::span<const float> logits);

private:
    double uniform();  // [0, 1), from the raw engine bits so it does not depend on the STL

    SamplerParams params_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, TokenId>> candidates_;  // (logit, id), reused between calls
    std::vector<double> probs_;
};

}  // namespace pagoda
