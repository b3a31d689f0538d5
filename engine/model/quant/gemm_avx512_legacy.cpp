// AVX-512 VNNI tile kernels for the 32-value block formats: Q4_0, Q5_0, Q8_0 (against
// Q8_0 activations) and Q4_1, Q5_1 (against Q8_1).
//
// One zmm holds two consecutive blocks, weights as unsigned bytes u = q + offset
// (offset 8, 16 or 128 for the signed formats, 0 for Q4_1 / Q5_1). vpdpbusd multiplies
// unsigned weight bytes by signed activation bytes, four per int32 lane, exactly; the
// offset is taken out by starting each lane at -offset * (sum of its four activation
// bytes), computed once per token and shared by every row. Per block pair and
// (row, token): one vpdpbusd, one conversion, one scale product, one FMA into that
// pair's fp32 accumulator (lanes 0-7 block b, 8-15 block b+1). An odd last block runs
// the same steps with the upper half zero.
#include "model/quant/gemm_avx512.h"

#ifdef PAGODA_GEMM_AVX512

namespace pagoda::quant::avx512 {
namespace {

constexpr __mmask16 kSecondBlock = 0xFF00;  // fp32 / int32 lanes of block b + 1

// Lanes 0-7 the half at p0, lanes 8-15 the one at p1 (NB == 2); all lanes p0 (NB == 1).
template <int NB>
inline __m512 pair_scale(const float* h2f, const uint8_t* p0, const uint8_t* p1) {
    if constexpr (NB == 2) return _mm512_mask_blend_ps(kSecondBlock, bcast_half(h2f, p0), bcast_half(h2f, p1));
    return bcast_half(h2f, p0);
}

// 16 packed nibble bytes of block b (and b+1) -> [lo b, hi b, lo b+1, hi b+1], 0..15 each;
// zero for the missing block when NB == 1.
template <int NB>
inline __m512i nibbles(const uint8_t* qs0, const uint8_t* qs1) {
    __m512i q;
    if constexpr (NB == 2) {
        q = _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(load128(qs0)), kSecondBlock, load128(qs1));
    } else {
        q = _mm512_maskz_broadcast_i32x4(0x00FF, load128(qs0));
    }
    q = _mm512_mask_srli_epi16(q, 0xFF00FF00u, q, 4);  // 128-bit lanes 1 and 3 take the high nibbles
    return _mm512_and_si512(q, _mm512_set1_epi8(0x0F));
}

// Adds 16 to every byte whose fifth bit (qh, bit j for value j) is set.
template <int NB>
inline __m512i add_fifth_bits(__m512i q, const uint8_t* qh0, const uint8_t* qh1) {
    uint64_t bits = load_u32(qh0);
    if constexpr (NB == 2) bits |= uint64_t{load_u32(qh1)} << 32;
    return _mm512_mask_add_epi8(q, _cvtu64_mask64(bits), q, _mm512_set1_epi8(0x10));
}

// Weight formats. kBytes: block size; kOffset: what makes the values unsigned (0: they
// are, and the format has a min, dotted with Q8_1); weights<NB>(block): the unsigned bytes.
struct Q4_0W {
    static constexpr size_t kBytes = sizeof(BlockQ4_0);
    static constexpr int kOffset = 8;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return nibbles<NB>(x + 2, x + kBytes + 2);
    }
};
struct Q5_0W {
    static constexpr size_t kBytes = sizeof(BlockQ5_0);
    static constexpr int kOffset = 16;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return add_fifth_bits<NB>(nibbles<NB>(x + 6, x + kBytes + 6), x + 2, x + kBytes + 2);
    }
};
struct Q8_0W {
    static constexpr size_t kBytes = sizeof(BlockQ8_0);
    static constexpr int kOffset = 128;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        __m512i q;
        if constexpr (NB == 2) {
            q = _mm512_inserti64x4(_mm512_castsi256_si512(load256(x + 2)), load256(x + kBytes + 2), 1);
        } else {
            q = _mm512_zextsi256_si512(load256(x + 2));
        }
        return _mm512_xor_si512(q, _mm512_set1_epi8(static_cast<char>(0x80)));  // q + 128 as unsigned
    }
};
struct Q4_1W {
    static constexpr size_t kBytes = sizeof(BlockQ4_1);
    static constexpr int kOffset = 0;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return nibbles<NB>(x + 4, x + kBytes + 4);
    }
};
struct Q5_1W {
    static constexpr size_t kBytes = sizeof(BlockQ5_1);
    static constexpr int kOffset = 0;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return add_fifth_bits<NB>(nibbles<NB>(x + 8, x + kBytes + 8), x + 4, x + kBytes + 4);
    }
};

