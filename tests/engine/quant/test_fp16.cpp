// Half and bfloat16 conversions: special values, rounding ties, subnormals, and the
// row (F16C) versions against the scalar ones.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "model/quant/quant.h"
#include "model/quant/quant_simd.h"

namespace pagoda {
namespace {

float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return f;
}

uint32_t to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof(u));
    return u;
}

TEST(Fp16, SpecialValues) {
    EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
    EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
    EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
    EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
    EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);  // largest finite half
    EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
    EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
    EXPECT_EQ(fp32_to_fp16(1e10f), 0x7c00);  // overflow saturates to infinity
    EXPECT_EQ(fp32_to_fp16(std::nanf("")), 0x7e00);
    EXPECT_EQ(fp32_to_fp16(-std::nanf("")), 0xfe00);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
    EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -24)), 0x0003);
    EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -24)), 0x8001);
    EXPECT_EQ(fp32_to_fp16(1e-30f), 0x0000);  // underflow to zero keeps the sign
    EXPECT_EQ(fp32_to_fp16(-1e-30f), 0x8000);

    EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
    EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
    EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
    EXPECT_EQ(to_bits(fp16_to_fp32(0x8000)), 0x80000000u);
    EXPECT_TRUE(std::isinf(fp16_to_fp32(0x7c00)));
    EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
    EXPECT_EQ(to_bits(fp16_to_fp32(0x7c01)), 0x7fc02000u);  // signalling NaN comes back quiet
    EXPECT_TRUE(std::signbit(fp16_to_fp32(0xfe00)));
}

TEST(Fp16, RoundsTiesToEven) {
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): even mantissa wins.
    EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
    // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even).
    EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
    // Just above a tie rounds up.
    EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
    // 65520 is the tie between 65504 and 2^16: rounds to infinity; just below stays finite.
    EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
    EXPECT_EQ(fp32_to_fp16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
    // Subnormal ties: 2^-25 (half of the smallest subnormal) goes to 0, 3*2^-25 to 2*2^-24.
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);
    EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
    // Rounding up out of the subnormal range gives the smallest normal.
    EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -14), 0.0f)), 0x0400);
}

TEST(Fp16, EveryHalfRoundTrips) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = fp16_to_fp32(static_cast<uint16_t>(h));
        const bool is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
        if (is_nan) {
            ASSERT_TRUE(std::isnan(f)) << h;
            ASSERT_EQ(fp32_to_fp16(f), (h & 0x8000) | 0x7e00) << h;
        } else {
            ASSERT_EQ(fp32_to_fp16(f), h) << h;
        }
    }
}

TEST(Fp16, MatchesNearestOnRandomFloats) {
    // The exact answer: of the two neighbouring halves, the nearer (ties to even mantissa).
    std::mt19937 rng(7);
    std::uniform_int_distribution<uint32_t> bits(0, 0x477fffff);  // finite, below the overflow point
    for (int i = 0; i < 200000; ++i) {
        const float f = from_bits(bits(rng) | ((rng() & 1) ? 0x80000000u : 0u));
        const uint16_t h = fp32_to_fp16(f);
        const double v = fp16_to_fp32(h);
        const uint16_t mag = h & 0x7fff, sign = h & 0x8000;
        const double up = fp16_to_fp32(static_cast<uint16_t>(sign | (mag + 1)));
        const double down = fp16_to_fp32(mag == 0 ? static_cast<uint16_t>((sign ^ 0x8000) | 1)
                                                  : static_cast<uint16_t>(sign | (mag - 1)));
        const double err = std::fabs(v - f);
        ASSERT_LE(err, std::fabs(up - f)) << f;
        ASSERT_LE(err, std::fabs(down - f)) << f;
    }
}

TEST(Bf16, ConversionsMatchGgml) {
    EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
    EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
    // Ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
    EXPECT_EQ(fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
    EXPECT_EQ(fp32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
    // NaN is forced quiet (bit 6 of the bf16) and keeps its top payload bits.
    EXPECT_EQ(fp32_to_bf16(from_bits(0x7f800001)), 0x7fc0);
    EXPECT_EQ(fp32_to_bf16(from_bits(0xffa00000)), 0xffe0);
    // Subnormals are rounded, not flushed (current GGML).
    EXPECT_EQ(fp32_to_bf16(from_bits(0x00010000)), 0x0001);
    // Large values round up to infinity.
    EXPECT_EQ(fp32_to_bf16(from_bits(0x7f7fffff)), 0x7f80);
    EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
    EXPECT_EQ(bf16_to_fp32(0xc049), -3.140625f);
}

TEST(Fp16Rows, RowConversionsEqualScalar) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<uint32_t> any_bits;
    const int n = 1003;  // not a multiple of 8: exercises the tails
    std::vector<float> src(n);
    for (auto& v : src) v = from_bits(any_bits(rng));  // includes NaN, inf, subnormals
    src[0] = std::nanf("");
    src[1] = 65520.0f;
    std::vector<uint16_t> half(n), bf(n);
    fp32_to_fp16_row(src.data(), half.data(), n);
    fp32_to_bf16_row(src.data(), bf.data(), n);
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(half[i], fp32_to_fp16(src[i])) << i;
        ASSERT_EQ(bf[i], fp32_to_bf16(src[i])) << i;
    }
    std::vector<float> back(n);
    std::vector<uint16_t> halves(n);
    for (int i = 0; i < n; ++i) halves[i] = static_cast<uint16_t>(any_bits(rng));
    fp16_to_fp32_row(halves.data(), back.data(), n);
    for (int i = 0; i < n; ++i) ASSERT_EQ(to_bits(back[i]), to_bits(fp16_to_fp32(halves[i]))) << i;
    bf16_to_fp32_row(halves.data(), back.data(), n);
    for (int i = 0; i < n; ++i) ASSERT_EQ(to_bits(back[i]), to_bits(bf16_to_fp32(halves[i]))) << i;
}

TEST(SimdRows, AttentionHelpersMatchScalarMath) {
    std::mt19937 rng(3);
    std::normal_distribution<float> g;
    for (int n : {1, 7, 8, 33, 128, 1000}) {
        std::vector<float> a(n), b(n), y(n), y_ref(n);
        std::vector<uint16_t> ah(n);
        for (int i = 0; i < n; ++i) {
            a[i] = g(rng);
            b[i] = g(rng);
            ah[i] = fp32_to_fp16(a[i]);
            y[i] = y_ref[i] = g(rng);
        }
        double ref = 0, ref_h = 0, mag = 0;
        for (int i = 0; i < n; ++i) {
            ref += static_cast<double>(a[i]) * b[i];
            ref_h += static_cast<double>(fp16_to_fp32(ah[i])) * b[i];
            mag += std::fabs(static_cast<double>(a[i]) * b[i]);
        }
        EXPECT_NEAR(dot_f32(a.data(), b.data(), n), ref, 1e-6 * mag + 1e-7) << n;
        EXPECT_NEAR(dot_f16_f32(ah.data(), b.data(), n), ref_h, 1e-6 * mag + 1e-7) << n;
        axpy_f32(0.5f, a.data(), y.data(), n);
        for (int i = 0; i < n; ++i) EXPECT_NEAR(y[i], y_ref[i] + 0.5f * a[i], 1e-6f) << i;
        axpy_f16(-2.0f, ah.data(), y.data(), n);
        for (int i = 0; i < n; ++i) {
            EXPECT_NEAR(y[i], y_ref[i] + 0.5f * a[i] - 2.0f * fp16_to_fp32(ah[i]), 1e-5f) << i;
        }
    }
}

}  // namespace
}  // namespace pagoda
