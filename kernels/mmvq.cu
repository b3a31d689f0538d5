// Quantized matrix x small batch (n_cols <= 8 activation rows), as llama.cpp's mmvq:
// activations are first quantized to int8 blocks of 32 (BlockQ8x32: scale d and
// s = d * sum(q)), then each weight unit of 32 values is dotted with them using dp4a
// (4 int8 products per instruction) and fp32 scales.
//
// One warp per weight row; lane i takes units i, i + 32, ... so a warp's loads cover
// consecutive blocks. Each unit's weights are decoded once and reused for every column.
#include "kernel_launch.h"
#include "quant_decode.cuh"

namespace pagoda::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarpSize;

// One warp per block of 32: [rows, cols / 32] blocks.
__global__ void quantize_q8_kernel(QuantizeQ8Args a) {
    const int64_t blocks_per_row = a.cols / 32;
    const int64_t w = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    if (w >= a.rows * blocks_per_row) return;
    const float x = a.x[w * 32 + lane];  // rows are contiguous, so block w starts at value 32 w
    const float amax = warp_max(fabsf(x));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const int q = static_cast<int>(roundf(x * id));
    const float sum = warp_sum(static_cast<float>(q));  // exact: |sum| <= 32 * 127
    BlockQ8x32& out = a.out[w];
    out.qs[lane] = static_cast<int8_t>(q);
    if (lane == 0) {
        out.d = d;
        out.s = d * sum;
    }
}

template <GgmlType T, int NCOLS>
__global__ void __launch_bounds__(kThreads) mmvq_kernel(MmvqArgs a) {
    const int warp = threadIdx.x / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
    if (row >= a.n_rows) return;
    const uint8_t* w = static_cast<const uint8_t*>(a.w) + row * a.row_bytes;
    const int n_units = static_cast<int>(a.n_in / 32);

    float acc[NCOLS];
#pragma unroll
    for (int c = 0; c < NCOLS; ++c) acc[c] = 0.0f;

    for (int u = lane; u < n_units; u += kWarpSize) {
        UnitDecode r;
        decode_unit<T>(w, u, r);
#pragma unroll
        for (int c = 0; c < NCOLS; ++c) {
            const BlockQ8x32& x = a.x[static_cast<int64_t>(c) * n_units + u];
            const int* xq = reinterpret_cast<const int*>(x.qs);
            int lo = 0, hi = 0;
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                lo = __dp4a(r.q[i], xq[i], lo);
                hi = __dp4a(r.q[i + 4], xq[i + 4], hi);
            }
            acc[c] += x.d * (r.dw0 * static_cast<float>(lo) + r.dw1 * static_cast<float>(hi)) + r.mw * x.s;
        }
    }
#pragma unroll
    for (int c = 0; c < NCOLS; ++c) {
        const float v = warp_sum(acc[c]);
        if (lane == 0) a.out[static_cast<int64_t>(c) * a.n_rows + row] = v;
    }
}

template <GgmlType T>
cudaError_t launch_type(const MmvqArgs& a, cudaStream_t s) {
    const auto blocks = static_cast<unsigned int>((a.n_rows + kWarps - 1) / kWarps);
    switch (a.n_cols) {
        case 1:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 1>)(a);
            break;
        case 2:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 2>)(a);
            break;
        case 3:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 3>)(a);
            break;
        case 4:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 4>)(a);
            break;
        case 5:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 5>)(a);
            break;
        case 6:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 6>)(a);
            break;
        case 7:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 7>)(a);
            break;
        case 8:
            PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, 8>)(a);
            break;
        default:
            return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}

}  // namespace

bool mmvq_supported(GgmlType type) {
    switch (type) {
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

cudaError_t launch_quantize_q8(const QuantizeQ8Args& a, cudaStream_t stream) {
    const int64_t threads = a.rows * a.cols;  // one thread per value
    if (threads <= 0) return cudaSuccess;
    if (a.cols % 32 != 0) return cudaErrorInvalidValue;
    const auto blocks = static_cast<unsigned int>((threads + 255) / 256);
    PAGODA_LAUNCH(blocks, 256, 0, stream, quantize_q8_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_mmvq(const MmvqArgs& a, cudaStream_t stream) {
    if (a.n_rows <= 0 || a.n_cols <= 0) return cudaSuccess;
    if (a.n_in % 32 != 0) return cudaErrorInvalidValue;
    switch (a.type) {
        case GgmlType::Q4_0:
            return launch_type<GgmlType::Q4_0>(a, stream);
        case GgmlType::Q4_1:
            return launch_type<GgmlType::Q4_1>(a, stream);
        case GgmlType::Q5_0:
            return launch_type<GgmlType::Q5_0>(a, stream);
        case GgmlType::Q5_1:
            return launch_type<GgmlType::Q5_1>(a, stream);
        case GgmlType::Q8_0:
            return launch_type<GgmlType::Q8_0>(a, stream);
        case GgmlType::Q4_K:
            return launch_type<GgmlType::Q4_K>(a, stream);
        case GgmlType::Q5_K:
            return launch_type<GgmlType::Q5_K>(a, stream);
        case GgmlType::Q6_K:
            return launch_type<GgmlType::Q6_K>(a, stream);
        default:
            return cudaErrorInvalidValue;
    }
}

}  // namespace pagoda::cuda
