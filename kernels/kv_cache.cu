// kv_write: each token's K and V rows [n_kv_heads * head_dim] go to its slot of the
// layer's pools. F32/F16: one thread per value. Q8_0: one warp per block of 32 values,
// quantized exactly as quantize_row(Q8_0) does on the CPU (d = amax / 127, stored as f16,
// q = round(x / d)), so both backends hold bit-identical caches.
#include "cuda_common.cuh"
#include "kernel_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kThreads = 256;

template <typename Out>
__device__ __forceinline__ Out encode(float v);
template <>
__device__ __forceinline__ float encode<float>(float v) {
    return v;
}
template <>
__device__ __forceinline__ uint16_t encode<uint16_t>(float v) {
    return float_to_half_bits(v);
}

template <typename Out>
__global__ void kv_write_kernel(KvWriteArgs a) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(a.n_tokens) * a.row_values) return;
    const int64_t t = i / a.row_values;
    const int64_t c = i % a.row_values;
    const int64_t slot = a.slot_mapping[t];
    if (slot < 0) return;
    static_cast<Out*>(a.k_pool)[slot * a.row_values + c] = encode<Out>(a.k[i]);
    static_cast<Out*>(a.v_pool)[slot * a.row_values + c] = encode<Out>(a.v[i]);
}

__device__ __forceinline__ void quantize_q8_0_block(const float* src, uint8_t* dst, int lane) {
    const float x = src[lane];
    const float amax = warp_max(fabsf(x));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (lane == 0) *reinterpret_cast<uint16_t*>(dst) = float_to_half_bits(d);
    reinterpret_cast<int8_t*>(dst + 2)[lane] = static_cast<int8_t>(roundf(x * id));
}

// One warp per 32-value block: [n_tokens, row_values / 32] blocks.
__global__ void kv_write_q8_0_kernel(KvWriteArgs a) {
    const int blocks_per_row = a.row_values / 32;
    const int64_t w = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    if (w >= static_cast<int64_t>(a.n_tokens) * blocks_per_row) return;
    const int64_t t = w / blocks_per_row;
    const int64_t b = w % blocks_per_row;
    const int64_t slot = a.slot_mapping[t];
    if (slot < 0) return;
    const int64_t dst = (slot * blocks_per_row + b) * 34;
    quantize_q8_0_block(a.k + t * a.row_values + b * 32, static_cast<uint8_t*>(a.k_pool) + dst, lane);
    quantize_q8_0_block(a.v + t * a.row_values + b * 32, static_cast<uint8_t*>(a.v_pool) + dst, lane);
}

}  // namespace

cudaError_t launch_kv_write(const KvWriteArgs& a, cudaStream_t stream) {
    const int64_t n = static_cast<int64_t>(a.n_tokens) * a.row_values;
    if (n <= 0) return cudaSuccess;
    const auto blocks = static_cast<unsigned int>((n + kThreads - 1) / kThreads);
    switch (a.type) {
        case GgmlType::F32:
            PAGODA_LAUNCH(blocks, kThreads, 0, stream, kv_write_kernel<float>)(a);
            break;
        case GgmlType::F16:
            PAGODA_LAUNCH(blocks, kThreads, 0, stream, kv_write_kernel<uint16_t>)(a);
            break;
        case GgmlType::Q8_0:
            if (a.row_values % 32 != 0) return cudaErrorInvalidValue;
            // n / 32 warps of 32 threads: exactly n threads.
            PAGODA_LAUNCH(blocks, kThreads, 0, stream, kv_write_q8_0_kernel)(a);
            break;
        default:
            return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}

}  // namespace pagoda::cuda
