#include "sample/logits_processors.h"

#include <cmath>

namespace pagoda {

PenaltyEntry& PenaltyState::entry(TokenId token) {
    const auto [it, added] = index_.try_emplace(token, entries_.size());
    if (added) entries_.push_back({token, 0});
    return entries_[it->second];
}

void PenaltyState::add_prompt(std::span<const TokenId> prompt) {
    for (TokenId t : prompt) entry(t);
}

void PenaltyState::add_output(TokenId token) { ++entry(token).output_count; }

bool penalties_enabled(const SamplingParams& p) {
    return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

void apply_logit_bias(std::span<float> logits, std::span<const std::pair<TokenId, float>> bias) {
    for (const auto& [token, value] : bias) {
        if (token >= 0 && static_cast<size_t>(token) < logits.size()) logits[static_cast<size_t>(token)] += value;
    }
}

void apply_penalties(std::span<float> logits, std::span<const PenaltyEntry> entries, const PenaltyParams& p) {
    const bool repetition = p.repetition != 1.0f && p.repetition > 0.0f;
    const bool additive = p.presence != 0.0f || p.frequency != 0.0f;
    for (const PenaltyEntry& e : entries) {
        if (e.token < 0 || static_cast<size_t>(e.token) >= logits.size()) continue;
        float& l = logits[static_cast<size_t>(e.token)];
        if (repetition) l = l > 0.0f ? l / p.repetition : l * p.repetition;
        // One rounding, whatever the compiler contracts: the device kernels use fmaf too.
        if (additive && e.output_count > 0) l -= std::fma(p.frequency, static_cast<float>(e.output_count), p.presence);
    }
}

void apply_penalties(std::span<float> logits, const PenaltyState& state, const SamplingParams& p) {
    apply_penalties(logits, state.entries(), {p.repetition_penalty, p.presence_penalty, p.frequency_penalty});
}

}  // namespace pagoda
