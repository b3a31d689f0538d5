// Private to the AVX-512 kernels (gemm_avx512_legacy.cpp, gemm_avx512_k.cpp): the shared
// arithmetic contract, tile drivers and helpers. Compiled only when the build targets
// AVX-512 F/BW/VL/VNNI (-march=native on Ice Lake / Sapphire Rapids / Zen 4 and later).
//
// The arithmetic every kernel implements for one (weight row, token) pair, the same in
// every code path so that results are bit-identical whatever the batch:
//   acc[0] = acc[1] = 0
//   for each block b (32 values; a 256-value super-block for the K formats):
//       s_b = the exact integer dot of the block's quants (int32)
//       a = acc[b % 2] for the 32-value formats (two chains: the single dot is latency
//           bound otherwise), acc[0] for the K formats (one step per 256 values)
//       a = fma(float(s_b), dw_b * dy_b, a)             dw_b, dy_b: the fp32 block scales
//       (+ a = fma(m_b, s'_b, a)                 Q4_1 / Q5_1: min times activation sum)
//       (+ a = fnmadd(float(mins_b), dmin_b * dy_b, a)   Q4_K / Q5_K: the min term)
//   result = acc[0] + acc[1] (32-value formats), acc[0] (K formats)
// How the exact integers are obtained does not matter, so three layouts share it:
//   - "row lanes" (one token): 16 weight rows per zmm; each row's block sums are built in
//     the lanes of its own register, then reduced exactly across lanes (reduce_rows);
//   - "token lanes" (batches): 16 tokens per zmm; activations are transposed once per call
//     into 4-byte groups, each weight group is broadcast and vpdpbusd'd into 16 tokens;
//   - the single dot (get_vec_dot): one pair, scalar fp32 steps;
// and where the CPU has AMX, token lanes take the block sums from tile products
// (gemm_amx.h) and run the same fp32 steps on them.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define PAGODA_GEMM_AVX512 1

// GCC 12's AVX-512 headers build "undefined" vectors from self-initialized locals, which
// -W(maybe-)uninitialized reports at inlined uses (a known false positive). This header
// comes first in the kernel files, so the pragmas cover their own code only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "model/quant/gemm_kernels.h"
#include "model/quant/quant_blocks.h"

namespace pagoda::quant::avx512 {

constexpr int kLanes = 16;
// Row-lanes kernels stream 16 weight rows at once; prefetching each a few lines ahead
// measured ~10% faster decode than relying on the hardware prefetchers alone.
constexpr int kPrefetch = 256;
template <size_t kStepBytes>
inline void prefetch_ahead(const uint8_t* p) {
    for (size_t o = 0; o < kStepBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetch + o, _MM_HINT_T0);
}

// Block scales are converted with a table load (one load-port uop, no ALU work), as
// GGML's CPU backend does. 256 KiB, built on first use, shared by the kernel files.
struct HalfTable {
    float v[65536];
    HalfTable() {
        for (uint32_t h = 0; h < 65536; ++h) v[h] = fp16_to_fp32(static_cast<uint16_t>(h));
    }
};
inline const float* half_table() {
    static const HalfTable table;
    return table.v;
}
inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
inline float load_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
inline __m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m512i bcast32(const uint8_t* p) { return _mm512_set1_epi32(static_cast<int>(load_u32(p))); }

// One fp32 step of the contract for a single pair: acc = fma(float(s), dw * dy, acc).
// The accumulator stays in lane 0 of an xmm register (no moves on the dependency chain);
// products go through intrinsics too, so no compiler contraction can fuse them.
inline __m128 scale_ss(float a, float b) { return _mm_mul_ss(_mm_set_ss(a), _mm_set_ss(b)); }
inline __m128 fma_step(int32_t s, float dw, float dy, __m128 acc) {
    return _mm_fmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), s), scale_ss(dw, dy), acc);
}
inline __m128 fma_step_f(float a, float b, __m128 acc) { return _mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), acc); }
inline __m128 fnmadd_step(int32_t s, float dmin, float dy, __m128 acc) {
    return _mm_fnmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), s), scale_ss(dmin, dy), acc);
}

