// LoRA over row segments, in two launches per chunk of segments (as Punica/S-LoRA's
// SGMV shrink and expand):
//   shrink: t[r][k] = scale * dot(x[first_row + r], A[k])   t: [n_rows, rank] per segment
//   expand: out[row][o] += sum over segments holding row of dot(t[row - first_row], B[o])
// Expand visits every segment of the chunk in order inside one block and writes each
// output element once, so overlapping segments (a stack of adapters on one request)
// accumulate without atomics and the result does not depend on block scheduling.
// A and B are F32 or F16 as load_weight stored them; all math is fp32.
#include <algorithm>
#include <cstdint>

#include "cuda_common.cuh"
#include "kernel_launch.h"

// The segment table is indexed at run time; __grid_constant__ lets the kernels read it
// in place from parameter memory instead of copying the whole struct per thread.
#ifndef __grid_constant__
#define __grid_constant__
#endif

namespace pagoda::cuda {
namespace {

constexpr int kShrinkThreads = 256;
constexpr int kExpandThreads = kLoraExpandCols;  // one thread per output column
constexpr int kExpandK = 32;                     // ranks staged per pass

__device__ __forceinline__ float lora_value(const void* p, GgmlType type, int64_t i) {
    return type == GgmlType::F16 ? half_bits_to_float(static_cast<const uint16_t*>(p)[i])
                                 : static_cast<const float*>(p)[i];
}

// grid (n_tiles, max_rank). Block: rank blockIdx.y of the segment owning tile blockIdx.x
// (kLoraShrinkRows of its rows). All threads stride over in_features, each keeping one
// partial per row, reduced warp then block: a decode row (one tile) still spreads over
// rank blocks of kShrinkThreads threads.
__global__ void __launch_bounds__(kShrinkThreads) lora_shrink_kernel(const __grid_constant__ LoraArgs a) {
    const int tile = static_cast<int>(blockIdx.x);
    int s = 0;
    while (s + 1 < a.n_segments && a.seg[s + 1].first_tile <= tile) ++s;
    const LoraSegmentDesc& sg = a.seg[s];
    const int k = static_cast<int>(blockIdx.y);
    if (k >= sg.rank) return;  // the whole block leaves
    const int r0 = (tile - sg.first_tile) * kLoraShrinkRows;
    const int nr = min(kLoraShrinkRows, sg.n_rows - r0);
    const int64_t in = a.in_features;
    const float* x = a.x + (static_cast<int64_t>(sg.first_row) + r0) * in;
    const int64_t a_row = static_cast<int64_t>(k) * in;
    float acc[kLoraShrinkRows];
#pragma unroll
    for (int r = 0; r < kLoraShrinkRows; ++r) acc[r] = 0.0f;
    for (int64_t i = threadIdx.x; i < in; i += kShrinkThreads) {
        const float w = lora_value(sg.a, sg.a_type, a_row + i);
#pragma unroll
        for (int r = 0; r < kLoraShrinkRows; ++r) {
            if (r < nr) acc[r] += w * x[r * in + i];
        }
    }
    __shared__ float partial[kShrinkThreads / kWarpSize][kLoraShrinkRows];
    const int warp = static_cast<int>(threadIdx.x) / kWarpSize;
    const int lane = static_cast<int>(threadIdx.x) % kWarpSize;
#pragma unroll
    for (int r = 0; r < kLoraShrinkRows; ++r) {
        const float v = warp_sum(acc[r]);
        if (lane == 0) partial[warp][r] = v;
    }
    __syncthreads();
    if (threadIdx.x < static_cast<unsigned int>(nr)) {
        const int r = static_cast<int>(threadIdx.x);
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < kShrinkThreads / kWarpSize; ++w) sum += partial[w][r];
        sg.scratch[static_cast<int64_t>(r0 + r) * sg.rank + k] = sg.scale * sum;
    }
}

// grid (ceil((row_end - row_begin) / kLoraExpandRows), ceil(out_features / kLoraExpandCols)).
// Block: rows [r0, r0 + kLoraExpandRows) x columns [c0, c0 + kLoraExpandCols); thread:
// one column, all rows. Per segment and pass of kExpandK ranks, the block stages t rows
// and a [columns, kExpandK] tile of B (rows padded by one word: conflict-free reads).
__global__ void __launch_bounds__(kExpandThreads) lora_expand_kernel(const __grid_constant__ LoraArgs a) {
    __shared__ float t_tile[kLoraExpandRows][kExpandK];
    __shared__ float b_tile[kLoraExpandCols][kExpandK + 1];
    const int tid = static_cast<int>(threadIdx.x);
    const int r0 = a.row_begin + static_cast<int>(blockIdx.x) * kLoraExpandRows;
    const int64_t c0 = static_cast<int64_t>(blockIdx.y) * kLoraExpandCols;
    const int64_t col = c0 + tid;
    float acc[kLoraExpandRows];
    bool touched[kLoraExpandRows];
#pragma unroll
    for (int r = 0; r < kLoraExpandRows; ++r) {
        acc[r] = 0.0f;
        touched[r] = false;
    }
    for (int s = 0; s < a.n_segments; ++s) {
        const LoraSegmentDesc& sg = a.seg[s];
        const int lo = max(r0, sg.first_row);
        const int hi = min(r0 + kLoraExpandRows, sg.first_row + sg.n_rows);
        if (lo >= hi) continue;  // the same for every thread of the block
        for (int k0 = 0; k0 < sg.rank; k0 += kExpandK) {
            const int kn = min(kExpandK, sg.rank - k0);
            __syncthreads();  // the previous pass is done reading the tiles
            for (int e = tid; e < kLoraExpandRows * kExpandK; e += kExpandThreads) {
                const int rr = e / kExpandK, kk = e % kExpandK;
                const int row = r0 + rr;
                t_tile[rr][kk] = row >= lo && row < hi && kk < kn
                                     ? sg.scratch[static_cast<int64_t>(row - sg.first_row) * sg.rank + k0 + kk]
                                     : 0.0f;
            }
            // Each warp reads kExpandK consecutive ranks of one B row: coalesced.
            for (int e = tid; e < kLoraExpandCols * kExpandK; e += kExpandThreads) {
                const int cc = e / kExpandK, kk = e % kExpandK;
                const int64_t c = c0 + cc;
                b_tile[cc][kk] = c < a.out_features && kk < kn
                                     ? lora_value(sg.b, sg.b_type, c * sg.rank + k0 + kk)
                                     : 0.0f;
            }
            __syncthreads();
#pragma unroll
            for (int r = 0; r < kLoraExpandRows; ++r) {
                float sum = 0.0f;
#pragma unroll 8
                for (int kk = 0; kk < kExpandK; ++kk) sum += t_tile[r][kk] * b_tile[tid][kk];
                acc[r] += sum;
            }
        }
#pragma unroll
        for (int r = 0; r < kLoraExpandRows; ++r) touched[r] = touched[r] || (r0 + r >= lo && r0 + r < hi);
    }
    if (col >= a.out_features) return;
#pragma unroll
    for (int r = 0; r < kLoraExpandRows; ++r) {
        if (touched[r]) a.out[static_cast<int64_t>(r0 + r) * a.out_features + col] += acc[r];
    }
}

bool args_ok(const LoraArgs& a) {
    return a.x && a.out && a.in_features > 0 && a.out_features > 0 && a.n_segments > 0 &&
           a.n_segments <= kLoraMaxSegments && a.max_rank > 0 && a.n_tiles > 0 && a.row_begin >= 0 &&
           a.row_end > a.row_begin;
}

}  // namespace

