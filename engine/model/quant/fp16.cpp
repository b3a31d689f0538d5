// IEEE half and bfloat16 conversions. The scalar ones are exact integer code (no reliance
// on the FPU's rounding mode or on contraction), rounding to nearest even like GGML;
// the row versions use F16C when available and give the same bits.
#include <cstring>

#include "model/quant/quant.h"
#include "model/quant/quant_simd.h"

#if defined(__F16C__) && defined(__AVX2__)
#include <immintrin.h>
#define PAGODA_QUANT_F16C 1
#endif

namespace pagoda {
namespace {

uint32_t float_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof(u));
    return u;
}

float bits_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return f;
}

}  // namespace

uint16_t fp32_to_fp16(float f) {
    const uint32_t x = float_bits(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
    const uint32_t a = x & 0x7fffffff;
    if (a > 0x7f800000) return sign | 0x7e00;  // NaN: quiet, payload dropped (as GGML's scalar path)
    // 65520 is halfway between the largest half (65504) and 2^16; ties go to even = infinity.
    if (a >= 0x477ff000) return sign | 0x7c00;
    if (a >= 0x38800000) {  // normal half: rebias the exponent (127 -> 15) and round 13 mantissa bits away
        uint32_t h = (a >> 13) - (112u << 10);
        const uint32_t rest = a & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // a carry into the exponent is still right
        return static_cast<uint16_t>(sign | h);
    }
    if (a <= 0x33000000) return sign;  // <= 2^-25: rounds to zero (2^-25 itself is a tie, to even 0)
    // Subnormal half: value = m * 2^(e-150), result k = value / 2^-24 = m >> (126 - e), rounded.
    const uint32_t e = a >> 23;
    const uint32_t m = (a & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t k = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (k & 1))) ++k;  // k == 0x400 encodes the smallest normal: correct
    return static_cast<uint16_t>(sign | k);
}

float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ff;
    if (e == 0x1f) {
        // inf, or NaN made quiet with its payload kept (what F16C and GGML's conversion give)
        return bits_float(sign | 0x7f800000 | (m << 13) | (m != 0 ? 0x00400000u : 0u));
    }
    if (e != 0) return bits_float(sign | ((e + 112) << 23) | (m << 13));
    if (m == 0) return bits_float(sign);
    // Subnormal half: normalize into an fp32 normal.
    uint32_t exp = 113;
    while ((m & 0x400) == 0) {
        m <<= 1;
        --exp;
    }
    return bits_float(sign | (exp << 23) | ((m & 0x3ff) << 13));
}

uint16_t fp32_to_bf16(float f) {
    const uint32_t u = float_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 64);  // NaN: force quiet
    return static_cast<uint16_t>((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

float bf16_to_fp32(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
#if PAGODA_QUANT_F16C
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
#endif
    for (; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
#if PAGODA_QUANT_F16C
    const __m128i quiet = _mm_set1_epi16(0x7e00);
    const __m128i sign_mask = _mm_set1_epi16(static_cast<short>(0x8000));
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        // F16C keeps NaN payload bits; the scalar path (and GGML's) writes a plain quiet NaN.
        const __m256i nan32 = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        const __m128i nan16 = _mm_packs_epi32(_mm256_castsi256_si128(nan32), _mm256_extracti128_si256(nan32, 1));
        const __m128i fixed = _mm_or_si128(_mm_and_si128(h, sign_mask), quiet);
        h = _mm_blendv_epi8(h, fixed, nan16);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
    }
#endif
    for (; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

void bf16_to_fp32_row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
#if PAGODA_QUANT_F16C
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        const __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(w));
    }
#endif
    for (; i < n; ++i) dst[i] = bf16_to_fp32(src[i]);
}

void fp32_to_bf16_row(const float* src, uint16_t* dst, int64_t n) {
    // Plain loop: GCC vectorizes the integer rounding well, and it stays bit-exact.
    for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_bf16(src[i]);
}

const char* quant_simd_level() {
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    return "avx2";
#else
    return "scalar";
#endif
}

}  // namespace pagoda
