// GPU sampling ops over rows of logits: greedy argmax and temperature softmax. One block
// per row; block reductions go through shared memory (no shuffles of index pairs).
#include <cmath>

#include "cuda_common.cuh"
#include "sampling_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kThreads = kSamplingThreads;
constexpr int32_t kNoIndex = INT32_MAX;

// (value, index) order of argmax: larger value first, then the lower index.
__device__ __forceinline__ bool better(float v, int32_t i, float best_v, int32_t best_i) {
    return v > best_v || (v == best_v && i < best_i);
}

__global__ void __launch_bounds__(kThreads) argmax_rows_kernel(ArgmaxRowsArgs a) {
    __shared__ float s_val[kThreads];
    __shared__ int32_t s_idx[kThreads];
    const int tid = static_cast<int>(threadIdx.x);
    const float* row = a.logits + static_cast<int64_t>(blockIdx.x) * a.vocab;
    // Indices rise per thread, so a strict > keeps each thread's first maximum; NaN
    // never compares greater, -inf never beats the initial -inf.
    float best_v = -INFINITY;
    int32_t best_i = kNoIndex;
    for (int64_t i = tid; i < a.vocab; i += kThreads) {
        const float v = row[i];
        if (v > best_v) {
            best_v = v;
            best_i = static_cast<int32_t>(i);
        }
    }
    s_val[tid] = best_v;
    s_idx[tid] = best_i;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half >>= 1) {
        if (tid < half && better(s_val[tid + half], s_idx[tid + half], s_val[tid], s_idx[tid])) {
            s_val[tid] = s_val[tid + half];
            s_idx[tid] = s_idx[tid + half];
        }
        __syncthreads();
    }
    if (tid == 0) a.ids[blockIdx.x] = s_idx[0] == kNoIndex ? 0 : s_idx[0];
}

// Sum (or max) of one value per thread over the block; every thread gets the result.
template <bool kMax>
__device__ __forceinline__ float block_reduce(float v, float* scratch) {
    const int tid = static_cast<int>(threadIdx.x);
    scratch[tid] = v;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half >>= 1) {
        if (tid < half) scratch[tid] = kMax ? fmaxf(scratch[tid], scratch[tid + half]) : scratch[tid] + scratch[tid + half];
        __syncthreads();
    }
    const float r = scratch[0];
    __syncthreads();  // scratch is reused by the next reduction
    return r;
}

__global__ void __launch_bounds__(kThreads) softmax_rows_kernel(SoftmaxRowsArgs a) {
    __shared__ float scratch[kThreads];
    const int tid = static_cast<int>(threadIdx.x);
    const int64_t base = static_cast<int64_t>(blockIdx.x) * a.vocab;
    const float* row = a.logits + base;
    float* out = a.probs + base;
    float m = -INFINITY;
    bool nan = false;
    for (int64_t i = tid; i < a.vocab; i += kThreads) {
        const float v = row[i] * a.inv_temperature;
        nan = nan || v != v;
        m = fmaxf(m, v);
    }
    m = block_reduce<true>(m, scratch);
    const float any_nan = block_reduce<true>(nan ? 1.0f : 0.0f, scratch);
    float sum = 0.0f;
    for (int64_t i = tid; i < a.vocab; i += kThreads) sum += expf(row[i] * a.inv_temperature - m);
    sum = block_reduce<false>(sum, scratch);
    // Nothing above -inf (m = -inf) or a NaN: the distribution is undefined.
    const float inv = any_nan != 0.0f || m == -INFINITY ? NAN : 1.0f / sum;
    // Each thread rewrites only what it read, so probs may alias logits.
    for (int64_t i = tid; i < a.vocab; i += kThreads) out[i] = expf(row[i] * a.inv_temperature - m) * inv;
}

}  // namespace

cudaError_t launch_argmax_rows(const ArgmaxRowsArgs& a, cudaStream_t stream) {
    if (a.rows == 0) return cudaSuccess;
    if (!a.logits || !a.ids || a.rows < 0 || a.vocab <= 0 || a.vocab > INT32_MAX) return cudaErrorInvalidValue;
    PAGODA_LAUNCH(static_cast<unsigned int>(a.rows), kThreads, 0, stream, argmax_rows_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_softmax_rows(const SoftmaxRowsArgs& a, cudaStream_t stream) {
    if (a.rows == 0) return cudaSuccess;
    if (!a.logits || !a.probs || a.rows < 0 || a.vocab <= 0 || !(a.inv_temperature > 0.0f)) {
        return cudaErrorInvalidValue;
    }
    PAGODA_LAUNCH(static_cast<unsigned int>(a.rows), kThreads, 0, stream, softmax_rows_kernel)(a);
    return cudaGetLastError();
}

}  // namespace pagoda::cuda
