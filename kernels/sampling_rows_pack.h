// RowSamplingRequests (backend/row_sampling.h) to and from the kernels' jobs and results
// (sampling_launch.h): the checks, the packing into one upload and the unpacking of the
// download. Header-only plain C++, so CudaBackend::sample_rows and the emulator checks
// (which rename namespace pagoda::cuda) run the same code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "backend/row_sampling.h"
#include "pagoda/status.h"
#include "sampling_launch.h"

namespace pagoda::cuda {

static_assert(kRowSampleMaxTop == kMaxTopLogprobs, "a RowSampleResult holds every top log-probability");

struct RowSampleCounts {
    size_t n_bias = 0;
    size_t n_penalties = 0;
    size_t n_processed = 0;  // requests with bias or penalties: a scratch row each
    bool any_logprobs = false;
};

// Every request reads a row of `rows` and asks for at most kMaxTopLogprobs; counts the lists.
inline Status check_row_requests(std::span<const RowSamplingRequest> requests, int64_t rows,
                                 RowSampleCounts& counts) {
    counts = {};
    if (requests.size() > INT32_MAX) return invalid_argument("sample_rows: too many requests");
    for (size_t i = 0; i < requests.size(); ++i) {
        const RowSamplingRequest& r = requests[i];
        const std::string which = "sample_rows: request " + std::to_string(i);
        if (r.row < 0 || r.row >= rows) {
            return invalid_argument(which + " reads row " + std::to_string(r.row) + " of " + std::to_string(rows));
        }
        if (r.top_logprobs < 0 || r.top_logprobs > kMaxTopLogprobs) {
            return invalid_argument(which + " asks for " + std::to_string(r.top_logprobs) +
                                    " top log-probabilities (0.." + std::to_string(kMaxTopLogprobs) + ")");
        }
        if (r.logit_bias.size() > INT32_MAX || r.penalties.size() > INT32_MAX) {
            return invalid_argument(which + " has more than 2^31 - 1 bias or penalty entries");
        }
        counts.n_bias += r.logit_bias.size();
        counts.n_penalties += r.penalties.size();
        counts.n_processed += !r.logit_bias.empty() || !r.penalties.empty();
        counts.any_logprobs = counts.any_logprobs || r.logprobs || r.top_logprobs > 0;
    }
    return Status::ok();
}

// Where the jobs' pointers lead: the logits ([rows, vocab]), the bias and penalty arrays
// as the kernels see them, and n_processed scratch rows of [vocab].
struct RowSampleTargets {
    const float* logits;
    int64_t vocab;
    const RowSampleBias* bias;
    const RowSamplePenalty* penalties;
    float* processed;
};

// jobs[i] for requests[i]; bias and penalties: host copies of the arrays behind targets.
inline void pack_row_jobs(std::span<const RowSamplingRequest> requests, const RowSampleTargets& t,
                          RowSampleJob* jobs, RowSampleBias* bias, RowSamplePenalty* penalties) {
    const size_t vocab = static_cast<size_t>(t.vocab);
    size_t b = 0, p = 0, processed = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
        const RowSamplingRequest& r = requests[i];
        RowSampleJob& j = jobs[i];
        std::memset(static_cast<void*>(&j), 0, sizeof j);
        j.raw = t.logits + static_cast<size_t>(r.row) * vocab;
        if (!r.logit_bias.empty() || !r.penalties.empty()) j.processed = t.processed + processed++ * vocab;
        j.bias = t.bias + b;
        j.n_bias = static_cast<int32_t>(r.logit_bias.size());
        for (const auto& [token, value] : r.logit_bias) bias[b++] = {token, value};
        j.penalties = t.penalties + p;
        j.n_penalties = static_cast<int32_t>(r.penalties.size());
        for (const PenaltyEntry& e : r.penalties) penalties[p++] = {e.token, e.output_count};
        j.uniform = r.uniform;
        j.temperature = r.temperature;
        j.top_p = r.top_p;
        j.min_p = r.min_p;
        j.repetition = r.repetition_penalty;
        j.presence = r.presence_penalty;
        j.frequency = r.frequency_penalty;
        j.top_k = r.top_k;
        j.logprobs = r.logprobs ? 1 : 0;
        j.top_logprobs = r.top_logprobs;
    }
}

inline RowSamplingResult unpack_row_result(const RowSampleResult& in, const RowSamplingRequest& request) {
    RowSamplingResult out;
    if (in.needs_host) {
        out.needs_host = true;
        return out;
    }
    out.token = in.token;
    if (request.logprobs || request.top_logprobs > 0) {
        out.logprobs.token = in.token;
        out.logprobs.logprob = in.logprob;
        for (int32_t k = 0; k < in.n_top && k < kRowSampleMaxTop; ++k) {
            out.logprobs.top.push_back({in.top_ids[k], in.top_logprobs[k]});
        }
    }
    return out;
}

}  // namespace pagoda::cuda
