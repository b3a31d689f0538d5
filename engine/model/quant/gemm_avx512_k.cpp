// AVX-512 VNNI tile kernels for the K super-block formats Q4_K, Q5_K, Q6_K (against Q8_K).
//
// A super-block (256 values) is taken 64 values (one zmm) at a time. Weights are
// unsigned bytes (Q6_K's -32 offset is removed once per super-block through the
// activation's 16-value sums, bsums); vpmaddubsw forms exact int16 pair sums and
// vpdpwssd multiplies them by the sub-block scales into int32 lanes. So per 64 values
// and (row, token) the integer work is two instructions, and the fp32 work (conversion,
// scale product, FMA) happens once per super-block; the Q4_K / Q5_K min term is an
// 8-term integer dot of the mins with the sub-block sums, added to the same accumulator.
#include "model/quant/gemm_avx512.h"

#ifdef PAGODA_GEMM_AVX512

namespace pagoda::quant::avx512 {
namespace {

constexpr size_t kActQs = 4;     // BlockQ8_K: float d, then qs[256]
constexpr size_t kActSums = 260;  // then bsums[16] (int16)

// 32 bytes of packed nibbles -> [low nibbles (32), high nibbles (32)].
inline __m512i nibbles64(const uint8_t* p) {
    __m512i q = _mm512_broadcast_i64x4(load256(p));
    q = _mm512_mask_srli_epi16(q, 0xFFFF0000u, q, 4);
    return _mm512_and_si512(q, _mm512_set1_epi8(0x0F));
}

// int16 index vector: lane i -> first + i / per.
inline __m512i lane_groups(int first, int per) {
    alignas(64) int16_t idx[32];
    for (int i = 0; i < 32; ++i) idx[i] = static_cast<int16_t>(first + i / per);
    return _mm512_load_si512(idx);
}

template <bool kFiveBit>
struct Q45KKernel {
    static constexpr size_t kBytes = kFiveBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
    static constexpr size_t kQh = 16;                   // Q5_K: qh[32] after d, dmin, scales
    static constexpr size_t kQs = kFiveBit ? 48 : 16;  // qs[128]
    static constexpr int kRows = 4, kToks = 4, kDecodeRows = 4;

    template <int R, int T>
    static void run(const Tile& tl) {
        const float* h2f = half_table();
        const int64_t nb = tl.k / kQKK;
        __m512 acc[R][T];
        const uint8_t* wr[R];
        const uint8_t* ar[T];
        for (int r = 0; r < R; ++r) {
            wr[r] = tl.w + static_cast<size_t>(r) * tl.w_stride;
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
        }
        for (int t = 0; t < T; ++t) ar[t] = tl.a + static_cast<size_t>(t) * tl.a_stride;
        // Chunk c (values 64c..64c+63) has sub-blocks 2c (low nibbles) and 2c+1 (high).
        const __m512i scale_idx[4] = {lane_groups(0, 16), lane_groups(2, 16), lane_groups(4, 16), lane_groups(6, 16)};
        // Q5_K: rotations bringing qh bit 2c (first 32 bytes) / 2c+1 (last 32) to bit 4.
        const __m512i rot[4] = {_mm512_set_epi64(3, 3, 3, 3, 4, 4, 4, 4), _mm512_set_epi64(1, 1, 1, 1, 2, 2, 2, 2),
                                _mm512_set_epi64(63, 63, 63, 63, 0, 0, 0, 0),
                                _mm512_set_epi64(61, 61, 61, 61, 62, 62, 62, 62)};
        for (int64_t i = 0; i < nb; ++i) {
            __m512i sc[R];
            __m128i mins[R];
            __m512 d[R], dmin[R];
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const uint8_t* x = wr[r];
                uint32_t u[4];
                unpack_scales_mins_k4(x + 4, u);
                sc[r] = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(u[1]),
                                                                                static_cast<int>(u[0]))));
                mins[r] = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(u[3]), static_cast<int>(u[2])));
                d[r] = bcast_half(h2f, x);
                dmin[r] = _mm512_set1_ps(-h2f[load_u16(x + 2)]);
            }
            __m128i sums[T];
            __m512 dy[T];
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) {
                const uint8_t* y = ar[t];
                dy[t] = _mm512_set1_ps(load_f32(y));
                // Pairs of 16-sums: the sums of the 8 sub-blocks of 32.
                sums[t] = _mm_hadd_epi16(load128(y + kActSums), load128(y + kActSums + 16));
            }
            __m512i isum[R][T];
            for (int r = 0; r < R; ++r) {
                for (int t = 0; t < T; ++t) isum[r][t] = _mm512_setzero_si512();
            }
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) {
                __m512i q[R], s[R];
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
                    q[r] = nibbles64(wr[r] + kQs + 32 * c);
                    if constexpr (kFiveBit) {
                        const __m512i h = _mm512_rolv_epi64(_mm512_broadcast_i64x4(load256(wr[r] + kQh)), rot[c]);
                        q[r] = _mm512_ternarylogic_epi32(q[r], h, _mm512_set1_epi8(0x10), 0xF8);  // q | (h & 16)
                    }
                    s[r] = _mm512_permutexvar_epi16(scale_idx[c], sc[r]);
                }
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) {
                    const __m512i yv = load512(ar[t] + kActQs + 64 * c);
#pragma GCC unroll 8
                    for (int r = 0; r < R; ++r) {
                        isum[r][t] = _mm512_dpwssd_epi32(isum[r][t], _mm512_maddubs_epi16(q[r], yv), s[r]);
                    }
                }
            }
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) {
                    acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][t]), _mm512_mul_ps(d[r], dy[t]), acc[r][t]);
                    const __m128 m = _mm_cvtepi32_ps(_mm_madd_epi16(mins[r], sums[t]));
                    acc[r][t] = _mm512_fmadd_ps(_mm512_zextps128_ps512(m), _mm512_mul_ps(dmin[r], dy[t]), acc[r][t]);
                }
            }
            for (int r = 0; r < R; ++r) wr[r] += kBytes;
            for (int t = 0; t < T; ++t) ar[t] += sizeof(BlockQ8_K);
        }
        store_tile<R, T>(tl, acc);
    }
};

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d. Per 128-value
// half h: values 0..31 / 32..63 are the low nibbles of ql[0..31] / ql[32..63] with qh bits
// 0-1 / 2-3; values 64..95 / 96..127 the high nibbles with qh bits 4-5 / 6-7.
struct Q6KKernel {
    static constexpr size_t kQh = 128, kScales = 192, kD = 208;
    static constexpr int kRows = 4, kToks = 4, kDecodeRows = 4;

