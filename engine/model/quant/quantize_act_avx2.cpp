// AVX2 versions of the activation quantizers (Q8_0, Q8_1, Q8_K), run once per activation
// row before every matmul. Bit-identical to the scalar reference ones in
// quant_legacy.cpp / quant_k.cpp: same scale arithmetic, same rounding (round-half-away
// for Q8_0/Q8_1 like roundf, round-half-even for Q8_K like nearest_int).
#include "model/quant/quant_impl.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

#include <cmath>

#include "model/quant/quant_blocks.h"

namespace pagoda::quant {
namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// roundf (half away from zero): truncate x + copysign(0.5 - 2^-25, x). The constant just
// below one half keeps e.g. 0.49999997 from rounding up, and ties still round away
// because the sum rounds up to the next integer. Valid for |x| < 2^23.
inline __m256 round_half_away(__m256 x) {
    const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    const __m256 half = _mm256_or_ps(_mm256_set1_ps(0.49999997f), sign);
    return _mm256_round_ps(_mm256_add_ps(x, half), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
}

// 32 int32 lanes (4 vectors, values in int8 range) -> 32 int8 in order.
inline __m256i pack_i32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b);  // lanes interleave per 128 bits...
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i abcd = _mm256_packs_epi16(ab, cd);
    // ...so restore the order of the 4-byte groups.
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Quantizes one 32-value block with x * id rounded half away; returns the sum of quants
// through *sum (for Q8_1).
inline void q8_block(const float* x, float id, int8_t* qs, int* sum) {
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
        q[k] = _mm256_cvttps_epi32(round_half_away(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
    if (sum) {
        const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
        *sum = _mm_cvtsi128_si32(t);
    }
}

inline float block_absmax(const float* x, int n) {
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + j)));
    return hmax_ps(m);
}

void quantize_q8_0_avx2(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        const float d = block_absmax(x, kQK32) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        q8_block(x, id, y[i].qs, nullptr);
    }
}

void quantize_q8_1_avx2(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_1*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        const float d = block_absmax(x, kQK32) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int sum = 0;
        q8_block(x, id, y[i].qs, &sum);
        y[i].s = fp32_to_fp16(static_cast<float>(sum) * d);
    }
}

void quantize_q8_K_avx2(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(vy);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        const float amax = block_absmax(x, kQKK);
        if (amax == 0.0f) {
            y[i].d = 0;
            for (auto& q : y[i].qs) q = 0;
            for (auto& b : y[i].bsums) b = 0;
            continue;
        }
        // The scale's sign comes from the first value of largest magnitude, as in the reference.
        float max = 0;
        for (int j = 0; j < kQKK; ++j) {
            if (std::fabs(x[j]) == amax) {
                max = x[j];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i hi = _mm256_set1_epi32(127);
        for (int j = 0; j < kQKK; j += 32) {
            __m256i q[4];
            for (int k = 0; k < 4; ++k) {
                const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * k), vs);
                q[k] = _mm256_min_epi32(
                    _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), hi);
            }
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
        }
        for (int g = 0; g < kQKK / 16; ++g) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = static_cast<int16_t>(sum);
        }
        y[i].d = 1 / iscale;
    }
}

}  // namespace

QuantizeRowFn get_quantize_row_simd(GgmlType type) {
    switch (type) {
        case GgmlType::Q8_0:
            return quantize_q8_0_avx2;
        case GgmlType::Q8_1:
            return quantize_q8_1_avx2;
        case GgmlType::Q8_K:
            return quantize_q8_K_avx2;
        default:
            return nullptr;
    }
}

}  // namespace pagoda::quant

#else

namespace pagoda::quant {
QuantizeRowFn get_quantize_row_simd(GgmlType) { return nullptr; }
}  // namespace pagoda::quant

#endif
