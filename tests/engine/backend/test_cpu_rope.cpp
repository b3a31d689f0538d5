// CPU rope against the direct formula theta = pos * freq_scale * base^(-2i/n_rot) / ff[i],
// in both pair layouts, with and without llama3-style frequency factors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "backend/cpu/create_cpu_backend.h"
#include "cpu_test_util.h"

namespace pagoda {
namespace {

using test::make_tensor;
using test::random_floats;
using test::read_tensor;
using test::simple_step;
using test::StepData;

struct RopeCase {
    bool neox;
    bool factors;
    int32_t head_dim;
    int32_t n_rot;
    float freq_scale;
};

std::vector<double> reference(const std::vector<float>& x, const std::vector<int32_t>& positions, int32_t n_heads,
                              const RopeCase& c, float base, const std::vector<float>& ff) {
    std::vector<double> out(x.begin(), x.end());
    const int32_t half = c.n_rot / 2;
    for (size_t t = 0; t < positions.size(); ++t) {
        for (int32_t h = 0; h < n_heads; ++h) {
            const size_t row = (t * n_heads + h) * c.head_dim;
            for (int32_t i = 0; i < half; ++i) {
                double theta = positions[t] * static_cast<double>(c.freq_scale) *
                               std::pow(static_cast<double>(base), -2.0 * i / c.n_rot);
                if (c.factors) theta /= ff[i];
                const size_t a = row + (c.neox ? i : 2 * i);
                const size_t b = c.neox ? a + half : a + 1;
                const double x0 = x[a], x1 = x[b];
                out[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
                out[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
            }
        }
    }
    return out;
}

std::vector<float> run_rope(int n_threads, const std::vector<float>& x, const std::vector<int32_t>& positions,
                            int32_t n_heads, const RopeCase& c, float base, const std::vector<float>& ff) {
    auto backend = create_cpu_backend(n_threads);
    const StepData step = simple_step(std::vector<TokenId>(positions.size(), 1), positions);
    EXPECT_TRUE(backend->begin_step(step.inputs()).is_ok());
    const int64_t n = static_cast<int64_t>(positions.size());
    Tensor xt = make_tensor(*backend, n, static_cast<int64_t>(n_heads) * c.head_dim, x);
    Tensor fft = make_tensor(*backend, 1, c.n_rot / 2, ff);
    RopeParams p;
    p.head_dim = c.head_dim;
    p.n_rot = c.n_rot;
    p.freq_base = base;
    p.freq_scale = c.freq_scale;
    p.neox = c.neox;
    p.freq_factors = c.factors ? &fft : nullptr;
    backend->rope(xt, n_heads, p);
    EXPECT_TRUE(backend->end_step().is_ok());
    return read_tensor(*backend, xt);
}

TEST(CpuRope, MatchesDirectFormula) {
    const std::vector<int32_t> positions = {0, 1, 2, 7, 31, 100, 511, 1000, 4095};
    const int32_t n_heads = 3;
    const float base = 10000.0f;
    for (const RopeCase& c : {RopeCase{false, false, 64, 64, 1.0f}, RopeCase{true, false, 64, 64, 1.0f},
                              RopeCase{false, true, 64, 64, 1.0f}, RopeCase{true, true, 128, 128, 0.25f},
                              RopeCase{false, false, 64, 32, 1.0f}, RopeCase{true, true, 64, 48, 0.5f}}) {
        SCOPED_TRACE(std::string(c.neox ? "neox" : "normal") + (c.factors ? " with factors" : "") + " head_dim " +
                     std::to_string(c.head_dim) + " n_rot " + std::to_string(c.n_rot));
        const std::vector<float> x =
            random_floats(positions.size() * static_cast<size_t>(n_heads * c.head_dim), 42 + c.n_rot);
        const std::vector<float> ff = random_floats(static_cast<size_t>(c.n_rot / 2), 7, 1.0f, 8.0f);
        const std::vector<float> got = run_rope(1, x, positions, n_heads, c, base, ff);
        const std::vector<double> ref = reference(x, positions, n_heads, c, base, ff);
        for (size_t t = 0; t < positions.size(); ++t) {
            // ggml builds theta in float: its error grows with the position.
            const double tol = 2e-6 + 1.5e-7 * positions[t];
            for (size_t j = 0; j < static_cast<size_t>(n_heads * c.head_dim); ++j) {
                const size_t idx = t * n_heads * c.head_dim + j;
                ASSERT_NEAR(got[idx], ref[idx], tol) << "token " << t << " value " << j;
            }
        }
        // Dims at and past n_rot are not touched.
        for (size_t t = 0; t < positions.size(); ++t) {
            for (int32_t h = 0; h < n_heads; ++h) {
                for (int32_t d = c.n_rot; d < c.head_dim; ++d) {
                    const size_t idx = (t * n_heads + h) * c.head_dim + d;
                    EXPECT_EQ(got[idx], x[idx]);
                }
            }
        }
        EXPECT_EQ(got, run_rope(3, x, positions, n_heads, c, base, ff));
    }
}

TEST(CpuRope, RotationAtPositionZeroIsIdentityAndTablesFollowParameters) {
    auto backend = create_cpu_backend(2);
    const std::vector<int32_t> positions = {0, 5};
    const StepData step = simple_step({1, 2}, positions);
    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    const std::vector<float> x = random_floats(2 * 32, 3);
    Tensor a = make_tensor(*backend, 2, 32, x);
    Tensor b = make_tensor(*backend, 2, 32, x);
    RopeParams p;
    p.head_dim = 32;
    p.n_rot = 32;
    backend->rope(a, 1, p);
    p.freq_base = 500000.0f;  // a second parameter set in the same step must not reuse the first's table
    backend->rope(b, 1, p);
    ASSERT_TRUE(backend->end_step().is_ok());
    const std::vector<float> ra = read_tensor(*backend, a);
    const std::vector<float> rb = read_tensor(*backend, b);
    for (int i = 0; i < 32; ++i) {
        EXPECT_EQ(ra[i], x[i]);
        EXPECT_EQ(rb[i], x[i]);
    }
    EXPECT_NE(std::vector<float>(ra.begin() + 32, ra.end()), std::vector<float>(rb.begin() + 32, rb.end()));
}

TEST(CpuRope, BadParametersAreReported) {
    auto backend = create_cpu_backend(1);
    const StepData step = simple_step({1}, {0});
    Tensor x = make_tensor(*backend, 1, 64, random_floats(64, 1));
    RopeParams p;
    p.head_dim = 64;
    p.n_rot = 65;  // odd and past head_dim
    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->rope(x, 1, p);
    EXPECT_EQ(backend->end_step().code(), ErrorCode::invalid_argument);

    p.n_rot = 64;
    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->rope(x, 2, p);  // x is one head wide
    EXPECT_FALSE(backend->end_step().is_ok());

    Tensor short_ff = make_tensor(*backend, 1, 4, random_floats(4, 2));
    p.freq_factors = &short_ff;
    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->rope(x, 1, p);
    EXPECT_FALSE(backend->end_step().is_ok());

    // rope needs the step's positions.
    p.freq_factors = nullptr;
    backend->rope(x, 1, p);
    EXPECT_FALSE(backend->end_step().is_ok());
}

}  // namespace
}  // namespace pagoda
