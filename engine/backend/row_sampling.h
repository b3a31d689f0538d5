// One step's token choices, described so a backend can make them next to the logits: a
// GPU then copies back a token id (and the requested log-probabilities) per row instead
// of [rows, vocab] floats, which at batch 128 and a 128k vocabulary is 65 MB a step.
//
// The random draw stays on the host: each sequence's generator gives `uniform`, so a
// seeded request picks the same tokens on every backend. The processing order is the
// host sampler's (sample/token_sampler.h, sample/logits_processors.h):
//   logit_bias (in list order) -> repetition penalty (tokens seen in prompt or output)
//   -> presence/frequency penalties (output counts) -> greedy argmax, or
//   top_k -> top_p -> min_p (at temperature 1) -> temperature -> draw with `uniform`.
// Log-probabilities come from the raw row (before bias and penalties), as OpenAI's.
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "pagoda/request.h"
#include "pagoda/types.h"

namespace pagoda {

// A token the penalties know about: seen in the prompt or output, and how often it was
// generated (0 for prompt-only tokens). Tokens are unique within a row's list.
struct PenaltyEntry {
    TokenId token = 0;
    int32_t output_count = 0;
};

struct RowSamplingRequest {
    int32_t row = 0;  // logits row; several requests may share one (parallel samples)
    float temperature = 0.0f;  // <= 0: greedy
    int32_t top_k = 0;
    float top_p = 1.0f;
    float min_p = 0.0f;
    float repetition_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    double uniform = 0.0;  // [0, 1), drawn from the sequence's stream when temperature > 0
    std::span<const std::pair<TokenId, float>> logit_bias;
    std::span<const PenaltyEntry> penalties;  // empty when no penalty is active
    bool logprobs = false;     // log-probability of the chosen token
    int32_t top_logprobs = 0;  // and of the k most likely (0..kMaxTopLogprobs)
};

inline constexpr int32_t kMaxTopLogprobs = 20;

struct RowSamplingResult {
    TokenId token = 0;
    // The backend could not choose this row's token (e.g. top_k or the top_p nucleus is
    // wider than it sorts on the device): the caller reads the row and samples it on
    // the host with the same request, `uniform` included. Nothing else is set.
    bool needs_host = false;
    SampledLogprobs logprobs;  // when logprobs or top_logprobs were asked for
};

}  // namespace pagoda