// Exact cross-lane reduction of 16 rows. v[r] holds row r's partial sums: its lanes 0-7
// add up to the row's first total, lanes 8-15 to its second. Returns {first totals,
// second totals}, lane r = row r. Integer adds, so the grouping does not matter.
struct RowTotals {
    __m512i first, second;
};
inline __m512i pair_sums(__m512i a, __m512i b) {
    // Lanes 0-7: sums of adjacent lanes of a; lanes 8-15: of b.
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    return _mm512_add_epi32(_mm512_permutex2var_epi32(a, even, b), _mm512_permutex2var_epi32(a, odd, b));
}
// row(r) computes v[r]; rows are folded into the tree as they come, so at most a few
// partial vectors are live (no spills of sixteen row registers).
template <class RowFn>
inline RowTotals reduce_rows(RowFn&& row) {
    __m512i w[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
        const __m512i u0 = pair_sums(row(4 * i), row(4 * i + 1));  // 4 lanes per row
        const __m512i u1 = pair_sums(row(4 * i + 2), row(4 * i + 3));
        w[i] = pair_sums(u0, u1);  // 2 lanes per row per half
    }
    const __m512i x[2] = {pair_sums(w[0], w[1]), pair_sums(w[2], w[3])};  // lane 2r: first, 2r+1: second
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    return {_mm512_permutex2var_epi32(x[0], even, x[1]), _mm512_permutex2var_epi32(x[0], odd, x[1])};
}

// 16 x 8 dword transpose: y[g] lane t = dword g of the 32 bytes at src[t]. The layout
// of the token-lanes kernels (and of an AMX B tile).
inline void transpose_16x8(const uint8_t* const (&src)[kLanes], __m512i (&y)[8]) {
    __m512i z[8], a[8], b[8];
    // z[i]: token i in the low 256 bits, token i + 8 in the high; 128-bit lane l holds
    // dwords 4 (l % 2) .. 4 (l % 2) + 3.
    for (int i = 0; i < 8; ++i) {
        z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(load256(src[i])), load256(src[i + 8]), 1);
    }
    for (int i = 0; i < 8; i += 2) {
        a[i] = _mm512_unpacklo_epi32(z[i], z[i + 1]);
        a[i + 1] = _mm512_unpackhi_epi32(z[i], z[i + 1]);
    }
    // b[j] (j < 4), per 128-bit lane: dword j (+4 in odd lanes) of tokens 0-3 (+8 in lanes 2, 3);
    // b[4 + j]: the same for tokens 4-7.
    for (int h = 0; h < 8; h += 4) {
        b[h + 0] = _mm512_unpacklo_epi64(a[h + 0], a[h + 2]);
        b[h + 1] = _mm512_unpackhi_epi64(a[h + 0], a[h + 2]);
        b[h + 2] = _mm512_unpacklo_epi64(a[h + 1], a[h + 3]);
        b[h + 3] = _mm512_unpackhi_epi64(a[h + 1], a[h + 3]);
    }
    const __m512i even_lanes = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i odd_lanes = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    for (int j = 0; j < 4; ++j) {
        y[j] = _mm512_permutex2var_epi64(b[j], even_lanes, b[4 + j]);
        y[4 + j] = _mm512_permutex2var_epi64(b[j], odd_lanes, b[4 + j]);
    }
}

// Byte offsets of 16 rows (rows past `rows` repeat row 0: valid memory, results dropped).
inline __m512i row_offsets(size_t stride, int rows) {
    alignas(64) int32_t off[kLanes];
    for (int r = 0; r < kLanes; ++r) off[r] = r < rows ? static_cast<int32_t>(static_cast<size_t>(r) * stride) : 0;
    return _mm512_load_si512(off);
}
// The fp16 in the low (kHigh = false) or high half of the dword at base + offset[r], as fp32.
template <bool kHigh>
inline __m512 gather_half(__m512i offsets, const uint8_t* base) {
    __m512i v = _mm512_i32gather_epi32(offsets, base, 1);
    if constexpr (kHigh) v = _mm512_srli_epi32(v, 16);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

// Per-thread scratch for prepared activations and decoded weights, 64-byte aligned;
// nullptr when it cannot be had (the callers then fall back to single dots).
inline uint8_t* scratch(size_t bytes) {
    struct Buffer {
        void* p = nullptr;
        size_t size = 0;
        ~Buffer() { std::free(p); }
    };
    thread_local Buffer buf;
    if (buf.size < bytes) {
        std::free(buf.p);
        buf.size = (bytes + 4095) / 4096 * 4096;
        buf.p = std::aligned_alloc(64, buf.size);
        if (!buf.p) buf.size = 0;
    }
    return static_cast<uint8_t*>(buf.p);
}

// The tile from single dots: for strides the gathers cannot address, or without scratch.
template <class K>
void gemm_by_dots(int64_t k, const uint8_t* w, size_t w_stride, int64_t rows, const uint8_t* act, size_t act_stride,
                  int64_t toks, float* out, size_t out_stride) {
    for (int64_t t = 0; t < toks; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
            out[static_cast<size_t>(t) * out_stride + r] =
                K::dot(k, w + static_cast<size_t>(r) * w_stride, act + static_cast<size_t>(t) * act_stride);
        }
    }
}

