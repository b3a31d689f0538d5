// AVX2 + FMA (+F16C) dot products; compiled only when the build targets them
// (-march=native on a machine that has them). Same math as vec_dot_scalar.cpp: exact
// integer sums within a block, then one fp32 FMA per block (per super-block for the K
// types), so results differ from the scalar ones only by fp32 summation order.
//
// int8 x int8 products use the sign trick: maddubs multiplies unsigned by signed bytes,
// so |x| * (y * sign(x)) gives x*y. That needs y != -128, which holds: every activation
// quantizer here maps into [-127, 127].
#include "model/quant/gemm_kernels.h"
#include "model/quant/quant_impl.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "model/quant/quant_blocks.h"

namespace pagoda::quant {
namespace {

// Block scales are converted one at a time, and a table load beats vcvtph2ps for that
// (GGML's CPU backend does the same). Built on first use: 256 KiB, once per process.
struct HalfTable {
    float v[65536];
    HalfTable() {
        for (uint32_t h = 0; h < 65536; ++h) v[h] = fp16_to_fp32(static_cast<uint16_t>(h));
    }
};
const float* half_table() {
    static const HalfTable table;
    return table.v;
}
// Each dot fetches the table once (not per block): the guard of the function-local static
// stays out of the hot loop, and no static-initialization order can see it unbuilt.
inline float half_to_float(const float* h2f, Half h) { return h2f[h]; }

inline float hsum_ps(__m256 x) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

inline float hsum_ps128(__m128 r) {
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// 16 packed bytes -> 32 values: low nibbles (values 0..15 of the block) in the low lane,
// high nibbles (values 16..31) in the high lane, each 0..15.
inline __m256i unpack_nibbles_32(const uint8_t* p) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, byte j = 0xFF when bit j is set, else 0x00.
inline __m256i bits_to_bytes_32(const uint8_t* p) {
    uint32_t bits;
    std::memcpy(&bits, p, sizeof(bits));
    // Byte j of the result starts as byte j/8 of `bits`...
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(bits)),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
    // ...then every bit but bit j%8 is forced on, so the byte is all ones exactly when that bit was set.
    const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    return _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1));
}

// Sum of adjacent pairs of (unsigned ax) * (signed sy) bytes, then of adjacent int16
// pairs: 8 int32 lanes, converted to float.
inline __m256 mul_sum_us8_pairs_float(__m256i ax, __m256i sy) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy));
#elif defined(__AVXVNNI__)
    return _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ax, sy));
#else
    const __m256i dot = _mm256_maddubs_epi16(ax, sy);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(dot, _mm256_set1_epi16(1)));
#endif
}

