#include "sample/sampler.h"

#include <algorithm>
#include <cmath>

namespace pagoda {

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

TokenId Sampler::argmax(std::span<const float> logits) {
    TokenId best = 0;
    float best_value = -INFINITY;
    for (size_t i = 0; i < logits.size(); ++i) {
        if (logits[i] > best_value) {  // NaN never compares greater
            best_value = logits[i];
            best = static_cast<TokenId>(i);
        }
    }
    return best;
}

TokenId Sampler::sample(std::span<const float> logits) {
    if (logits.empty()) return 0;
    if (!(params_.temperature > 0.0f)) return argmax(logits);

    candidates_.clear();
    for (size_t i = 0; i < logits.size(); ++i) {
        if (logits[i] > -INFINITY) candidates_.emplace_back(logits[i], static_cast<TokenId>(i));
    }
    if (candidates_.empty()) return 0;
    // Descending logit, then ascending id, so ties resolve the same everywhere.
    auto before = [](const std::pair<float, TokenId>& a, const std::pair<float, TokenId>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    const size_t n = candidates_.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
        std::partial_sort(candidates_.begin(), candidates_.begin() + params_.top_k, candidates_.end(), before);
        candidates_.resize(static_cast<size_t>(params_.top_k));
    } else {
        std::sort(candidates_.begin(), candidates_.end(), before);
    }

    // Probabilities at temperature 1 for the top-p and min-p cuts.
    auto softmax = [&](float inv_temp) {
        probs_.resize(candidates_.size());
        const double max_logit = candidates_.front().first;
        double sum = 0.0;
        for (size_t i = 0; i < candidates_.size(); ++i) {
            probs_[i] = std::exp((static_cast<double>(candidates_[i].first) - max_logit) * inv_temp);
            sum += probs_[i];
        }
        for (double& p : probs_) p /= sum;
    };
    softmax(1.0f);
    if (params_.top_p < 1.0f) {
        double cumulative = 0.0;
        size_t keep = candidates_.size();
        for (size_t i = 0; i < candidates_.size(); ++i) {
            cumulative += probs_[i];
            if (cumulative >= params_.top_p) {
                keep = i + 1;
                break;
            }
        }
        candidates_.resize(keep);
        probs_.resize(keep);
    }
    if (params_.min_p > 0.0f) {
        const double threshold = probs_.front() * params_.min_p;
        size_t keep = 1;
        while (keep < candidates_.size() && probs_[keep] >= threshold) ++keep;
        candidates_.resize(keep);
    }

    softmax(1.0f / params_.temperature);
    const double u = uniform();
    double cumulative = 0.0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
        cumulative += probs_[i];
        if (u < cumulative) return candidates_[i].second;
    }
    return candidates_.back().second;  // rounding left u just above the total
}

}  // namespace pagoda
