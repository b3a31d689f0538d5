// CPU row-wise ops (embed, rms_norm, add, add_bias, silu_mul, gather_logit_rows)
// against fp64 references, with 1 and 3 threads.
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
using test::simple_step;
using test::StepData;

TEST(CpuElementwise, RmsNormMatchesReferenceAndMayRunInPlace) {
    const int64_t rows = 37, cols = 300;
    const std::vector<float> x = random_floats(rows * cols, 1, -3.0f, 3.0f);
    const std::vector<float> w = random_floats(cols, 2, 0.5f, 1.5f);
    const float eps = 1e-5f;
    std::vector<float> results[2];
    for (int variant = 0; variant < 2; ++variant) {
        auto backend = create_cpu_backend(variant == 0 ? 1 : 3);
        Tensor xt = make_tensor(*backend, rows, cols, x);
        Tensor wt = make_tensor(*backend, 1, cols, w);
        backend->rms_norm(xt, wt, eps, xt);  // in place
        ASSERT_TRUE(backend->end_step().is_ok());
        results[variant] = read_tensor(*backend, xt);
    }
    EXPECT_EQ(results[0], results[1]);
    for (int64_t r = 0; r < rows; ++r) {
        double ss = 0.0;
        for (int64_t c = 0; c < cols; ++c) ss += static_cast<double>(x[r * cols + c]) * x[r * cols + c];
        const double scale = 1.0 / std::sqrt(ss / cols + eps);
        for (int64_t c = 0; c < cols; ++c) {
            const double ref = x[r * cols + c] * scale * w[c];
            EXPECT_NEAR(results[0][r * cols + c], ref, 1e-6 * (1.0 + std::fabs(ref)));
        }
    }
}

TEST(CpuElementwise, RmsNormAcceptsAnF16Weight) {
    auto backend = create_cpu_backend(1);
    const std::vector<float> x = random_floats(2 * 64, 3);
    std::vector<uint16_t> w16(64);
    for (auto& h : w16) h = fp32_to_fp16(2.0f);
    Result<Tensor> wt = backend->load_weight(GgmlType::F16, 1, 64, w16.data());
    ASSERT_TRUE(wt.is_ok());
    Tensor xt = make_tensor(*backend, 2, 64, x);
    Tensor out = make_tensor(*backend, 2, 64, {});
    backend->rms_norm(xt, *wt, 1e-6f, out);
    ASSERT_TRUE(backend->end_step().is_ok());
    const std::vector<float> got = read_tensor(*backend, out);
    double ss = 0.0;
    for (int c = 0; c < 64; ++c) ss += static_cast<double>(x[c]) * x[c];
    EXPECT_NEAR(got[5], x[5] / std::sqrt(ss / 64 + 1e-6) * 2.0, 1e-5);
}

TEST(CpuElementwise, AddAddBiasSiluMul) {
    const int64_t rows = 9, cols = 2000;
    const std::vector<float> a = random_floats(rows * cols, 4, -10.0f, 10.0f);
    const std::vector<float> b = random_floats(rows * cols, 5);
    const std::vector<float> bias = random_floats(cols, 6);
    for (int threads : {1, 3}) {
        auto backend = create_cpu_backend(threads);
        Tensor at = make_tensor(*backend, rows, cols, a);
        Tensor bt = make_tensor(*backend, rows, cols, b);
        Tensor biast = make_tensor(*backend, 1, cols, bias);
        Tensor silu = make_tensor(*backend, rows, cols, {});
        backend->silu_mul(at, bt, silu);
        backend->add(at, bt);
        backend->add_bias(bt, biast);
        ASSERT_TRUE(backend->end_step().is_ok());
        const auto sum = read_tensor(*backend, at);
        const auto biased = read_tensor(*backend, bt);
        const auto s = read_tensor(*backend, silu);
        for (int64_t i = 0; i < rows * cols; ++i) {
            EXPECT_EQ(sum[i], a[i] + b[i]);
            EXPECT_EQ(biased[i], b[i] + bias[i % cols]);
            const double g = a[i];
            const double ref = g / (1.0 + std::exp(-g)) * b[i];
            ASSERT_NEAR(s[i], ref, 1e-6 * (1.0 + std::fabs(ref))) << i;
        }
    }
    // Extreme gates saturate instead of producing NaN or inf.
    auto backend = create_cpu_backend(1);
    Tensor g = make_tensor(*backend, 1, 4, {-1000.0f, -90.0f, 90.0f, 1000.0f});
    Tensor u = make_tensor(*backend, 1, 4, {1.0f, 1.0f, 1.0f, 1.0f});
    Tensor o = make_tensor(*backend, 1, 4, {});
    backend->silu_mul(g, u, o);
    ASSERT_TRUE(backend->end_step().is_ok());
    const auto r = read_tensor(*backend, o);
    EXPECT_NEAR(r[0], 0.0f, 1e-30f);
    EXPECT_NEAR(r[1], 0.0f, 1e-30f);
    EXPECT_EQ(r[2], 90.0f);
    EXPECT_EQ(r[3], 1000.0f);
}

