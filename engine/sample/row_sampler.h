// The host implementation of a RowSamplingRequest (backend/row_sampling.h): what the
// engine runs for backends whose logits are in host memory, for rows a device hands
// back (needs_host), and the reference the device kernels are checked against.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/row_sampling.h"
#include "pagoda/request.h"
#include "sample/token_sampler.h"

namespace pagoda {

// A request's filters, penalty strengths, logit bias and log-probability wishes for one
// row. What belongs to the sequence (its random number, its penalty counts) is the
// caller's to fill in.
RowSamplingRequest row_sampling_request(const SamplingParams& p, int32_t row);

class RowSampler {
public:
    // raw: the row's logits as the model produced them ([vocab]). allowed (constrained
    // decoding): bit t of word t/64 set <=> token t may be chosen; at least one must be.
    // Log-probabilities stay those of the raw distribution.
    RowSamplingResult sample(std::span<const float> raw, const RowSamplingRequest& r,
                             std::span<const uint64_t> allowed = {});

private:
    std::vector<float> processed_;
    TokenPicker picker_;
};

}  // namespace pagoda
