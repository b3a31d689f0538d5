#include "sampling_scenarios.h"

#include <cmath>
#include <limits>

#include "parity_util.h"
#include "sample/token_sampler.h"

namespace pagoda::gpu_parity {

std::vector<float> sampling_logits(int64_t vocab, uint64_t seed) {
    std::vector<float> l = random_normal(static_cast<size_t>(kSamplingRows * vocab), seed, 3.0f);
    auto row = [&](int r) { return l.data() + r * vocab; };
    const float inf = std::numeric_limits<float>::infinity();
    // 1: a tie for the maximum in two threads' strides: the lower id wins.
    row(1)[10] = 50.0f;
    row(1)[vocab - 7] = 50.0f;
    // 2: nothing above -inf.
    for (int64_t i = 0; i < vocab; ++i) row(2)[i] = -inf;
    // 3: NaNs (never picked) around a clear maximum.
    for (int64_t i = 0; i < vocab; i += 5) row(3)[i] = std::numeric_limits<float>::quiet_NaN();
    row(3)[33] = 40.0f;
    // 4: the maximum in the last column, most of the row -inf.
    for (int64_t i = 0; i < vocab / 2; ++i) row(4)[i] = -inf;
    row(4)[vocab - 1] = 30.0f;
    // 5: a constant row: id 0.
    for (int64_t i = 0; i < vocab; ++i) row(5)[i] = 1.25f;
    // 6: large magnitudes (the softmax must subtract the maximum).
    for (int64_t i = 0; i < vocab; ++i) row(6)[i] *= 100.0f;
    return l;
}

std::vector<int32_t> reference_argmax(std::span<const float> logits, int64_t vocab) {
    std::vector<int32_t> ids;
    for (size_t r = 0; r * vocab < logits.size(); ++r) {
        ids.push_back(TokenSampler::argmax(logits.subspan(r * vocab, static_cast<size_t>(vocab))));
    }
    return ids;
}

std::vector<float> reference_softmax(std::span<const float> logits, int64_t vocab, float temperature,
                                     std::vector<bool>& defined) {
    std::vector<float> p(logits.size(), std::numeric_limits<float>::quiet_NaN());
    defined.clear();
    for (size_t r = 0; r * vocab < logits.size(); ++r) {
        const float* row = logits.data() + r * vocab;
        double m = -INFINITY;
        bool nan = false;
        for (int64_t i = 0; i < vocab; ++i) {
            const double v = static_cast<double>(row[i] * (1.0f / temperature));
            nan = nan || std::isnan(v);
            if (v > m) m = v;
        }
        defined.push_back(!nan && m > -INFINITY);
        if (!defined.back()) continue;
        double sum = 0.0;
        for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i] * (1.0f / temperature)) - m);
        for (int64_t i = 0; i < vocab; ++i) {
            p[r * vocab + i] = static_cast<float>(std::exp(static_cast<double>(row[i] * (1.0f / temperature)) - m) / sum);
        }
    }
    return p;
}

}  // namespace pagoda::gpu_parity