TEST(CpuElementwise, EmbedDequantizesTheTokensRows) {
    const int64_t vocab = 50, dim = 64;
    const std::vector<float> table = random_floats(vocab * dim, 7);
    const std::vector<TokenId> tokens = {3, 0, 49, 3, 17};
    const StepData step = simple_step(tokens, {0, 1, 2, 3, 4});
    for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_K}) {
        const int64_t d = type == GgmlType::Q4_K ? 256 : dim;
        const std::vector<float> src = random_floats(vocab * d, 8);
        const size_t row_bytes = static_cast<size_t>(*ggml_row_bytes(type, d));
        std::vector<uint8_t> enc(row_bytes * vocab);
        for (int64_t r = 0; r < vocab; ++r)
            ASSERT_TRUE(quantize_row(type, &src[r * d], &enc[r * row_bytes], d).is_ok());
        auto backend = create_cpu_backend(2);
        Result<Tensor> t = backend->load_weight(type, vocab, d, enc.data());
        ASSERT_TRUE(t.is_ok());
        ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
        Tensor out = make_tensor(*backend, static_cast<int64_t>(tokens.size()), d, {});
        backend->embed(*t, out);
        ASSERT_TRUE(backend->end_step().is_ok());
        const auto got = read_tensor(*backend, out);
        std::vector<float> expect(static_cast<size_t>(d));
        for (size_t i = 0; i < tokens.size(); ++i) {
            dequantize_row(type, &enc[tokens[i] * row_bytes], expect.data(), d);
            EXPECT_EQ(std::vector<float>(got.begin() + i * d, got.begin() + (i + 1) * d), expect)
                << ggml_type_name(type) << " token " << i;
        }
    }
    // A token outside the table is an error, not a read past it.
    auto backend = create_cpu_backend(1);
    Result<Tensor> t = backend->load_weight(GgmlType::F32, vocab, dim, table.data());
    ASSERT_TRUE(t.is_ok());
    const StepData bad = simple_step({1, 50}, {0, 1});
    ASSERT_TRUE(backend->begin_step(bad.inputs()).is_ok());
    Tensor out = make_tensor(*backend, 2, dim, {});
    backend->embed(*t, out);
    const Status st = backend->end_step();
    EXPECT_EQ(st.code(), ErrorCode::invalid_argument);
    EXPECT_NE(st.message().find("50"), std::string::npos) << st.message();
}

TEST(CpuElementwise, GatherLogitRowsPicksRowsInOrder) {
    auto backend = create_cpu_backend(1);
    StepData step = simple_step({1, 2, 3, 4}, {0, 1, 2, 3});
    step.logit_rows = {3, 1};
    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    const std::vector<float> x = random_floats(4 * 10, 9);
    Tensor xt = make_tensor(*backend, 4, 10, x);
    Tensor out = make_tensor(*backend, 2, 10, {});
    backend->gather_logit_rows(xt, out);
    ASSERT_TRUE(backend->end_step().is_ok());
    const auto got = read_tensor(*backend, out);
    EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 10), std::vector<float>(x.begin() + 30, x.end()));
    EXPECT_EQ(std::vector<float>(got.begin() + 10, got.end()), std::vector<float>(x.begin() + 10, x.begin() + 20));
}

TEST(CpuElementwise, ShapeErrorsAreRecordedAndTheFirstOneWins) {
    auto backend = create_cpu_backend(2);
    Tensor a = make_tensor(*backend, 2, 8, random_floats(16, 1));
    Tensor b = make_tensor(*backend, 2, 9, random_floats(18, 2));
    backend->add(a, b);
    Tensor w = make_tensor(*backend, 1, 4, random_floats(4, 3));
    backend->rms_norm(a, w, 1e-5f, a);  // a second error; the first is reported
    const Status st = backend->end_step();
    EXPECT_EQ(st.code(), ErrorCode::invalid_argument);
    EXPECT_NE(st.message().find("add"), std::string::npos) << st.message();
    EXPECT_TRUE(backend->end_step().is_ok());

    Tensor not_f32{a.data, GgmlType::F16, 2, 8};
    backend->silu_mul(not_f32, a, a);
    EXPECT_FALSE(backend->end_step().is_ok());
    Tensor null_data{nullptr, GgmlType::F32, 2, 8};
    backend->add(a, null_data);
    EXPECT_FALSE(backend->end_step().is_ok());
}

}  // namespace
}  // namespace pagoda
