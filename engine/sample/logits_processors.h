// The stages that reshape a row of logits before a token is drawn: logit_bias, then the
// repetition penalty (HF / llama.cpp: over prompt and output tokens) and the OpenAI
// presence and frequency penalties (over output tokens).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/row_sampling.h"
#include "pagoda/request.h"
#include "pagoda/types.h"

namespace pagoda {

// What the penalties need to know about one sequence, kept up to date token by token:
// one entry per distinct token of prompt and output, in first-seen order (the list a
// device receives each step, see backend/row_sampling.h).
class PenaltyState {
public:
    void add_prompt(std::span<const TokenId> prompt);
    void add_output(TokenId token);

    std::span<const PenaltyEntry> entries() const { return entries_; }

private:
    PenaltyEntry& entry(TokenId token);

    std::unordered_map<TokenId, size_t> index_;  // token -> position in entries_
    std::vector<PenaltyEntry> entries_;
};

struct PenaltyParams {
    float repetition = 1.0f;  // 1: off
    float presence = 0.0f;
    float frequency = 0.0f;
};

// Whether any penalty in p is active (so callers can skip PenaltyState upkeep).
bool penalties_enabled(const SamplingParams& p);

// logits[token] += bias for each pair in order (ids outside the row are ignored).
void apply_logit_bias(std::span<float> logits, std::span<const std::pair<TokenId, float>> bias);
// Per entry: the repetition penalty (positive logits divided, negative multiplied), then
// minus presence x [count > 0] + frequency x count.
void apply_penalties(std::span<float> logits, std::span<const PenaltyEntry> entries, const PenaltyParams& p);
void apply_penalties(std::span<float> logits, const PenaltyState& state, const SamplingParams& p);

}  // namespace pagoda
