#include "sample/row_sampler.h"

#include <limits>

#include "sample/logits_processors.h"

namespace pagoda {

RowSamplingRequest row_sampling_request(const SamplingParams& p, int32_t row) {
    RowSamplingRequest r;
    r.row = row;
    r.temperature = p.temperature;
    r.top_k = p.top_k;
    r.top_p = p.top_p;
    r.min_p = p.min_p;
    r.repetition_penalty = p.repetition_penalty;
    r.presence_penalty = p.presence_penalty;
    r.frequency_penalty = p.frequency_penalty;
    r.logit_bias = p.logit_bias;
    r.logprobs = p.logprobs;
    r.top_logprobs = p.logprobs ? p.top_logprobs : 0;
    return r;
}

RowSamplingResult RowSampler::sample(std::span<const float> raw, const RowSamplingRequest& r,
                                     std::span<const uint64_t> allowed) {
    std::span<const float> use = raw;
    if (!r.logit_bias.empty() || !r.penalties.empty() || !allowed.empty()) {
        processed_.assign(raw.begin(), raw.end());
        apply_logit_bias(processed_, r.logit_bias);
        apply_penalties(processed_, r.penalties, {r.repetition_penalty, r.presence_penalty, r.frequency_penalty});
        if (!allowed.empty()) {
            // A masked token can never be drawn: it leaves top-k/top-p/min-p with -inf.
            constexpr float kMasked = -std::numeric_limits<float>::infinity();
            for (size_t t = 0; t < processed_.size(); ++t) {
                if (!((allowed[t >> 6] >> (t & 63)) & 1u)) processed_[t] = kMasked;
            }
        }
        use = processed_;
    }
    RowSamplingResult out;
    out.token = picker_.pick(use, {r.temperature, r.top_k, r.top_p, r.min_p}, r.uniform);
    if (r.logprobs || r.top_logprobs > 0) out.logprobs = compute_logprobs(raw, out.token, r.top_logprobs);
    return out;
}

}  // namespace pagoda
