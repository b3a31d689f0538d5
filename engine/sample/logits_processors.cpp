#include "sample/logits_processors.h"

namespace pagoda {

void PenaltyState::add_prompt(std::span<const TokenId> prompt) { seen_.insert(prompt.begin(), prompt.end()); }

void PenaltyState::add_output(TokenId token) {
    seen_.insert(token);
    ++output_counts_[token];
}

bool penalties_enabled(const SamplingParams& p) {
    return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

void apply_logit_bias(std::span<float> logits, const std::vector<std::pair<TokenId, float>>& bias) {
    for (const auto& [token, value] : bias) {
        if (token >= 0 && static_cast<size_t>(token) < logits.size()) logits[static_cast<size_t>(token)] += value;
    }
}

void apply_penalties(std::span<float> logits, const PenaltyState& state, const SamplingParams& p) {
    const auto in_row = [&](TokenId t) { return t >= 0 && static_cast<size_t>(t) < logits.size(); };
    if (p.repetition_penalty != 1.0f && p.repetition_penalty > 0.0f) {
        for (TokenId t : state.seen()) {
            if (!in_row(t)) continue;
            float& l = logits[static_cast<size_t>(t)];
            l = l > 0.0f ? l / p.repetition_penalty : l * p.repetition_penalty;
        }
    }
    if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
        for (const auto& [t, count] : state.output_counts()) {
            if (!in_row(t)) continue;
            logits[static_cast<size_t>(t)] -= p.presence_penalty + p.frequency_penalty * static_cast<float>(count);
        }
    }
}

}  // namespace pagoda
