// Row decoding kernels: embedding lookups (one table row per token) and whole-weight
// decoding to F16 for the large-batch cuBLAS path. Each thread decodes 8 consecutive
// values, so stores are contiguous across a warp.
#include "kernel_launch.h"
#include "quant_decode.cuh"

namespace pagoda::cuda {
namespace {

constexpr int kThreads = 256;

// Scalar path for float tables whose width is not a multiple of 8.
__device__ __forceinline__ float float_value(GgmlType type, const uint8_t* row, int64_t i) {
    switch (type) {
        case GgmlType::F16:
            return half_bits_to_float(reinterpret_cast<const uint16_t*>(row)[i]);
        case GgmlType::BF16:
            return bf16_bits_to_float(reinterpret_cast<const uint16_t*>(row)[i]);
        default:
            return reinterpret_cast<const float*>(row)[i];
    }
}

template <GgmlType T>
__global__ void embed_kernel(EmbedArgs a) {
    const int64_t groups_per_row = a.dim / 8;
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= groups_per_row * a.n_tokens) return;
    const int64_t t = g / groups_per_row;
    const int64_t first = (g % groups_per_row) * 8;
    const uint8_t* row = static_cast<const uint8_t*>(a.table) + static_cast<int64_t>(a.tokens[t]) * a.row_bytes;
    float v[8];
    dequant8<T>(row, first, v);
    float4* dst = reinterpret_cast<float4*>(a.out + t * a.dim + first);
    dst[0] = make_float4(v[0], v[1], v[2], v[3]);
    dst[1] = make_float4(v[4], v[5], v[6], v[7]);
}

__global__ void embed_scalar_kernel(EmbedArgs a) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= a.dim * a.n_tokens) return;
    const int64_t t = i / a.dim;
    const int64_t c = i % a.dim;
    const uint8_t* row = static_cast<const uint8_t*>(a.table) + static_cast<int64_t>(a.tokens[t]) * a.row_bytes;
    a.out[i] = float_value(a.type, row, c);
}

template <GgmlType T>
__global__ void dequantize_f16_kernel(DequantizeF16Args a) {
    const int64_t groups_per_row = a.cols / 8;
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= groups_per_row * a.rows) return;
    const int64_t r = g / groups_per_row;
    const int64_t first = (g % groups_per_row) * 8;
    float v[8];
    dequant8<T>(static_cast<const uint8_t*>(a.src) + r * a.row_bytes, first, v);
    uint4 packed;
    packed.x = float_to_half_bits(v[0]) | (static_cast<uint32_t>(float_to_half_bits(v[1])) << 16);
    packed.y = float_to_half_bits(v[2]) | (static_cast<uint32_t>(float_to_half_bits(v[3])) << 16);
    packed.z = float_to_half_bits(v[4]) | (static_cast<uint32_t>(float_to_half_bits(v[5])) << 16);
    packed.w = float_to_half_bits(v[6]) | (static_cast<uint32_t>(float_to_half_bits(v[7])) << 16);
    *reinterpret_cast<uint4*>(a.dst + r * a.cols + first) = packed;
}

unsigned int grid_for(int64_t n) { return static_cast<unsigned int>((n + kThreads - 1) / kThreads); }

// Calls f(std::integral_constant-like tag) for the runtime type; returns false if unsupported.
template <template <GgmlType> class Launcher, typename Args>
cudaError_t dispatch_type(GgmlType type, const Args& a, cudaStream_t s) {
    switch (type) {
        case GgmlType::F32:
            return Launcher<GgmlType::F32>::run(a, s);
        case GgmlType::F16:
            return Launcher<GgmlType::F16>::run(a, s);
        case GgmlType::BF16:
            return Launcher<GgmlType::BF16>::run(a, s);
        case GgmlType::Q4_0:
            return Launcher<GgmlType::Q4_0>::run(a, s);
        case GgmlType::Q4_1:
            return Launcher<GgmlType::Q4_1>::run(a, s);
        case GgmlType::Q5_0:
            return Launcher<GgmlType::Q5_0>::run(a, s);
        case GgmlType::Q5_1:
            return Launcher<GgmlType::Q5_1>::run(a, s);
        case GgmlType::Q8_0:
            return Launcher<GgmlType::Q8_0>::run(a, s);
        case GgmlType::Q4_K:
            return Launcher<GgmlType::Q4_K>::run(a, s);
        case GgmlType::Q5_K:
            return Launcher<GgmlType::Q5_K>::run(a, s);
        case GgmlType::Q6_K:
            return Launcher<GgmlType::Q6_K>::run(a, s);
        default:
            return cudaErrorInvalidValue;
    }
}

template <GgmlType T>
struct EmbedLauncher {
    static cudaError_t run(const EmbedArgs& a, cudaStream_t s) {
        PAGODA_LAUNCH(grid_for(a.dim / 8 * a.n_tokens), kThreads, 0, s, embed_kernel<T>)(a);
        return cudaGetLastError();
    }
};

template <GgmlType T>
struct DequantizeF16Launcher {
    static cudaError_t run(const DequantizeF16Args& a, cudaStream_t s) {
        PAGODA_LAUNCH(grid_for(a.cols / 8 * a.rows), kThreads, 0, s, dequantize_f16_kernel<T>)(a);
        return cudaGetLastError();
    }
};

}  // namespace

bool dequant_supported(GgmlType type) {
    switch (type) {
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
            return true;
        default:
            return false;
    }
}

cudaError_t launch_embed(const EmbedArgs& a, cudaStream_t stream) {
    if (a.n_tokens <= 0 || a.dim <= 0) return cudaSuccess;
    if (a.dim % 8 != 0) {
        // Only float tables can have such widths (quantized rows are whole blocks of 32 or 256).
        if (a.type != GgmlType::F32 && a.type != GgmlType::F16 && a.type != GgmlType::BF16)
            return cudaErrorInvalidValue;
        PAGODA_LAUNCH(grid_for(a.dim * a.n_tokens), kThreads, 0, stream, embed_scalar_kernel)(a);
        return cudaGetLastError();
    }
    return dispatch_type<EmbedLauncher>(a.type, a, stream);
}

cudaError_t launch_dequantize_f16(const DequantizeF16Args& a, cudaStream_t stream) {
    if (a.rows <= 0 || a.cols <= 0) return cudaSuccess;
    if (a.cols % 8 != 0) return cudaErrorInvalidValue;
    return dispatch_type<DequantizeF16Launcher>(a.type, a, stream);
}

}  // namespace pagoda::cuda
