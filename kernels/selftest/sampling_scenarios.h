// Rows of logits for the GPU sampling checks (CUDA-free, shared by the device cases and
// the emulated kernels): random rows plus the awkward ones: ties, all -inf, NaNs, the
// maximum in the last column, a constant row.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace pagoda::gpu_parity {

constexpr int32_t kSamplingRows = 8;

// [kSamplingRows, vocab]; vocab >= 64.
std::vector<float> sampling_logits(int64_t vocab, uint64_t seed);
// TokenSampler::argmax of every row.
std::vector<int32_t> reference_argmax(std::span<const float> logits, int64_t vocab);
// softmax(logits / temperature) per row in double; rows without a finite maximum or with
// a NaN are left NaN (the kernels' contract). Returns the row mask of defined rows.
std::vector<float> reference_softmax(std::span<const float> logits, int64_t vocab, float temperature,
                                     std::vector<bool>& defined);

}  // namespace pagoda::gpu_parity