// Writes lane t of v to out[t * stride] for t < n.
inline void store_token_lanes(__m512 v, float* out, size_t stride, int n) {
    alignas(64) float tmp[kLanes];
    _mm512_store_ps(tmp, v);
    for (int t = 0; t < n; ++t) out[static_cast<size_t>(t) * stride] = tmp[t];
}

// The GemmFn of a kernel K with
//   K::row_lanes(const Tile&, rows <= 16): one token, 16 rows per call;
//   K::prep(act, act_stride, k, toks <= 16, dst): activations of a token group, transposed;
//   K::kPrepBytes(k): bytes prep writes;
//   K::token_lanes(w, w_stride, k, prepared, rows <= K::kRows, out, out_stride, toks).
struct Tile {
    int64_t k;
    const uint8_t* w;
    size_t w_stride;
    const uint8_t* a;
    float* out;  // out[r] for the row-lanes kernel
};

template <class K>
void gemm(int64_t k, const uint8_t* w, size_t w_stride, int64_t rows, const uint8_t* act, size_t act_stride,
          int64_t toks, float* out, size_t out_stride) {
    constexpr size_t kMaxStride = 0x7fffffff / kLanes;  // gathers take 32-bit offsets of 16 rows
    if (w_stride > kMaxStride || act_stride > kMaxStride) {
        gemm_by_dots<K>(k, w, w_stride, rows, act, act_stride, toks, out, out_stride);
        return;
    }
    if (toks == 1) {
        for (int64_t r = 0; r < rows; r += kLanes) {
            K::row_lanes(Tile{k, w + static_cast<size_t>(r) * w_stride, w_stride, act, out + r},
                         static_cast<int>(std::min<int64_t>(kLanes, rows - r)));
        }
        return;
    }
    const int64_t groups = (toks + kLanes - 1) / kLanes;
    const size_t group_bytes = K::prep_bytes(k);
    uint8_t* prepared = scratch(group_bytes * static_cast<size_t>(groups) + K::kWeightScratch);
    if (!prepared) {
        gemm_by_dots<K>(k, w, w_stride, rows, act, act_stride, toks, out, out_stride);
        return;
    }
    for (int64_t g = 0; g < groups; ++g) {
        K::prep(act + static_cast<size_t>(g * kLanes) * act_stride, act_stride, k,
                static_cast<int>(std::min<int64_t>(kLanes, toks - g * kLanes)), prepared + group_bytes * g);
    }
    uint8_t* wscratch = prepared + group_bytes * static_cast<size_t>(groups);
    // Row group outer: its rows stay in L1 while the token groups (in L2) stream past.
    for (int64_t r = 0; r < rows; r += K::kRows) {
        const int nr = static_cast<int>(std::min<int64_t>(K::kRows, rows - r));
        for (int64_t g = 0; g < groups; ++g) {
            K::token_lanes(k, w + static_cast<size_t>(r) * w_stride, w_stride, nr, prepared + group_bytes * g,
                           wscratch, out + static_cast<size_t>(g * kLanes) * out_stride + r, out_stride,
                           static_cast<int>(std::min<int64_t>(kLanes, toks - g * kLanes)));
        }
    }
}

// Per-file tables, combined in gemm_dispatch.cpp.
GemmFn gemm_legacy(GgmlType weight_type, bool use_amx);
VecDotFn vec_dot_legacy(GgmlType weight_type);
GemmFn gemm_k(GgmlType weight_type, bool use_amx);
VecDotFn vec_dot_k(GgmlType weight_type);

}  // namespace pagoda::quant::avx512

#endif
