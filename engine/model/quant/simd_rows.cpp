// fp32 / half row kernels for attention (quant_simd.h): AVX2+FMA+F16C when compiled in,
// plain loops otherwise.
#include "model/quant/quant.h"
#include "model/quant/quant_simd.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define PAGODA_ROWS_AVX2 1
#endif

namespace pagoda {
namespace {

#if PAGODA_ROWS_AVX2
inline float hsum_ps(__m256 x) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}
inline __m256 load_f16x8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#endif

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) { return get_vec_dot(GgmlType::F32)(n, a, b); }

float dot_f16_f32(const uint16_t* a, const float* b, int64_t n) {
    int64_t i = 0;
    float sum = 0.0f;
#if PAGODA_ROWS_AVX2
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(load_f16x8(a + i), _mm256_loadu_ps(b + i), a0);
        a1 = _mm256_fmadd_ps(load_f16x8(a + i + 8), _mm256_loadu_ps(b + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_f16x8(a + i), _mm256_loadu_ps(b + i), a0);
    sum = hsum_ps(_mm256_add_ps(a0, a1));
#endif
    for (; i < n; ++i) sum += fp16_to_fp32(a[i]) * b[i];
    return sum;
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
    int64_t i = 0;
#if PAGODA_ROWS_AVX2
    const __m256 va = _mm256_set1_ps(alpha);
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    }
#endif
    for (; i < n; ++i) y[i] += alpha * x[i];
}

void axpy_f16(float alpha, const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
#if PAGODA_ROWS_AVX2
    const __m256 va = _mm256_set1_ps(alpha);
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16x8(x + i), _mm256_loadu_ps(y + i)));
    }
#endif
    for (; i < n; ++i) y[i] += alpha * fp16_to_fp32(x[i]);
}

}  // namespace pagoda
