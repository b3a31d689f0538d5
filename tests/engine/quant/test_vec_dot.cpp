// Dot products: the activation encoding each weight type needs, agreement with an fp64
// dot of the decoded rows, and the SIMD kernels against the scalar reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "model/ggml_type.h"
#include "model/quant/quant.h"
#include "model/quant/quant_impl.h"

namespace pagoda {
namespace {

const GgmlType kWeightTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                                 GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                 GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::vector<float> random_row(int64_t n, uint32_t seed, int kind) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g;
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) {
        switch (kind) {
            case 0:
                x = g(rng);
                break;
            case 1:
                x = u(rng) * 0.02f;
                break;  // small weights, typical of real models
            case 2:
                x = g(rng) * (u(rng) > 0.98f ? 30.0f : 1.0f);
                break;  // outliers
            default:
                x = std::fabs(g(rng));
                break;  // all positive
        }
    }
    return v;
}

struct Encoded {
    std::vector<uint8_t> bytes;
    std::vector<float> decoded;
};

Encoded encode(GgmlType type, const std::vector<float>& x) {
    const int64_t n = static_cast<int64_t>(x.size());
    Encoded e;
    e.bytes.resize(*ggml_row_bytes(type, n));
    EXPECT_TRUE(quantize_row(type, x.data(), e.bytes.data(), n).is_ok());
    e.decoded.resize(x.size());
    dequantize_row(type, e.bytes.data(), e.decoded.data(), n);
    return e;
}

TEST(VecDot, ActivationTypesMatchLlamaCpp) {
    EXPECT_EQ(vec_dot_type(GgmlType::F32), GgmlType::F32);
    EXPECT_EQ(vec_dot_type(GgmlType::F16), GgmlType::F16);
    EXPECT_EQ(vec_dot_type(GgmlType::BF16), GgmlType::BF16);
    EXPECT_EQ(vec_dot_type(GgmlType::Q4_0), GgmlType::Q8_0);
    EXPECT_EQ(vec_dot_type(GgmlType::Q5_0), GgmlType::Q8_0);
    EXPECT_EQ(vec_dot_type(GgmlType::Q8_0), GgmlType::Q8_0);
    EXPECT_EQ(vec_dot_type(GgmlType::Q4_1), GgmlType::Q8_1);
    EXPECT_EQ(vec_dot_type(GgmlType::Q5_1), GgmlType::Q8_1);
    EXPECT_EQ(vec_dot_type(GgmlType::Q4_K), GgmlType::Q8_K);
    EXPECT_EQ(vec_dot_type(GgmlType::Q5_K), GgmlType::Q8_K);
    EXPECT_EQ(vec_dot_type(GgmlType::Q6_K), GgmlType::Q8_K);
    for (GgmlType t : kWeightTypes) EXPECT_NE(get_vec_dot(t), nullptr) << ggml_type_name(t);
    EXPECT_EQ(get_vec_dot(GgmlType::Q2_K), nullptr);
    EXPECT_EQ(get_vec_dot(GgmlType::I32), nullptr);
}

// Q4_1/Q5_1 dots add min * s per block, s being the activation block's sum stored as
// fp16: allow that rounding (half an ulp of fp16 on |sum|) on top of fp32 rounding.
double q8_1_sum_slack(const Encoded& w, const Encoded& a) {
    double wmax = 0, asum = 0;
    for (size_t i = 0; i < w.decoded.size(); ++i) {
        wmax = std::max(wmax, std::fabs(static_cast<double>(w.decoded[i])));
        asum += std::fabs(static_cast<double>(a.decoded[i]));
    }
    return 1e-3 * wmax * asum;
}

// The dot must equal the exact dot of what the two encoded rows decode to; only fp32
// rounding of per-block partial sums separates them.
TEST(VecDot, EqualsFp64DotOfDecodedRows) {
    for (GgmlType wt : kWeightTypes) {
        const GgmlType at = vec_dot_type(wt);
        for (int64_t n : {256, 4096, 11008}) {
            for (int kind = 0; kind < 4; ++kind) {
                const auto w = encode(wt, random_row(n, 100 + kind, kind));
                const auto a = encode(at, random_row(n, 200 + kind, (kind + 1) % 4));
                double exact = 0, mag = 0;
                for (int64_t i = 0; i < n; ++i) {
                    exact += static_cast<double>(w.decoded[i]) * a.decoded[i];
                    mag += std::fabs(static_cast<double>(w.decoded[i]) * a.decoded[i]);
                }
                for (auto [name, fn] :
                     {std::pair{"dispatch", get_vec_dot(wt)}, std::pair{"scalar", quant::get_vec_dot_scalar(wt)}}) {
                    const float got = fn(n, w.bytes.data(), a.bytes.data());
                    // Q4_1/Q5_1 use the activation's stored fp16 sum (s), so allow its rounding too.
                    const double tol = 2e-6 * mag + (at == GgmlType::Q8_1 ? q8_1_sum_slack(w, a) : 0.0) + 1e-30;
                    EXPECT_NEAR(got, exact, tol) << ggml_type_name(wt) << " " << name << " n=" << n << " kind=" << kind;
                }
            }
        }
    }
}

