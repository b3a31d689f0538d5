// Dense matrix x small batch (n_cols <= 8 activation rows per launch) for F32, F16 and
// BF16 weights: out[c][row] = dot(w[row], x[c]) with fp32 accumulation.
//
// cuBLAS runs these shapes as a GEMM at well under the memory bandwidth; this kernel is a
// plain bandwidth-bound stream. A block of 4 warps takes R rows; each thread reads 16
// bytes of every row per step (8 halves or 4 floats), consecutive threads consecutive
// bytes, and dots them with the same stretch of each activation row. Activations are
// what the CPU backend dots: fp32 for F32 and F16 weights (F16 widened exactly), bf16-
// rounded ones for BF16 weights (launch_convert_f32), so the two differ only in
// summation order.
#include "cuda_common.cuh"
#include "kernel_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarpSize;

PAGODA_HD float u32_as_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
#endif
}

template <GgmlType W>
struct Vec16;  // 16 bytes of a row as fp32 values

template <>
struct Vec16<GgmlType::F32> {
    static constexpr int kValues = 4;
    static __device__ __forceinline__ void decode(const uint4& v, float* out) {
        const uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) out[i] = u32_as_float(words[i]);
    }
};

template <>
struct Vec16<GgmlType::F16> {
    static constexpr int kValues = 8;
    static __device__ __forceinline__ void decode(const uint4& v, float* out) {
        const uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            out[2 * i] = half_bits_to_float(static_cast<uint16_t>(words[i] & 0xFFFFu));
            out[2 * i + 1] = half_bits_to_float(static_cast<uint16_t>(words[i] >> 16));
        }
    }
};

template <>
struct Vec16<GgmlType::BF16> {
    static constexpr int kValues = 8;
    static __device__ __forceinline__ void decode(const uint4& v, float* out) {
        const uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            out[2 * i] = u32_as_float(words[i] << 16);
            out[2 * i + 1] = u32_as_float(words[i] & 0xFFFF0000u);
        }
    }
};

template <GgmlType W, int NC, int R>
__global__ void __launch_bounds__(kThreads) gemv_kernel(GemvArgs a) {
    using V = Vec16<W>;
    const int tid = threadIdx.x;
    const int64_t row0 = static_cast<int64_t>(blockIdx.x) * R;
    const int64_t n_vec = a.n_in / V::kValues;  // 16-byte vectors per row

    // Rows past the end read the last row (valid memory); their sums are never written.
    const uint4* w[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int64_t row = row0 + r < a.n_rows ? row0 + r : a.n_rows - 1;
        w[r] = static_cast<const uint4*>(a.w) + row * n_vec;
    }

    float acc[R][NC];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[r][c] = 0.0f;
    }

#pragma unroll 2
    for (int64_t i = tid; i < n_vec; i += kThreads) {
        float wf[R][V::kValues];
#pragma unroll
        for (int r = 0; r < R; ++r) V::decode(w[r][i], wf[r]);
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            if (c >= a.n_cols) break;
            float xf[V::kValues];
            if constexpr (W == GgmlType::BF16) {
                V::decode(static_cast<const uint4*>(a.x)[static_cast<int64_t>(c) * n_vec + i], xf);
            } else {
                const float4* xp =
                    static_cast<const float4*>(a.x) + (static_cast<int64_t>(c) * a.n_in + i * V::kValues) / 4;
#pragma unroll
                for (int j = 0; j < V::kValues / 4; ++j) {
                    const float4 v = xp[j];
                    xf[4 * j] = v.x;
                    xf[4 * j + 1] = v.y;
                    xf[4 * j + 2] = v.z;
                    xf[4 * j + 3] = v.w;
                }
            }
#pragma unroll
            for (int r = 0; r < R; ++r) {
#pragma unroll
                for (int j = 0; j < V::kValues; ++j) acc[r][c] = fmaf(wf[r][j], xf[j], acc[r][c]);
            }
        }
    }

    __shared__ float partial[kWarps][R][NC];
    store_block_sums<kWarps>(acc, partial, a.out, a.n_rows, a.n_cols, row0);
}

template <GgmlType W, int NC, int R>
cudaError_t launch_shape(const GemvArgs& a, cudaStream_t s) {
    const auto blocks = static_cast<unsigned int>((a.n_rows + R - 1) / R);
    PAGODA_LAUNCH(blocks, kThreads, 0, s, gemv_kernel<W, NC, R>)(a);
    return cudaGetLastError();
}

template <GgmlType W>
cudaError_t launch_type(const GemvArgs& a, cudaStream_t s) {
    if (a.n_cols == 1) return launch_shape<W, 1, 1>(a, s);
    if (a.n_cols == 2) return launch_shape<W, 2, 2>(a, s);
    if (a.n_cols <= 4) return launch_shape<W, 4, 2>(a, s);
    if (a.n_cols <= 8) return launch_shape<W, 8, 2>(a, s);
    return cudaErrorInvalidValue;
}

}  // namespace

bool gemv_supported(GgmlType type, int64_t n_in) {
    switch (type) {
        case GgmlType::F32:
            return n_in % 4 == 0;
        case GgmlType::F16:
        case GgmlType::BF16:
            return n_in % 8 == 0;
        default:
            return false;
    }
}

cudaError_t launch_gemv(const GemvArgs& a, cudaStream_t stream) {
    if (a.n_rows <= 0 || a.n_cols <= 0) return cudaSuccess;
    if (!gemv_supported(a.type, a.n_in)) return cudaErrorInvalidValue;
    switch (a.type) {
        case GgmlType::F32:
            return launch_type<GgmlType::F32>(a, stream);
        case GgmlType::F16:
            return launch_type<GgmlType::F16>(a, stream);
        case GgmlType::BF16:
            return launch_type<GgmlType::BF16>(a, stream);
        default:
            return cudaErrorInvalidValue;
    }
}

}  // namespace pagoda::cuda
