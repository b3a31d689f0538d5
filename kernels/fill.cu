// Seeded random weights written directly in device memory, for benchmarks of big
// model shapes (an 8B model in F16 is 16 GB: generating it on the host and copying it
// would dominate the benchmark) and a no-op probe kernel.
#include "cuda_common.cuh"
#include "kernel_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [-1, 1).
__device__ __forceinline__ float uniform(uint64_t h) {
    return static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

struct Layout {
    int bytes;     // block bytes
    int d_offset;  // f16 scale offset, or -1
    int m_offset;  // f16 min offset, or -1
    float d_div;   // d = scale / d_div
};

__device__ Layout layout_of(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0:
            return {18, 0, -1, 8.0f};
        case GgmlType::Q4_1:
            return {20, 0, 2, 8.0f};
        case GgmlType::Q5_0:
            return {22, 0, -1, 16.0f};
        case GgmlType::Q5_1:
            return {24, 0, 2, 16.0f};
        case GgmlType::Q8_0:
            return {34, 0, -1, 127.0f};
        case GgmlType::Q4_K:
            return {144, 0, 2, 472.0f};
        case GgmlType::Q5_K:
            return {176, 0, 2, 976.0f};
        case GgmlType::Q6_K:
            return {210, 208, -1, 2048.0f};
        default:
            return {0, -1, -1, 1.0f};
    }
}

__global__ void fill_random_kernel(FillRandomArgs a) {
    const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (b >= a.n_blocks) return;
    const uint64_t h = mix64(a.seed ^ mix64(static_cast<uint64_t>(b)));
    switch (a.type) {
        case GgmlType::F32:
            static_cast<float*>(a.dst)[b] = uniform(h) * a.scale;
            return;
        case GgmlType::F16:
            static_cast<uint16_t*>(a.dst)[b] = float_to_half_bits(uniform(h) * a.scale);
            return;
        case GgmlType::BF16:
            static_cast<uint16_t*>(a.dst)[b] = float_to_bf16_bits(uniform(h) * a.scale);
            return;
        default:
            break;
    }
    const Layout lay = layout_of(a.type);
    // Blocks are 2-byte aligned at least: write 16-bit words.
    uint16_t* p = reinterpret_cast<uint16_t*>(static_cast<uint8_t*>(a.dst) + b * lay.bytes);
    uint64_t state = h;
    for (int i = 0; i < lay.bytes / 2; ++i) {
        if (i % 4 == 0) state = mix64(state);
        p[i] = static_cast<uint16_t>(state >> (16 * (i % 4)));
    }
    const float d = a.scale / lay.d_div * (0.5f + 0.5f * fabsf(uniform(mix64(h + 1))));
    if (lay.d_offset >= 0) p[lay.d_offset / 2] = float_to_half_bits(d);
    if (lay.m_offset >= 0) {
        // type-1 blocks: q4_1/q5_1 hold a min near -scale; K-quants a dmin near d.
        const bool k_quant = a.type == GgmlType::Q4_K || a.type == GgmlType::Q5_K;
        p[lay.m_offset / 2] = float_to_half_bits(k_quant ? d : -a.scale * 0.5f);
    }
}

__global__ void noop_kernel() {}

}  // namespace

cudaError_t launch_fill_random(const FillRandomArgs& a, cudaStream_t stream) {
    if (a.n_blocks <= 0) return cudaSuccess;
    switch (a.type) {
        case GgmlType::F32:
        case GgmlType::F16:
        case GgmlType::BF16:
        case GgmlType::Q4_0:
        case GgmlType::Q4_1:
        case GgmlType::Q5_0:
        case GgmlType::Q5_1:
        case GgmlType::Q8_0:
        case GgmlType::Q4_K:
        case GgmlType::Q5_K:
        case GgmlType::Q6_K:
            break;
        default:
            return cudaErrorInvalidValue;
    }
    const auto blocks = static_cast<unsigned int>((a.n_blocks + kThreads - 1) / kThreads);
    PAGODA_LAUNCH(blocks, kThreads, 0, stream, fill_random_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_noop(cudaStream_t stream) {
    PAGODA_LAUNCH(1, 1, 0, stream, noop_kernel)();
    return cudaGetLastError();
}

}  // namespace pagoda::cuda