TEST(VecDot, ApproximatesFloatDot) {
    // End to end: quantized weight . quantized activation vs the float dot; loose, per format.
    const int64_t n = 4096;
    const auto w = random_row(n, 1, 0);
    const auto a = random_row(n, 2, 0);
    double exact = 0;
    for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(w[i]) * a[i];
    for (GgmlType wt : kWeightTypes) {
        const auto we = encode(wt, w);
        const auto ae = encode(vec_dot_type(wt), a);
        const float got = vec_dot(wt, n, we.bytes.data(), ae.bytes.data());
        // Each side's error is ~ rel_rmse * sqrt(n) on this N(0,1) data; allow 4 sigma.
        double rel = 0.01;  // 8-bit activations and 16-bit floats
        if (wt == GgmlType::Q4_0 || wt == GgmlType::Q4_1 || wt == GgmlType::Q4_K) rel += 0.1;
        if (wt == GgmlType::Q5_0 || wt == GgmlType::Q5_1 || wt == GgmlType::Q5_K) rel += 0.05;
        if (wt == GgmlType::Q6_K) rel += 0.025;
        EXPECT_NEAR(got, exact, 4 * rel * std::sqrt(static_cast<double>(n))) << ggml_type_name(wt);
    }
}

TEST(VecDot, SimdMatchesScalar) {
    bool any_simd = false;
    for (GgmlType wt : kWeightTypes) {
        const VecDotFn simd = quant::get_vec_dot_simd(wt);
        if (!simd) continue;
        any_simd = true;
        const VecDotFn scalar = quant::get_vec_dot_scalar(wt);
        const GgmlType at = vec_dot_type(wt);
        const int64_t bs = std::max(ggml_type_info(wt).block_size, ggml_type_info(at).block_size);
        for (int64_t blocks : {1, 2, 3, 7, 16, 43}) {
            for (int64_t extra : {0, 1, 5, 13, 31}) {  // plain float types: odd lengths exercise the tails
                if (extra != 0 && bs != 1) continue;
                const int64_t n = (bs == 1 ? 32 : bs) * blocks + extra;
                for (int kind = 0; kind < 4; ++kind) {
                    const auto w = encode(wt, random_row(n, 300 + static_cast<uint32_t>(n) + kind, kind));
                    const auto a = encode(at, random_row(n, 400 + static_cast<uint32_t>(n) + kind, (kind + 2) % 4));
                    double mag = 0;
                    for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(w.decoded[i]) * a.decoded[i]);
                    const float s = scalar(n, w.bytes.data(), a.bytes.data());
                    const float v = simd(n, w.bytes.data(), a.bytes.data());
                    EXPECT_NEAR(v, s, 1e-5 * mag + 1e-30) << ggml_type_name(wt) << " n=" << n << " kind=" << kind;
                }
            }
        }
    }
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    EXPECT_TRUE(any_simd) << "AVX2 build without SIMD dot kernels";
#else
    (void)any_simd;
#endif
}

TEST(VecDot, ExtremeBlocksDoNotOverflow) {
    // Largest magnitudes every format can hold, against activations at +-127: the int16
    // intermediate sums in the SIMD kernels must not saturate.
    for (GgmlType wt : kWeightTypes) {
        const GgmlType at = vec_dot_type(wt);
        const int64_t n = 512;
        std::vector<float> w(n), a(n);
        for (int64_t i = 0; i < n; ++i) {
            w[i] = (i % 3 == 0) ? -4.0f : 3.5f;
            a[i] = (i % 2 == 0) ? 1.0f : -1.0f;
            if (i % 5 == 0) a[i] = w[i] > 0 ? 1.0f : -1.0f;
        }
        const auto we = encode(wt, w);
        const auto ae = encode(at, a);
        double exact = 0, mag = 0;
        for (int64_t i = 0; i < n; ++i) {
            exact += static_cast<double>(we.decoded[i]) * ae.decoded[i];
            mag += std::fabs(static_cast<double>(we.decoded[i]) * ae.decoded[i]);
        }
        const double tol = 2e-6 * mag + (at == GgmlType::Q8_1 ? q8_1_sum_slack(we, ae) : 0.0);
        EXPECT_NEAR(get_vec_dot(wt)(n, we.bytes.data(), ae.bytes.data()), exact, tol) << ggml_type_name(wt);
        EXPECT_NEAR(quant::get_vec_dot_scalar(wt)(n, we.bytes.data(), ae.bytes.data()), exact, tol)
            << ggml_type_name(wt);
    }
}

}  // namespace
}  // namespace pagoda
