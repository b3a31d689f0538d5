// Quantized matrix x small batch (n_cols <= 8 activation rows per launch), after the
// design of llama.cpp's mmvq: activations are first quantized to int8 blocks of 32
// (BlockQ8x32: scale d and s = d * sum(q)), then each weight unit of 32 values is dotted
// with them using dp4a (4 int8 products per instruction) and fp32 scales.
//
// Bandwidth is the whole game at batch 1: a block of 4 warps works on two rows (up to
// four for wider batches), so a [4096, 4096] matrix is 2048 blocks, enough to keep every
// SM's memory pipeline full, and consecutive lanes read consecutive bytes of the row.
#include <cstdlib>

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

// A block of kThreads threads computes R rows for NC activation columns (columns
// >= a.n_cols are skipped). The block's threads walk the row in half-units: thread t
// takes half (t % 2) of unit t / 2, then the next kThreads / 2 units, so each round of
// loads covers one contiguous stretch of the row(s) and two lanes share each block's
// scale. Activation words are read as two 8-byte loads per column.
//
// Partial sums: per thread over its half-units, then a warp reduction, then across the
// block's warps through shared memory.
template <GgmlType T, int NC, int R>
__global__ void __launch_bounds__(kThreads) mmvq_kernel(MmvqArgs a) {
    const int tid = threadIdx.x;
    const int64_t row0 = static_cast<int64_t>(blockIdx.x) * R;
    const int n_units = static_cast<int>(a.n_in / 32);
    const int n_halves = 2 * n_units;

    // Rows past the end read the last row (valid memory); their sums are never written.
    const uint8_t* w[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int64_t row = row0 + r < a.n_rows ? row0 + r : a.n_rows - 1;
        w[r] = static_cast<const uint8_t*>(a.w) + row * a.row_bytes;
    }

    float acc[R][NC];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[r][c] = 0.0f;
    }

#pragma unroll 2
    for (int it = tid; it < n_halves; it += kThreads) {
        const int u = it >> 1;
        const int h = it & 1;
        HalfDecode d[R];
#pragma unroll
        for (int r = 0; r < R; ++r) decode_half<T>(w[r], u, h, d[r]);
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            if (c >= a.n_cols) break;
            const BlockQ8x32& x = a.x[static_cast<int64_t>(c) * n_units + u];
            // Words {2h, 2h + 1} and {2h + 4, 2h + 5} of the block's 8 int8x4 words.
            const int2 lo = *reinterpret_cast<const int2*>(x.qs + 8 * h);
            const int2 hi = *reinterpret_cast<const int2*>(x.qs + 16 + 8 * h);
            constexpr int kOnes = 0x01010101;
            const int sum_a = __dp4a(kOnes, lo.x, __dp4a(kOnes, lo.y, __dp4a(kOnes, hi.x, __dp4a(kOnes, hi.y, 0))));
#pragma unroll
            for (int r = 0; r < R; ++r) {
                const int s0 = __dp4a(d[r].q[0], lo.x, __dp4a(d[r].q[1], lo.y, 0));
                const int s1 = __dp4a(d[r].q[2], hi.x, __dp4a(d[r].q[3], hi.y, 0));
                acc[r][c] += x.d * (d[r].dw0 * static_cast<float>(s0) + d[r].dw1 * static_cast<float>(s1) +
                                    d[r].mw * static_cast<float>(sum_a));
            }
        }
    }

    __shared__ float partial[kWarps][R][NC];
    store_block_sums<kWarps>(acc, partial, a.out, a.n_rows, a.n_cols, row0);
}

template <GgmlType T, int NC, int R>
cudaError_t launch_shape(const MmvqArgs& a, cudaStream_t s) {
    const auto blocks = static_cast<unsigned int>((a.n_rows + R - 1) / R);
    PAGODA_LAUNCH(blocks, kThreads, 0, s, mmvq_kernel<T, NC, R>)(a);
    return cudaGetLastError();
}

// Rows per block at batch 1: 2 halves the number of (short-lived) blocks against 1 and
// keeps twice the loads in flight per thread. PAGODA_MMVQ_ROWS=1|2|4 overrides it, to
// compare on a GPU without rebuilding.
int batch1_rows() {
    static const int rows = [] {
        const char* env = std::getenv("PAGODA_MMVQ_ROWS");
        const int r = env ? std::atoi(env) : 2;
        return r == 1 || r == 4 ? r : 2;
    }();
    return rows;
}

// Columns are rounded up to 1, 2, 4 or 8 (the rest skipped in the kernel); more columns
// share each decoded weight across more rows, so wider batches take more rows per block.
template <GgmlType T>
cudaError_t launch_type(const MmvqArgs& a, cudaStream_t s) {
    if (a.n_cols == 1) {
        switch (batch1_rows()) {
            case 1:
                return launch_shape<T, 1, 1>(a, s);
            case 4:
                return launch_shape<T, 1, 4>(a, s);
            default:
                return launch_shape<T, 1, 2>(a, s);
        }
    }
    if (a.n_cols == 2) return launch_shape<T, 2, 2>(a, s);
    if (a.n_cols <= 4) return launch_shape<T, 4, 2>(a, s);
    if (a.n_cols <= 8) return launch_shape<T, 8, 4>(a, s);
    return cudaErrorInvalidValue;
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
