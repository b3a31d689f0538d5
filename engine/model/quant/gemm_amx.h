// Private to the AVX-512 kernels: Intel AMX (tile registers, int8 tile dot products) for
// the token-lanes tiles, when the build targets it (-march=native on Sapphire Rapids and
// later) and the CPU and kernel allow it at run time.
//
// An AMX tile dot C[16 x 16] += A[16 x K] . B[K x 16] (bytes; B in 4-byte groups per
// column) is exactly the token-lanes layout: A holds 16 decoded weight rows of one block,
// B the block's prepared activations (16 tokens, transposed to 4-byte groups), C the
// exact integer block sums of the 16 x 16 pairs. The fp32 steps then run on C's rows as
// in the VNNI kernels, so results are bit-identical to them (tests check it).
#pragma once

#include "model/quant/gemm_avx512.h"

#if defined(PAGODA_GEMM_AVX512) && defined(__AMX_TILE__) && defined(__AMX_INT8__)
#define PAGODA_GEMM_AMX 1

#include <immintrin.h>

#include <cstdint>

namespace pagoda::quant::amx {

// True once the CPU reports AMX-TILE / AMX-INT8 and the kernel granted this process the
// tile data state (Linux arch_prctl); checked once.
bool available();

// Tile configuration (palette 1), loaded per thread before the tile instructions.
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

// Loads `cfg` into this thread's tile state, and releases it when done (so the 8 KiB of
// tile data stop being saved at every context switch).
class TileScope {
public:
    explicit TileScope(const TileConfig& cfg) { _tile_loadconfig(&cfg); }
    ~TileScope() { _tile_release(); }
    TileScope(const TileScope&) = delete;
    TileScope& operator=(const TileScope&) = delete;
};

}  // namespace pagoda::quant::amx

namespace pagoda::quant::avx512 {

// gemm<K> with the token-lanes tiles on AMX when the CPU allows it: K::amx_rows(...)
// computes up to K::kAmxRows rows x all token groups per call, decoding the rows once.
template <class K>
void gemm_amx(int64_t k, const uint8_t* w, size_t w_stride, int64_t rows, const uint8_t* act, size_t act_stride,
              int64_t toks, float* out, size_t out_stride) {
    constexpr size_t kMaxStride = 0x7fffffff / kLanes;
    if (toks < 2 || w_stride > kMaxStride || act_stride > kMaxStride || !amx::available()) {
        gemm<K>(k, w, w_stride, rows, act, act_stride, toks, out, out_stride);
        return;
    }
    const int groups = static_cast<int>((toks + kLanes - 1) / kLanes);
    const size_t group_bytes = K::prep_bytes(k);
    const size_t prep_total = group_bytes * static_cast<size_t>(groups);
    uint8_t* buf = scratch(prep_total + K::amx_scratch_bytes(k, groups));
    if (!buf) {
        gemm_by_dots<K>(k, w, w_stride, rows, act, act_stride, toks, out, out_stride);
        return;
    }
    for (int g = 0; g < groups; ++g) {
        K::prep(act + static_cast<size_t>(g * kLanes) * act_stride, act_stride, k,
                static_cast<int>(std::min<int64_t>(kLanes, toks - g * kLanes)), buf + group_bytes * g);
    }
    static const amx::TileConfig config = K::amx_config();
    const amx::TileScope tiles(config);
    for (int64_t r = 0; r < rows; r += K::kAmxRows) {
        K::amx_rows(k, w + static_cast<size_t>(r) * w_stride, w_stride,
                    static_cast<int>(std::min<int64_t>(K::kAmxRows, rows - r)), buf, group_bytes, toks,
                    buf + prep_total, out + r, out_stride);
    }
}

}  // namespace pagoda::quant::avx512

#endif