cudaError_t launch_lora_shrink(const LoraArgs& a, cudaStream_t stream) {
    if (!args_ok(a)) return cudaErrorInvalidValue;
    if (a.max_rank > 65535) return cudaErrorInvalidValue;
    const dim3 grid(static_cast<unsigned int>(a.n_tiles), static_cast<unsigned int>(a.max_rank));
    PAGODA_LAUNCH(grid, kShrinkThreads, 0, stream, lora_shrink_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_lora_expand(const LoraArgs& a, cudaStream_t stream) {
    if (!args_ok(a)) return cudaErrorInvalidValue;
    const int64_t row_tiles = (static_cast<int64_t>(a.row_end) - a.row_begin + kLoraExpandRows - 1) / kLoraExpandRows;
    const int64_t col_tiles = (a.out_features + kLoraExpandCols - 1) / kLoraExpandCols;
    if (col_tiles > 65535) return cudaErrorInvalidValue;
    const dim3 grid(static_cast<unsigned int>(row_tiles), static_cast<unsigned int>(col_tiles));
    PAGODA_LAUNCH(grid, kExpandThreads, 0, stream, lora_expand_kernel)(a);
    return cudaGetLastError();
}

cudaError_t launch_lora(const LoraLaunchArgs& l, cudaStream_t stream) {
    if (!l.segments || l.n_segments < 0) return cudaErrorInvalidValue;
    LoraArgs a{};
    a.x = l.x;
    a.out = l.out;
    a.in_features = l.in_features;
    a.out_features = l.out_features;
    auto flush = [&]() -> cudaError_t {
        if (a.n_segments == 0) return cudaSuccess;
        cudaError_t err = launch_lora_shrink(a, stream);
        if (err == cudaSuccess) err = launch_lora_expand(a, stream);
        a.n_segments = 0;
        a.max_rank = 0;
        a.n_tiles = 0;
        return err;
    };
    int64_t offset = 0;
    for (int32_t i = 0; i < l.n_segments; ++i) {
        const LoraSegmentDesc& s = l.segments[i];
        if (s.n_rows == 0) continue;
        if (s.n_rows < 0 || s.first_row < 0 || s.rank <= 0) return cudaErrorInvalidValue;
        const int64_t tiles = (static_cast<int64_t>(s.n_rows) + kLoraShrinkRows - 1) / kLoraShrinkRows;
        // A chunk ends when full, or before its tile count leaves grid.x's range.
        if (a.n_segments == kLoraMaxSegments || a.n_tiles + tiles > INT32_MAX) {
            if (const cudaError_t err = flush(); err != cudaSuccess) return err;
        }
        LoraSegmentDesc& d = a.seg[a.n_segments];
        d = s;
        d.scratch = l.scratch + offset;
        d.first_tile = a.n_tiles;
        a.row_begin = a.n_segments == 0 ? s.first_row : std::min(a.row_begin, s.first_row);
        a.row_end = a.n_segments == 0 ? s.first_row + s.n_rows : std::max(a.row_end, s.first_row + s.n_rows);
        a.max_rank = std::max(a.max_rank, s.rank);
        a.n_tiles += static_cast<int32_t>(tiles);
        ++a.n_segments;
        offset += static_cast<int64_t>(s.n_rows) * s.rank;
    }
    return flush();
}

}  // namespace pagoda::cuda