inline __m256 mul_sum_i8_pairs_float(__m256i x, __m256i y) {
    return mul_sum_us8_pairs_float(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Legacy formats: one fp32 FMA per 32-value block; two independent accumulators so
// consecutive blocks do not wait on each other's FMA latency.
template <typename WBlock, typename ABlock, typename BlockDot>
inline float sum_blocks(int64_t nb, const WBlock* x, const ABlock* y, BlockDot block_dot) {
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        acc0 = block_dot(x[i], y[i], acc0);
        acc1 = block_dot(x[i + 1], y[i + 1], acc1);
    }
    if (i < nb) acc0 = block_dot(x[i], y[i], acc0);
    return hsum_ps(_mm256_add_ps(acc0, acc1));
}

inline __m256 scale_product(const float* h2f, Half a, Half b) {
    return _mm256_set1_ps(half_to_float(h2f, a) * half_to_float(h2f, b));
}

float dot_q8_0_q8_0(int64_t n, const void* vx, const void* vy) {
    const float* const h2f = half_table();
    return sum_blocks(n / kQK32, static_cast<const BlockQ8_0*>(vx), static_cast<const BlockQ8_0*>(vy),
                      [h2f](const BlockQ8_0& x, const BlockQ8_0& y, __m256 acc) {
                          const __m256 p = mul_sum_i8_pairs_float(load256(x.qs), load256(y.qs));
                          return _mm256_fmadd_ps(scale_product(h2f, x.d, y.d), p, acc);
                      });
}

float dot_q4_0_q8_0(int64_t n, const void* vx, const void* vy) {
    const float* const h2f = half_table();
    return sum_blocks(n / kQK32, static_cast<const BlockQ4_0*>(vx), static_cast<const BlockQ8_0*>(vy),
                      [h2f](const BlockQ4_0& x, const BlockQ8_0& y, __m256 acc) {
                          const __m256i q = _mm256_sub_epi8(unpack_nibbles_32(x.qs), _mm256_set1_epi8(8));
                          const __m256 p = mul_sum_i8_pairs_float(q, load256(y.qs));
                          return _mm256_fmadd_ps(scale_product(h2f, x.d, y.d), p, acc);
                      });
}

float dot_q5_0_q8_0(int64_t n, const void* vx, const void* vy) {
    const float* const h2f = half_table();
    return sum_blocks(n / kQK32, static_cast<const BlockQ5_0*>(vx), static_cast<const BlockQ8_0*>(vy),
                      [h2f](const BlockQ5_0& x, const BlockQ8_0& y, __m256 acc) {
                          // (q | h<<4) - 16 as int8: q when the fifth bit is set, q | 0xF0 (= q - 16) when not.
                          const __m256i hi =
                              _mm256_andnot_si256(bits_to_bytes_32(x.qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
                          const __m256i q = _mm256_or_si256(unpack_nibbles_32(x.qs), hi);
                          const __m256 p = mul_sum_i8_pairs_float(q, load256(y.qs));
                          return _mm256_fmadd_ps(scale_product(h2f, x.d, y.d), p, acc);
                      });
}

// Q4_1 / Q5_1: sum((q*d + m) * y) = d*dy*sum(q*qy) + m*s, s being the activation block's d*sum(qy).
template <typename WBlock, typename Unpack>
float dot_with_min_q8_1(int64_t n, const WBlock* x, const BlockQ8_1* y, Unpack unpack) {
    const float* const h2f = half_table();
    const int64_t nb = n / kQK32;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float summs0 = 0, summs1 = 0;
    auto step = [&](int64_t i, __m256& acc, float& summs) {
        summs += half_to_float(h2f, x[i].m) * half_to_float(h2f, y[i].s);
        // Weights are unsigned (0..15 or 0..31) here, so no sign trick is needed.
        const __m256 p = mul_sum_us8_pairs_float(unpack(x[i]), load256(y[i].qs));
        acc = _mm256_fmadd_ps(scale_product(h2f, x[i].d, y[i].d), p, acc);
    };
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        step(i, acc0, summs0);
        step(i + 1, acc1, summs1);
    }
    if (i < nb) step(i, acc0, summs0);
    return hsum_ps(_mm256_add_ps(acc0, acc1)) + (summs0 + summs1);
}

float dot_q4_1_q8_1(int64_t n, const void* vx, const void* vy) {
    return dot_with_min_q8_1(n, static_cast<const BlockQ4_1*>(vx), static_cast<const BlockQ8_1*>(vy),
                             [](const BlockQ4_1& x) { return unpack_nibbles_32(x.qs); });
}

float dot_q5_1_q8_1(int64_t n, const void* vx, const void* vy) {
    return dot_with_min_q8_1(n, static_cast<const BlockQ5_1*>(vx), static_cast<const BlockQ8_1*>(vy),
                             [](const BlockQ5_1& x) {
                                 const __m256i hi = _mm256_and_si256(bits_to_bytes_32(x.qh), _mm256_set1_epi8(0x10));
                                 return _mm256_or_si256(unpack_nibbles_32(x.qs), hi);
                             });
}

// Byte shuffle that broadcasts int16 lane k of each 128-bit lane.
inline __m256i scale_shuffle(int k) { return _mm256_set1_epi16(static_cast<short>(((2 * k + 1) << 8) | (2 * k))); }

// Q4_K / Q5_K. Per super-block: the min term from Q8_K's bsums (pairs of 16-sums give
// each 32-value sub-block's sum), then for each 64-value chunk the low/high nibble
// sub-blocks, multiplied in int16 and scaled by their 6-bit scale into int32.
template <bool kFiveBit>
float dot_qk45_q8_K(int64_t n, const void* vx, const void* vy) {
    const float* const h2f = half_table();
    using Block = std::conditional_t<kFiveBit, BlockQ5_K, BlockQ4_K>;
    const auto* x = static_cast<const Block*>(vx);
    const auto* y = static_cast<const BlockQ8_K*>(vy);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int64_t i = 0; i < n / kQKK; ++i) {
        const float d = y[i].d * half_to_float(h2f, x[i].d);
        const float dmin = -y[i].d * half_to_float(h2f, x[i].dmin);
        uint32_t w[4];
        unpack_scales_mins_k4(x[i].scales, w);
        const auto as_u64 = [](uint32_t lo, uint32_t hi) { return static_cast<long long>(lo | (uint64_t{hi} << 32)); };
        const __m128i mins16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(as_u64(w[2], w[3])));
        // The 8 scales as int16 in both lanes; shuffles broadcast one of them at a time.
        const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(as_u64(w[0], w[1]))));
        const __m256i bsums = load256(y[i].bsums);
        const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_madd_epi16(mins16, sums32)), acc_m);

        const uint8_t* q4 = x[i].qs;
        const int8_t* q8 = y[i].qs;
        __m256i qh;
        if constexpr (kFiveBit) qh = load256(x[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < kQKK / 64; ++c, q4 += 32, q8 += 64) {
            const __m256i bits = load256(q4);
            __m256i ql = _mm256_and_si256(bits, low4);
            __m256i qhi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low4);
            if constexpr (kFiveBit) {
                // Chunk c's fifth bits are bits 2c (low half) and 2c+1 (high half) of qh;
                // qh is shifted right by 2 per chunk, so they are always bits 0 and 1.
                ql = _mm256_or_si256(ql, _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
                qhi = _mm256_or_si256(qhi, _mm256_and_si256(_mm256_slli_epi16(qh, 3), bit4));
                qh = _mm256_srli_epi16(qh, 2);
            }
            __m256i pl = _mm256_maddubs_epi16(ql, load256(q8));
            __m256i ph = _mm256_maddubs_epi16(qhi, load256(q8 + 32));
            pl = _mm256_madd_epi16(pl, _mm256_shuffle_epi8(scales16, scale_shuffle(2 * c)));
            ph = _mm256_madd_epi16(ph, _mm256_shuffle_epi8(scales16, scale_shuffle(2 * c + 1)));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_ps(acc) + hsum_ps128(acc_m);
}

// Byte shuffle putting int16 lane 2c in the low 128-bit lane and lane 2c+1 in the high one.
inline __m256i pair_shuffle(int c) {
    const int lo = 4 * c, hi = 4 * c + 2;  // byte offsets of int16 lanes 2c and 2c+1
    return _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(((hi + 1) << 8) | hi)),
                            _mm_set1_epi16(static_cast<short>(((lo + 1) << 8) | lo)));
}

