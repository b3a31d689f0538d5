// Small math kernels shared by the CPU ops, written so GCC and Clang vectorize the loops
// that call them (no libm calls, no branches).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace pagoda::cpu {

// e^x to about 2 ulp for x in [-87.3, 88]; inputs outside are clamped (so it returns
// FLT_MIN instead of 0 far below, which no caller can tell apart). libm's expf is a call
// per element, which made softmax and SiLU the slowest part of a prompt.
inline float exp_approx(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.0f ? 88.0f : x;
    const float n = std::nearbyint(x * 1.44269504088896341f);  // x / ln 2
    // r = x - n ln 2, with ln 2 split in two so r keeps its low bits.
    float r = std::fma(n, -0.693359375f, x);
    r = std::fma(n, 2.12194440e-4f, r);
    // Minimax polynomial for e^r on |r| <= ln 2 / 2 (Cephes' expf coefficients).
    float p = 1.9875691500e-4f;
    p = std::fma(p, r, 1.3981999507e-3f);
    p = std::fma(p, r, 8.3334519073e-3f);
    p = std::fma(p, r, 4.1665795894e-2f);
    p = std::fma(p, r, 1.6666665459e-1f);
    p = std::fma(p, r, 5.0000001201e-1f);
    p = std::fma(p, r * r, r + 1.0f);
    const int32_t biased = static_cast<int32_t>(n) + 127;  // 2^n as a float's exponent
    return p * std::bit_cast<float>(biased << 23);
}

// silu(g) * u, as ggml computes it: g / (1 + e^-g) * u.
inline float silu_mul_one(float g, float u) { return g / (1.0f + exp_approx(-g)) * u; }

// fp32 dot products. Every variant computes exactly the same thing: value i goes to
// lane i % 16 of 16 running sums (each a chain of multiply-adds in index order), the
// lanes are folded pairwise, and values past the last multiple of 16 are added last.
// So a row's result does not depend on which variant ran or on how many tokens were
// batched with it. The lane loops are written so compilers emit SIMD multiply-adds.
inline constexpr int kDotLanes = 16;

inline void dot_accumulate(float* acc, const float* a, const float* b, int64_t n16) {
    for (int64_t i = 0; i < n16; i += kDotLanes) {
        for (int l = 0; l < kDotLanes; ++l) acc[l] += a[i + l] * b[i + l];
    }
}

// The values past the last multiple of 16, summed in order.
inline float dot_tail(const float* a, const float* b, int64_t count) {
    float tail = 0.0f;
    for (int64_t i = 0; i < count; ++i) tail += a[i] * b[i];
    return tail;
}

inline float dot_fold(float* acc, float tail) {
    for (int w = kDotLanes / 2; w >= 1; w /= 2) {
        for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
    }
    return acc[0] + tail;
}

inline float dot_f32(const float* a, const float* b, int64_t n) {
    float acc[kDotLanes] = {};
    const int64_t n16 = n / kDotLanes * kDotLanes;
    dot_accumulate(acc, a, b, n16);
    return dot_fold(acc, dot_tail(a + n16, b + n16, n - n16));
}

// w . x0..x3 at once: w is loaded once for four rows, with 8 independent SIMD chains.
inline void dot4_f32(const float* w, const float* x0, const float* x1, const float* x2, const float* x3, int64_t n,
                     float* out) {
    float a0[kDotLanes] = {}, a1[kDotLanes] = {}, a2[kDotLanes] = {}, a3[kDotLanes] = {};
    const int64_t n16 = n / kDotLanes * kDotLanes;
    for (int64_t i = 0; i < n16; i += kDotLanes) {
        for (int l = 0; l < kDotLanes; ++l) {
            const float wv = w[i + l];
            a0[l] += wv * x0[i + l];
            a1[l] += wv * x1[i + l];
            a2[l] += wv * x2[i + l];
            a3[l] += wv * x3[i + l];
        }
    }
    out[0] = dot_fold(a0, dot_tail(w + n16, x0 + n16, n - n16));
    out[1] = dot_fold(a1, dot_tail(w + n16, x1 + n16, n - n16));
    out[2] = dot_fold(a2, dot_tail(w + n16, x2 + n16, n - n16));
    out[3] = dot_fold(a3, dot_tail(w + n16, x3 + n16, n - n16));
}

}  // namespace pagoda::cpu
