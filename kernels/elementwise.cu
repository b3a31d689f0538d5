// Row-wise and element-wise fp32 ops: rms_norm, add, add_bias, silu_mul, gather of
// logit rows, and fp32 -> f16/bf16 conversion of GEMM operands.
#include "cuda_common.cuh"
#include "kernel_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kThreads = 256;

unsigned int grid_for(int64_t n, int threads = kThreads) {
    return static_cast<unsigned int>((n + threads - 1) / threads);
}

__device__ __forceinline__ float vector_value(const void* p, GgmlType type, int64_t i) {
    switch (type) {
        case GgmlType::F16:
            return half_bits_to_float(static_cast<const uint16_t*>(p)[i]);
        case GgmlType::BF16:
            return bf16_bits_to_float(static_cast<const uint16_t*>(p)[i]);
        default:
            return static_cast<const float*>(p)[i];
    }
}

// One block per row: [rows, cols]. Sum of squares in fp32, reduced warp then block.
__global__ void rms_norm_kernel(RmsNormArgs a) {
    const int64_t r = blockIdx.x;
    const float* x = a.x + r * a.cols;
    float* out = a.out + r * a.cols;
    float sum = 0.0f;
    for (int64_t c = threadIdx.x; c < a.cols; c += blockDim.x) sum += x[c] * x[c];
    sum = warp_sum(sum);
    __shared__ float partial[kThreads / kWarpSize];
    const int warp = threadIdx.x / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    if (lane == 0) partial[warp] = sum;
    __syncthreads();
    if (warp == 0) {
        const int n_warps = blockDim.x / kWarpSize;
        float v = lane < n_warps ? partial[lane] : 0.0f;
        v = warp_sum(v);
        if (lane == 0) partial[0] = v;
    }
    __syncthreads();
    const float inv = rsqrtf(partial[0] / static_cast<float>(a.cols) + a.eps);
    // Each thread rewrites only the elements it read, so out may alias x.
    for (int64_t c = threadIdx.x; c < a.cols; c += blockDim.x) {
        out[c] = x[c] * inv * vector_value(a.weight, a.weight_type, c);
    }
}

__global__ void add_kernel(AddArgs a) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < a.n) a.x[i] += a.y[i];
}

__global__ void add_bias_kernel(AddBiasArgs a) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < a.rows * a.cols) a.x[i] += vector_value(a.bias, a.bias_type, i % a.cols);
}

__global__ void silu_mul_kernel(SiluMulArgs a) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= a.n) return;
    const float g = a.gate[i];
    a.out[i] = g / (1.0f + expf(-g)) * a.up[i];
}

__global__ void gather_rows_kernel(GatherRowsArgs a) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<int64_t>(a.n_rows) * a.cols) return;
    const int64_t j = i / a.cols;
    a.out[i] = a.x[static_cast<int64_t>(a.rows[j]) * a.cols + i % a.cols];
}

__global__ void convert_kernel(ConvertArgs a) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= a.n) return;
    a.dst[i] = a.bf16 ? float_to_bf16_bits(a.src[i]) : float_to_half_bits(a.src[i]);
}

}  // namespace

cudaError_t launch_rms_norm(const RmsNormArgs& a, cudaStream_t stream) {
    if (a.rows <= 0 || a.cols <= 0) return cudaSuccess;
    // Small rows: fewer threads, so most of the block is not idle.
    int threads = kThreads;
    while (threads > kWarpSize && threads / 2 >= a.cols) threads /= 2;
    PAGODA_LAUNCH(static_cast<unsigned int>(a.rows), threads, 0, stream, rms_norm_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_add(const AddArgs& a, cudaStream_t stream) {
    if (a.n <= 0) return cudaSuccess;
    PAGODA_LAUNCH(grid_for(a.n), kThreads, 0, stream, add_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_add_bias(const AddBiasArgs& a, cudaStream_t stream) {
    if (a.rows <= 0 || a.cols <= 0) return cudaSuccess;
    PAGODA_LAUNCH(grid_for(a.rows * a.cols), kThreads, 0, stream, add_bias_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_silu_mul(const SiluMulArgs& a, cudaStream_t stream) {
    if (a.n <= 0) return cudaSuccess;
    PAGODA_LAUNCH(grid_for(a.n), kThreads, 0, stream, silu_mul_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_gather_rows(const GatherRowsArgs& a, cudaStream_t stream) {
    if (a.n_rows <= 0 || a.cols <= 0) return cudaSuccess;
    const unsigned int blocks = grid_for(static_cast<int64_t>(a.n_rows) * a.cols);
    PAGODA_LAUNCH(blocks, kThreads, 0, stream, gather_rows_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_convert_f32(const ConvertArgs& a, cudaStream_t stream) {
    if (a.n <= 0) return cudaSuccess;
    PAGODA_LAUNCH(grid_for(a.n), kThreads, 0, stream, convert_kernel)(a);
    return cudaGetLastError();
}

}  // namespace pagoda::cuda
