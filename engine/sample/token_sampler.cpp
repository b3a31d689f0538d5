#include "sample/token_sampler.h"

#include <algorithm>
#include <cmath>

#include "util/mix64.h"

namespace pagoda {
namespace {

// Descending logit, then ascending id, so ties resolve the same everywhere.
bool before(const std::pair<float, TokenId>& a, const std::pair<float, TokenId>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

uint64_t derive_seed(uint64_t seed, int32_t index) {
    if (index == 0) return seed;
    return mix64(seed + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(index));
}

double TokenSampler::next_uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

TokenId TokenSampler::sample(std::span<const float> logits, const SamplingParams& p) {
    if (!(p.temperature > 0.0f)) return argmax(logits);
    const double u = next_uniform();
    return picker_.pick(logits, {p.temperature, p.top_k, p.top_p, p.min_p}, u);
}

TokenId TokenSampler::argmax(std::span<const float> logits) {
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

TokenId TokenPicker::pick(std::span<const float> logits, const DrawParams& p, double u01) {
    if (logits.empty()) return 0;
    if (!(p.temperature > 0.0f)) return TokenSampler::argmax(logits);

    candidates_.clear();
    float max_logit = -INFINITY;
    for (size_t i = 0; i < logits.size(); ++i) {
        if (logits[i] == INFINITY) return static_cast<TokenId>(i);  // certain (a bias of +inf forces a token)
        if (logits[i] > -INFINITY) {
            candidates_.emplace_back(logits[i], static_cast<TokenId>(i));
            max_logit = std::max(max_logit, logits[i]);
        }
    }
    if (candidates_.empty()) return 0;

    // top_k: the k best, sorted.
    bool sorted = false;
    if (p.top_k > 0 && static_cast<size_t>(p.top_k) < candidates_.size()) {
        std::nth_element(candidates_.begin(), candidates_.begin() + p.top_k, candidates_.end(), before);
        candidates_.resize(static_cast<size_t>(p.top_k));
        std::sort(candidates_.begin(), candidates_.end(), before);
        sorted = true;
    }
    // top_p: the most likely tokens up to mass top_p (at temperature 1).
    if (p.top_p < 1.0f) {
        if (!sorted) std::sort(candidates_.begin(), candidates_.end(), before);
        sorted = true;
        const double top = candidates_.front().first;
        double sum = 0.0;
        probs_.resize(candidates_.size());
        for (size_t i = 0; i < candidates_.size(); ++i) {
            probs_[i] = std::exp(static_cast<double>(candidates_[i].first) - top);
            sum += probs_[i];
        }
        const double target = static_cast<double>(std::max(p.top_p, 0.0f)) * sum;
        double cumulative = 0.0;
        size_t keep = candidates_.size();
        for (size_t i = 0; i < candidates_.size(); ++i) {
            cumulative += probs_[i];
            if (cumulative >= target) {
                keep = i + 1;
                break;
            }
        }
        candidates_.resize(keep);
    }
    // min_p: drop tokens less likely than min_p times the most likely one.
    if (p.min_p > 0.0f) {
        const float best = sorted ? candidates_.front().first : max_logit;
        const double cut = static_cast<double>(best) + std::log(static_cast<double>(std::min(p.min_p, 1.0f)));
        // The best candidate always passes (log(min_p) <= 0), so at least one is kept.
        size_t out = 0;
        for (size_t i = 0; i < candidates_.size(); ++i) {
            if (static_cast<double>(candidates_[i].first) >= cut) candidates_[out++] = candidates_[i];
        }
        candidates_.resize(std::max<size_t>(out, 1));
    }

    // Temperature, then one draw.
    const double inv_temp = 1.0 / static_cast<double>(p.temperature);
    double top = -INFINITY;
    for (const auto& c : candidates_) top = std::max(top, static_cast<double>(c.first));
    probs_.resize(candidates_.size());
    double sum = 0.0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
        probs_[i] = std::exp((static_cast<double>(candidates_[i].first) - top) * inv_temp);
        sum += probs_[i];
    }
    const double u = u01 * sum;
    double cumulative = 0.0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
        cumulative += probs_[i];
        if (u < cumulative) return candidates_[i].second;
    }
    return candidates_.back().second;  // rounding left u just above the total
}

SampledLogprobs compute_logprobs(std::span<const float> logits, TokenId token, int32_t top_k) {
    SampledLogprobs out;
    out.token = token;
    double max_logit = -INFINITY;
    for (float l : logits) {
        if (l > max_logit) max_logit = l;  // NaN skipped
    }
    double sum = 0.0;
    for (float l : logits) {
        if (l > -INFINITY) sum += std::exp(static_cast<double>(l) - max_logit);
    }
    const double log_z = max_logit + std::log(sum);
    auto logprob = [&](float l) -> float {
        if (!(l > -INFINITY)) return -INFINITY;
        return static_cast<float>(static_cast<double>(l) - log_z);
    };
    if (token >= 0 && static_cast<size_t>(token) < logits.size())
        out.logprob = logprob(logits[static_cast<size_t>(token)]);
    if (top_k > 0) {
        std::vector<std::pair<float, TokenId>> all;
        all.reserve(logits.size());
        for (size_t i = 0; i < logits.size(); ++i) {
            if (!std::isnan(logits[i])) all.emplace_back(logits[i], static_cast<TokenId>(i));
        }
        const size_t k = std::min(all.size(), static_cast<size_t>(top_k));
        std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(k), all.end(), before);
        for (size_t i = 0; i < k; ++i) out.top.push_back({all[i].second, logprob(all[i].first)});
    }
    return out;
}

}  // namespace pagoda
