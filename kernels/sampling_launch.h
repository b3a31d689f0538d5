// Launchers of the GPU sampling kernels (sampling.cu), kept apart from kernel_launch.h:
// standalone ops that the engine does not use yet (it samples on the host).
// Plain C++, so host code and the CUDA emulator build against it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace pagoda::cuda {

constexpr int kSamplingThreads = 256;  // one block per row

// ids[r] = the index of the largest logit of row r, lowest index on ties; NaN and -inf
// never win; a row with nothing above -inf gives 0 (as TokenSampler::argmax).
struct ArgmaxRowsArgs {
    const float* logits;  // [rows, vocab]
    int32_t* ids;         // [rows]
    int32_t rows;
    int64_t vocab;  // <= INT32_MAX
};
cudaError_t launch_argmax_rows(const ArgmaxRowsArgs& a, cudaStream_t stream);

// probs[r] = softmax(logits[r] * inv_temperature), in fp32 with the max subtracted.
// -inf logits get probability 0; a row with nothing above -inf (or with a NaN) gives NaN.
struct SoftmaxRowsArgs {
    const float* logits;  // [rows, vocab]
    float* probs;         // [rows, vocab]; may alias logits
    int32_t rows;
    int64_t vocab;
    float inv_temperature;
};
cudaError_t launch_softmax_rows(const SoftmaxRowsArgs& a, cudaStream_t stream);

}  // namespace pagoda::cuda
