// Private to the AVX-512 kernels (gemm_avx512_legacy.cpp, gemm_avx512_k.cpp): the tile
// driver and the helpers both share. Compiled only when the build targets AVX-512
// F/BW/VL/VNNI (-march=native on Ice Lake / Sapphire Rapids / Zen 4 and later).
//
// Each weight type provides a kernel struct with
//     template <int R, int T> static void run(const Tile&);
// computing R weight rows x T tokens. Inside run<R, T> every (row, token) pair owns its
// accumulator and goes through exactly the operations run<1, 1> would apply to it, in
// the same order; the R x T pairs only share loads and the decoding of weight blocks and
// activation blocks. Hence results do not depend on R, T, or a row's place in the tile
// (batch invariance), and run<1, 1> is the single-row vec_dot.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define PAGODA_GEMM_AVX512 1

// GCC 12's AVX-512 headers build "undefined" vectors from self-initialized locals, which
// -Wmaybe-uninitialized reports at every inlined use (a known false positive). This
// header comes first in the kernel files, so the pragma covers their own code only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "model/quant/gemm_kernels.h"
#include "model/quant/quant_blocks.h"

namespace pagoda::quant::avx512 {

struct Tile {
    int64_t k;  // values per row
    const uint8_t* w;
    size_t w_stride;
    const uint8_t* a;
    size_t a_stride;
    float* out;  // out[t * out_stride + r]
    size_t out_stride;
};

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
inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
// Broadcast of the half at h (table lookup).
inline __m512 bcast_half(const float* h2f, const uint8_t* h) { return _mm512_set1_ps(h2f[load_u16(h)]); }

// Writes each pair's accumulator, reduced in one fixed order.
template <int R, int T>
inline void store_tile(const Tile& tl, const __m512 (&acc)[R][T]) {
    for (int t = 0; t < T; ++t) {
        for (int r = 0; r < R; ++r) tl.out[static_cast<size_t>(t) * tl.out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
    }
}

template <class K, int R, int T>
void micro(const Tile& tl) {
    K::template run<R, T>(tl);
}

// micro<K, r, t> for r <= MaxR, t <= MaxT, indexed [r - 1][t - 1].
template <class K, int MaxR, int MaxT>
struct MicroTable {
    using Fn = void (*)(const Tile&);
    Fn fn[MaxR][MaxT] = {};
    constexpr MicroTable() { fill(std::make_integer_sequence<int, MaxR * MaxT>{}); }
    template <int... I>
    constexpr void fill(std::integer_sequence<int, I...>) {
        ((fn[I / MaxT][I % MaxT] = &micro<K, I / MaxT + 1, I % MaxT + 1>), ...);
    }
};

// The GemmFn of kernel K: kRows x kToks tiles for batches, kDecodeRows x 1 for one token
// (several weight rows in flight hide memory latency), smaller tiles at the edges.
template <class K>
void gemm(int64_t k, const uint8_t* w, size_t w_stride, int64_t rows, const uint8_t* act, size_t act_stride,
          int64_t toks, float* out, size_t out_stride) {
    static constexpr MicroTable<K, K::kRows, K::kToks> table;
    Tile tl{k, w, w_stride, act, act_stride, out, out_stride};
    if (toks == 1) {
        int64_t r = 0;
        for (; r + K::kDecodeRows <= rows; r += K::kDecodeRows) {
            tl.w = w + static_cast<size_t>(r) * w_stride;
            tl.out = out + r;
            micro<K, K::kDecodeRows, 1>(tl);
        }
        for (; r < rows; r += K::kRows) {
            const int64_t rr = std::min<int64_t>(K::kRows, rows - r);
            tl.w = w + static_cast<size_t>(r) * w_stride;
            tl.out = out + r;
            table.fn[rr - 1][0](tl);
        }
        return;
    }
    // Row group outer: its kRows weight rows stay in L1 while the tile's tokens stream
    // past from L2.
    for (int64_t r = 0; r < rows; r += K::kRows) {
        const int64_t rr = std::min<int64_t>(K::kRows, rows - r);
        for (int64_t t = 0; t < toks; t += K::kToks) {
            const int64_t tt = std::min<int64_t>(K::kToks, toks - t);
            tl.w = w + static_cast<size_t>(r) * w_stride;
            tl.a = act + static_cast<size_t>(t) * act_stride;
            tl.out = out + static_cast<size_t>(t) * out_stride + r;
            table.fn[rr - 1][tt - 1](tl);
        }
    }
}

template <class K>
float dot(int64_t n, const void* w, const void* a) {
    float r;
    micro<K, 1, 1>(Tile{n, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(a), 0, &r, 0});
    return r;
}

// Per-file tables, combined in gemm_dispatch.cpp.
GemmFn gemm_legacy(GgmlType weight_type);
VecDotFn vec_dot_legacy(GgmlType weight_type);
GemmFn gemm_k(GgmlType weight_type);
VecDotFn vec_dot_k(GgmlType weight_type);

}  // namespace pagoda::quant::avx512

#endif
