// CPU matmul for every runnable weight type against an fp64 product of the dequantized
// weights with the fp32 activations. The tolerance is the error the activation encoding
// (vec_dot_type) is allowed, so a kernel that mixes up rows, blocks or scales fails.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "backend/cpu/create_cpu_backend.h"
#include "cpu_test_util.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda {
namespace {

using test::make_tensor;
using test::random_floats;
using test::read_tensor;

struct Shape {
    int64_t n;  // tokens
    int64_t m;  // out features
    int64_t k;  // in features
};

struct Weights {
    std::vector<uint8_t> bytes;  // encoded [m, k]
    std::vector<float> values;   // the same, decoded
};

Weights make_weights(GgmlType type, int64_t m, int64_t k, uint32_t seed) {
    const std::vector<float> raw = random_floats(static_cast<size_t>(m * k), seed);
    const size_t row_bytes = static_cast<size_t>(*ggml_row_bytes(type, k));
    Weights w;
    w.bytes.resize(row_bytes * static_cast<size_t>(m));
    w.values.resize(static_cast<size_t>(m * k));
    for (int64_t o = 0; o < m; ++o) {
        EXPECT_TRUE(quantize_row(type, raw.data() + o * k, w.bytes.data() + o * row_bytes, k).is_ok());
        dequantize_row(type, w.bytes.data() + o * row_bytes, w.values.data() + o * k, k);
    }
    return w;
}

// Largest error the encoding of one activation value may add, per value.
std::vector<double> activation_error_bound(GgmlType act_type, const float* x, int64_t k) {
    std::vector<double> bound(static_cast<size_t>(k));
    const int64_t block = ggml_type_info(act_type).block_size;
    for (int64_t b = 0; b < k; b += block) {
        double amax = 0.0;
        for (int64_t i = b; i < b + block; ++i) amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
        for (int64_t i = b; i < b + block; ++i) {
            const double v = std::fabs(static_cast<double>(x[i]));
            switch (act_type) {
                case GgmlType::F32:
                    bound[i] = v * 1e-7;
                    break;
                case GgmlType::F16:
                    bound[i] = v * std::ldexp(1.0, -11);
                    break;
                case GgmlType::BF16:
                    bound[i] = v * std::ldexp(1.0, -8);
                    break;
                // Half a quantization step, plus the fp16 rounding of the block scale.
                default:
                    bound[i] = amax / 127.0 * 0.5 * 1.01 + v * 1e-3;
                    break;
            }
        }
    }
    return bound;
}

void check_matmul(GgmlType type, const Shape& s, uint32_t seed) {
    SCOPED_TRACE(std::string(ggml_type_name(type)) + " n=" + std::to_string(s.n) + " m=" + std::to_string(s.m) +
                 " k=" + std::to_string(s.k));
    const Weights w = make_weights(type, s.m, s.k, seed);
    const std::vector<float> x = random_floats(static_cast<size_t>(s.n * s.k), seed + 1, -2.0f, 2.0f);
    const GgmlType act_type = vec_dot_type(type);

    std::vector<float> results[2];
    const int thread_counts[2] = {1, 3};
    for (int variant = 0; variant < 2; ++variant) {
        auto backend = create_cpu_backend(thread_counts[variant]);
        Result<Tensor> wt = backend->load_weight(type, s.m, s.k, w.bytes.data());
        ASSERT_TRUE(wt.is_ok()) << wt.status().to_string();
        EXPECT_EQ(wt->data, w.bytes.data());  // zero-copy
        Tensor xt = make_tensor(*backend, s.n, s.k, x);
        Tensor out = make_tensor(*backend, s.n, s.m, {});
        backend->matmul(*wt, xt, out);
        ASSERT_TRUE(backend->end_step().is_ok());
        results[variant] = read_tensor(*backend, out);
    }
    // The thread count decides only who computes an output, never how.
    EXPECT_EQ(results[0], results[1]);
    // Nor does the batch: each token alone gives the same bits as in the batch.
    if (s.n > 1) {
        auto backend = create_cpu_backend(2);
        Result<Tensor> wt = backend->load_weight(type, s.m, s.k, w.bytes.data());
        ASSERT_TRUE(wt.is_ok());
        for (int64_t t = 0; t < s.n; ++t) {
            Tensor xt =
                make_tensor(*backend, 1, s.k, std::vector<float>(x.begin() + t * s.k, x.begin() + (t + 1) * s.k));
            Tensor out = make_tensor(*backend, 1, s.m, {});
            backend->matmul(*wt, xt, out);
            ASSERT_TRUE(backend->end_step().is_ok());
            EXPECT_EQ(read_tensor(*backend, out),
                      std::vector<float>(results[0].begin() + t * s.m, results[0].begin() + (t + 1) * s.m))
                << "token " << t;
        }
    }

    const int64_t block = ggml_type_info(type).block_size;
    int bad = 0;
    for (int64_t t = 0; t < s.n; ++t) {
        const float* xr = x.data() + t * s.k;
        const std::vector<double> bound = activation_error_bound(act_type, xr, s.k);
        for (int64_t o = 0; o < s.m; ++o) {
            const float* wr = w.values.data() + o * s.k;
            double ref = 0.0, abs_sum = 0.0, tol = 0.0;
            for (int64_t i = 0; i < s.k; ++i) {
                ref += static_cast<double>(wr[i]) * xr[i];
                abs_sum += std::fabs(static_cast<double>(wr[i]) * xr[i]);
                tol += std::fabs(static_cast<double>(wr[i])) * bound[i];
            }
            // Types with a block minimum (q4_1, q5_1, K-quants) use the activation
            // block sum, stored as fp16 in q8_1.
            for (int64_t b = 0; b < s.k; b += block) {
                double wmax = 0.0, xsum = 0.0;
                for (int64_t i = b; i < b + block; ++i) {
                    wmax = std::max(wmax, std::fabs(static_cast<double>(wr[i])));
                    xsum += xr[i];
                }
                tol += wmax * std::fabs(xsum) * 1e-3;
            }
            tol += abs_sum * 2e-6 + 1e-5;
            const double got = results[0][static_cast<size_t>(t * s.m + o)];
            if (!(std::fabs(got - ref) <= tol) && ++bad <= 5) {
                ADD_FAILURE() << "out[" << t << "][" << o << "] = " << got << ", expected " << ref << " +- " << tol;
            }
        }
    }
    EXPECT_EQ(bad, 0);
}

class CpuMatmul : public ::testing::TestWithParam<GgmlType> {};

TEST_P(CpuMatmul, MatchesDequantizedReference) {
    const GgmlType type = GetParam();
    const int64_t block = ggml_type_info(type).block_size;
    const int64_t k_small = block == 256 ? 256 : 96;
    const int64_t k_large = block == 256 ? 512 : 320;
    uint32_t seed = 10;
    for (const Shape& s : {Shape{1, 131, k_large}, Shape{1, 5, k_small}, Shape{7, 67, k_small}, Shape{7, 1, k_large},
                           Shape{33, 45, k_large}, Shape{5, 9, k_small + block}}) {
        check_matmul(type, s, seed++);
    }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, CpuMatmul,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K,
                                           GgmlType::Q5_K, GgmlType::Q6_K),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                             return std::string(ggml_type_name(info.param));
                         });