template <class W>
struct LegacyKernel {
    static constexpr bool kMin = W::kOffset == 0;  // Q4_1 / Q5_1: + m * s per block
    static constexpr size_t kABytes = kMin ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
    static constexpr size_t kAQs = kMin ? 4 : 2;  // offset of the activation quants in a block
    static constexpr int kRows = 4, kToks = 4, kDecodeRows = 8;

    template <int R, int T, int NB>
    static inline void step(const float* h2f, const uint8_t* const (&wr)[R], const uint8_t* const (&ar)[T],
                            __m512 (&acc)[R][T]) {
        __m512i wq[R];
        __m512 wd[R], wm[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            wq[r] = W::template weights<NB>(wr[r]);
            wd[r] = pair_scale<NB>(h2f, wr[r], wr[r] + W::kBytes);
            // The min of each block in the first lane of its half, zeros elsewhere.
            if constexpr (kMin) {
                wm[r] = _mm512_maskz_mov_ps(NB == 2 ? 0x0101 : 0x0001,
                                            pair_scale<NB>(h2f, wr[r] + 2, wr[r] + W::kBytes + 2));
            }
        }
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
            const uint8_t* y = ar[t];
            __m512i yq;
            if constexpr (NB == 2) {
                yq = _mm512_inserti64x4(_mm512_castsi256_si512(load256(y + kAQs)), load256(y + kABytes + kAQs), 1);
            } else {
                yq = _mm512_zextsi256_si512(load256(y + kAQs));
            }
            __m512i base = _mm512_setzero_si512();
            if constexpr (!kMin) {
                const __m512i off = _mm512_set1_epi8(static_cast<char>(W::kOffset));
                base = _mm512_sub_epi32(base, _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, yq));
            }
            const __m512 yd = pair_scale<NB>(h2f, y, y + kABytes);
            __m512 ys;
            if constexpr (kMin) ys = pair_scale<NB>(h2f, y + 2, y + kABytes + 2);
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const __m512i p = _mm512_dpbusd_epi32(base, wq[r], yq);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(wd[r], yd), acc[r][t]);
                if constexpr (kMin) acc[r][t] = _mm512_fmadd_ps(wm[r], ys, acc[r][t]);
            }
        }
    }

    template <int R, int T>
    static void run(const Tile& tl) {
        const float* h2f = half_table();
        const int64_t nb = tl.k / kQK32;
        __m512 acc[R][T];
        const uint8_t* wr[R];
        const uint8_t* ar[T];
        for (int r = 0; r < R; ++r) {
            wr[r] = tl.w + static_cast<size_t>(r) * tl.w_stride;
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
        }
        for (int t = 0; t < T; ++t) ar[t] = tl.a + static_cast<size_t>(t) * tl.a_stride;
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            step<R, T, 2>(h2f, wr, ar, acc);
            for (int r = 0; r < R; ++r) wr[r] += 2 * W::kBytes;
            for (int t = 0; t < T; ++t) ar[t] += 2 * kABytes;
        }
        if (b < nb) step<R, T, 1>(h2f, wr, ar, acc);
        store_tile<R, T>(tl, acc);
    }
};

}  // namespace

GemmFn gemm_legacy(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_0:
            return gemm<LegacyKernel<Q4_0W>>;
        case GgmlType::Q5_0:
            return gemm<LegacyKernel<Q5_0W>>;
        case GgmlType::Q8_0:
            return gemm<LegacyKernel<Q8_0W>>;
        case GgmlType::Q4_1:
            return gemm<LegacyKernel<Q4_1W>>;
        case GgmlType::Q5_1:
            return gemm<LegacyKernel<Q5_1W>>;
        default:
            return nullptr;
    }
}

VecDotFn vec_dot_legacy(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_0:
            return dot<LegacyKernel<Q4_0W>>;
        case GgmlType::Q5_0:
            return dot<LegacyKernel<Q5_0W>>;
        case GgmlType::Q8_0:
            return dot<LegacyKernel<Q8_0W>>;
        case GgmlType::Q4_1:
            return dot<LegacyKernel<Q4_1W>>;
        case GgmlType::Q5_1:
            return dot<LegacyKernel<Q5_1W>>;
        default:
            return nullptr;
    }
}

}  // namespace pagoda::quant::avx512

#endif