// Q6_K: the 6-bit values are used unsigned (0..63) and the -32 offset is taken out once
// per super-block as 32 * sum_j scale_j * bsum_j.
float dot_q6_K_q8_K(int64_t n, const void* vx, const void* vy) {
    const float* const h2f = half_table();
    const auto* x = static_cast<const BlockQ6_K*>(vx);
    const auto* y = static_cast<const BlockQ8_K*>(vy);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i m2 = _mm256_set1_epi8(0x03);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQKK; ++i) {
        const float d = y[i].d * half_to_float(h2f, x[i].d);
        const int8_t* sc = x[i].scales;
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* q8 = y[i].qs;

        const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(scales16, load256(y[i].bsums)), 5);
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), offset);

        for (int half = 0; half < 2; ++half, ql += 64, qh += 32, q8 += 128, sc += 8) {
            // This half's 8 scales as int16, in both 128-bit lanes.
            int64_t sc8;
            std::memcpy(&sc8, sc, 8);
            const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_cvtsi64_si128(sc8)));
            const __m256i l0 = load256(ql);
            const __m256i l1 = load256(ql + 32);
            const __m256i h = load256(qh);
            // Values c*32 .. c*32+31 of this 128-half: low/high nibble of ql[0..31] or ql[32..63],
            // with 2 bits of qh (bits 2c, 2c+1) on top.
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)),
                _mm256_or_si256(_mm256_and_si256(l1, m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)),
            };
            for (int c = 0; c < 4; ++c) {
                const __m256i p = _mm256_maddubs_epi16(q[c], load256(q8 + 32 * c));
                // Low lane holds the first 16 values (scale 2c), high lane the next 16 (scale 2c+1).
                const __m256i s = _mm256_shuffle_epi8(scales16, pair_shuffle(c));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_ps(acc);
}

float dot_f32(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const float*>(vx);
    const auto* y = static_cast<const float*>(vy);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; ++i) sum += x[i] * y[i];
    return sum;
}

inline __m256 load_f16x8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __m256 load_bf16x8(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

template <__m256 (*Load)(const uint16_t*), float (*ToFloat)(uint16_t)>
float dot_half(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const uint16_t*>(vx);
    const auto* y = static_cast<const uint16_t*>(vy);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(Load(x + i), Load(y + i), a0);
        a1 = _mm256_fmadd_ps(Load(x + i + 8), Load(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(Load(x + i + 16), Load(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(Load(x + i + 24), Load(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(Load(x + i), Load(y + i), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; ++i) sum += ToFloat(x[i]) * ToFloat(y[i]);
    return sum;
}

}  // namespace

VecDotFn get_vec_dot_avx2(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::F32:
            return dot_f32;
        case GgmlType::F16:
            return dot_half<load_f16x8, fp16_to_fp32>;
        case GgmlType::BF16:
            return dot_half<load_bf16x8, bf16_to_fp32>;
        case GgmlType::Q4_0:
            return dot_q4_0_q8_0;
        case GgmlType::Q4_1:
            return dot_q4_1_q8_1;
        case GgmlType::Q5_0:
            return dot_q5_0_q8_0;
        case GgmlType::Q5_1:
            return dot_q5_1_q8_1;
        case GgmlType::Q8_0:
            return dot_q8_0_q8_0;
        case GgmlType::Q4_K:
            return dot_qk45_q8_K<false>;
        case GgmlType::Q5_K:
            return dot_qk45_q8_K<true>;
        case GgmlType::Q6_K:
            return dot_q6_K_q8_K;
        default:
            return nullptr;
    }
}

}  // namespace pagoda::quant

#else  // no AVX2/FMA/F16C in this build

namespace pagoda::quant {
VecDotFn get_vec_dot_avx2(GgmlType) { return nullptr; }
}  // namespace pagoda::quant

#endif