TEST(CpuMatmulErrors, ShapeMismatchIsRecordedNotCrashed) {
    auto backend = create_cpu_backend(2);
    const std::vector<float> wv = random_floats(8 * 32, 1);
    Result<Tensor> w = backend->load_weight(GgmlType::F32, 8, 32, wv.data());
    ASSERT_TRUE(w.is_ok());
    Tensor x = make_tensor(*backend, 2, 16, {});  // wrong in_features
    Tensor out = make_tensor(*backend, 2, 8, {});
    backend->matmul(*w, x, out);
    const Status st = backend->end_step();
    EXPECT_EQ(st.code(), ErrorCode::invalid_argument);
    EXPECT_NE(st.message().find("matmul"), std::string::npos) << st.message();
    // The error is consumed by end_step.
    EXPECT_TRUE(backend->end_step().is_ok());

    Tensor x2 = make_tensor(*backend, 2, 32, {});
    backend->matmul(*w, x2, x2);  // out aliases x and has the wrong shape
    EXPECT_FALSE(backend->end_step().is_ok());
}

TEST(CpuMatmulErrors, LoadWeightRejectsBadShapes) {
    auto backend = create_cpu_backend(1);
    std::vector<uint8_t> data(1024);
    EXPECT_EQ(backend->load_weight(GgmlType::Q4_0, 2, 33, data.data()).status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(backend->load_weight(GgmlType::F32, 0, 4, data.data()).status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(backend->load_weight(GgmlType::F32, 2, 4, nullptr).status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(backend->load_weight(GgmlType::IQ2_XXS, 1, 256, data.data()).status().code(), ErrorCode::unsupported);
    EXPECT_EQ(backend->load_weight(static_cast<GgmlType>(77), 1, 32, data.data()).status().code(),
              ErrorCode::invalid_argument);
    EXPECT_FALSE(backend->load_weight(GgmlType::F32, INT64_MAX / 2, INT64_MAX / 2, data.data()).is_ok());
}

}  // namespace
}  // namespace pagoda