    // Unsigned 6-bit values 64c..64c+63 of the super-block at x.
    static inline __m512i weights(const uint8_t* x, int c) {
        const __m512i ql = load512(x + 64 * (c / 2));
        const __m512i qh = _mm512_broadcast_i64x4(load256(x + kQh + 32 * (c / 2)));
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        __m512i q;
        if (c % 2 == 0) {
            // qh bits 0-1 (first 32 bytes) / 2-3 (last 32) moved to bits 4-5; low nibbles of ql.
            const __m512i h = _mm512_sllv_epi64(qh, _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4));
            q = _mm512_ternarylogic_epi32(ql, h, low4, 0xE4);  // low4 ? ql : h
        } else {
            const __m512i h = _mm512_srlv_epi64(qh, _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0));
            q = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), h, low4, 0xE4);
        }
        return _mm512_and_si512(q, _mm512_set1_epi8(0x3F));
    }

    template <int R, int T>
    static void run(const Tile& tl) {
        const float* h2f = half_table();
        const int64_t nb = tl.k / kQKK;
        __m512 acc[R][T];
        const uint8_t* wr[R];
        const uint8_t* ar[T];
        for (int r = 0; r < R; ++r) {
            wr[r] = tl.w + static_cast<size_t>(r) * tl.w_stride;
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
        }
        for (int t = 0; t < T; ++t) ar[t] = tl.a + static_cast<size_t>(t) * tl.a_stride;
        // Chunk c has the 16-value sub-blocks 4c..4c+3.
        const __m512i scale_idx[4] = {lane_groups(0, 8), lane_groups(4, 8), lane_groups(8, 8), lane_groups(12, 8)};
        for (int64_t i = 0; i < nb; ++i) {
            __m512i sc[R];
            __m256i offset_sc[R];
            __m512 d[R];
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const __m256i sc16 = _mm256_cvtepi8_epi16(load128(wr[r] + kScales));
                sc[r] = _mm512_castsi256_si512(sc16);
                offset_sc[r] = _mm256_mullo_epi16(sc16, _mm256_set1_epi16(-32));
                d[r] = bcast_half(h2f, wr[r] + kD);
            }
            __m512i isum[R][T];
            __m512 dy[T];
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) {
                dy[t] = _mm512_set1_ps(load_f32(ar[t]));
                const __m256i bsums = load256(ar[t] + kActSums);
                // -32 * sum_j scale_j * bsum_j: the offset of the unsigned weights.
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) isum[r][t] = _mm512_zextsi256_si512(_mm256_madd_epi16(offset_sc[r], bsums));
            }
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) {
                __m512i q[R], s[R];
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
                    q[r] = weights(wr[r], c);
                    s[r] = _mm512_permutexvar_epi16(scale_idx[c], sc[r]);
                }
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) {
                    const __m512i yv = load512(ar[t] + kActQs + 64 * c);
#pragma GCC unroll 8
                    for (int r = 0; r < R; ++r) {
                        isum[r][t] = _mm512_dpwssd_epi32(isum[r][t], _mm512_maddubs_epi16(q[r], yv), s[r]);
                    }
                }
            }
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) {
                    acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][t]), _mm512_mul_ps(d[r], dy[t]), acc[r][t]);
                }
            }
            for (int r = 0; r < R; ++r) wr[r] += sizeof(BlockQ6_K);
            for (int t = 0; t < T; ++t) ar[t] += sizeof(BlockQ8_K);
        }
        store_tile<R, T>(tl, acc);
    }
};

}  // namespace

GemmFn gemm_k(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_K:
            return gemm<Q45KKernel<false>>;
        case GgmlType::Q5_K:
            return gemm<Q45KKernel<true>>;
        case GgmlType::Q6_K:
            return gemm<Q6KKernel>;
        default:
            return nullptr;
    }
}

VecDotFn vec_dot_k(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_K:
            return dot<Q45KKernel<false>>;
        case GgmlType::Q5_K:
            return dot<Q45KKernel<true>>;
        case GgmlType::Q6_K:
            return dot<Q6KKernel>;
        default:
            return nullptr;
    }
}

}  // namespace pagoda::quant::avx512

#endif
