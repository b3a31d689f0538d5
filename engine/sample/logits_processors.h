// The stages that reshape a row of logits before a token is drawn: logit_bias, then the
// repetition penalty (HF / llama.cpp: over prompt and output tokens) and the OpenAI
// presence and frequency penalties (over output tokens).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "pagoda/request.h"
#include "pagoda/types.h"

namespace pagoda {

// What the penalties need to know about one sequence, kept up to date token by token.
class PenaltyState {
public:
    void add_prompt(std::span<const TokenId> prompt);
    void add_output(TokenId token);

    const std::unordered_set<TokenId>& seen() const { return seen_; }  // prompt and output
    const std::unordered_map<TokenId, int32_t>& output_counts() const { return output_counts_; }

private:
    std::unordered_set<TokenId> seen_;
    std::unordered_map<TokenId, int32_t> output_counts_;
};

// Whether any penalty in p is active (so callers can skip PenaltyState upkeep).
bool penalties_enabled(const SamplingParams& p);

// logits[token] += bias for each pair (ids outside the row are ignored).
void apply_logit_bias(std::span<float> logits, const std::vector<std::pair<TokenId, float>>& bias);
void apply_penalties(std::span<float> logits, const PenaltyState& state, const SamplingParams& p);

}  // namespace pagoda
