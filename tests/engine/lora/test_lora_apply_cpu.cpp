// CpuBackend::lora_add against a plain reference: F32 and F16 matrices, several segments,
// overlapping segments (adapter stacks), results independent of the thread count, and
// bad segments failing the step with a message.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../backend/cpu_test_util.h"
#include "backend/cpu/create_cpu_backend.h"
#include "model/quant/quant.h"

namespace pagoda {
namespace {

using test::make_tensor;
using test::random_floats;
using test::read_tensor;

struct HostLora {
    int64_t rank, in, out;
    std::vector<float> a, b;  // [rank, in], [out, rank]
    std::vector<uint16_t> a16, b16;
};

HostLora make_lora(int64_t rank, int64_t in, int64_t out, uint32_t seed) {
    HostLora l{rank, in, out, random_floats(static_cast<size_t>(rank * in), seed),
               random_floats(static_cast<size_t>(out * rank), seed + 1000), {}, {}};
    for (float& v : l.a) v = fp16_to_fp32(fp32_to_fp16(v));  // exact in F16 too
    for (float& v : l.b) v = fp16_to_fp32(fp32_to_fp16(v));
    for (float v : l.a) l.a16.push_back(fp32_to_fp16(v));
    for (float v : l.b) l.b16.push_back(fp32_to_fp16(v));
    return l;
}

struct Seg {
    const HostLora* lora;
    int32_t first, n;
    float scale;
};

// out[r] += scale * (x[r] · Aᵀ) · Bᵀ in double.
std::vector<float> reference(const std::vector<float>& x, std::vector<float> out, int64_t in, int64_t out_cols,
                             const std::vector<Seg>& segs) {
    for (const Seg& s : segs) {
        for (int32_t r = s.first; r < s.first + s.n; ++r) {
            std::vector<double> t(static_cast<size_t>(s.lora->rank));
            for (int64_t k = 0; k < s.lora->rank; ++k) {
                double acc = 0;
                for (int64_t i = 0; i < in; ++i) acc += double{x[r * in + i]} * s.lora->a[k * in + i];
                t[k] = acc;
            }
            for (int64_t o = 0; o < out_cols; ++o) {
                double acc = 0;
                for (int64_t k = 0; k < s.lora->rank; ++k) acc += t[k] * s.lora->b[o * s.lora->rank + k];
                out[r * out_cols + o] += static_cast<float>(s.scale * acc);
            }
        }
    }
    return out;
}

struct Uploaded {
    Tensor a, b;
};

Uploaded upload(Backend& be, const HostLora& l, GgmlType type) {
    const void* a = type == GgmlType::F16 ? static_cast<const void*>(l.a16.data()) : l.a.data();
    const void* b = type == GgmlType::F16 ? static_cast<const void*>(l.b16.data()) : l.b.data();
    auto ta = be.load_weight(type, l.rank, l.in, a);
    auto tb = be.load_weight(type, l.out, l.rank, b);
    EXPECT_TRUE(ta.is_ok() && tb.is_ok());
    return {ta.value(), tb.value()};
}

// Runs lora_add on a fresh backend with n_threads and returns out.
std::vector<float> run(int n_threads, GgmlType type, const std::vector<float>& x, const std::vector<float>& out0,
                       int64_t rows, int64_t in, int64_t out_cols, const std::vector<Seg>& segs,
                       Status* status = nullptr) {
    auto be = create_cpu_backend(n_threads);
    EXPECT_TRUE(be->supports_lora());
    std::vector<Uploaded> up;
    up.reserve(segs.size());
    std::vector<LoraSegment> ls;
    for (const Seg& s : segs) {
        up.push_back(upload(*be, *s.lora, type));
        ls.push_back({s.first, s.n, &up.back().a, &up.back().b, s.scale});
    }
    Tensor tx = make_tensor(*be, rows, in, x);
    Tensor to = make_tensor(*be, rows, out_cols, out0);
    be->lora_add(tx, ls, to);
    const Status st = be->end_step();
    if (status) *status = st;
    else EXPECT_TRUE(st.is_ok()) << st.to_string();
    return read_tensor(*be, to);
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, float tol) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], tol * (1.0f + std::fabs(want[i]))) << "at " << i;
}

TEST(LoraApplyCpu, SegmentsMatchReferenceF32AndF16) {
    const int64_t rows = 11, in = 72, out_cols = 40;  // in not a multiple of 16: the dot tails run too
    const HostLora l1 = make_lora(8, in, out_cols, 1), l2 = make_lora(3, in, out_cols, 2),
                   l3 = make_lora(16, in, out_cols, 3);
    const auto x = random_floats(static_cast<size_t>(rows * in), 10);
    const auto out0 = random_floats(static_cast<size_t>(rows * out_cols), 11);
    // Rows 0-3 l1, 4 l2, 5-9 l1 at another scale; row 10 none; l3 stacked over rows 2-6.
    const std::vector<Seg> segs = {{&l1, 0, 4, 0.5f}, {&l2, 4, 1, 2.0f}, {&l1, 5, 5, -1.25f}, {&l3, 2, 5, 0.75f}};
    const auto want = reference(x, out0, in, out_cols, segs);
    for (GgmlType type : {GgmlType::F32, GgmlType::F16}) {
        const auto got = run(3, type, x, out0, rows, in, out_cols, segs);
        expect_near_all(got, want, 1e-4f);
        // Row 10 has no segment: untouched, bit for bit.
        for (int64_t o = 0; o < out_cols; ++o) EXPECT_EQ(got[10 * out_cols + o], out0[10 * out_cols + o]);
    }
}

TEST(LoraApplyCpu, LongSegmentsSplitIntoRowChunks) {
    const int64_t rows = 100, in = 48, out_cols = 24;  // 100 rows: several shrink chunks, one short
    const HostLora l1 = make_lora(3, in, out_cols, 20), l2 = make_lora(5, in, out_cols, 21);
    const auto x = random_floats(static_cast<size_t>(rows * in), 22);
    const auto out0 = random_floats(static_cast<size_t>(rows * out_cols), 23);
    const std::vector<Seg> segs = {{&l1, 0, 100, 0.5f}, {&l2, 7, 70, 1.5f}};
    const auto want = reference(x, out0, in, out_cols, segs);
    for (GgmlType type : {GgmlType::F32, GgmlType::F16})
        expect_near_all(run(3, type, x, out0, rows, in, out_cols, segs), want, 1e-4f);
}

TEST(LoraApplyCpu, ResultDoesNotDependOnThreadsOrNeighbours) {
    const int64_t rows = 9, in = 64, out_cols = 96;
    const HostLora l1 = make_lora(8, in, out_cols, 4), l2 = make_lora(4, in, out_cols, 5);
    const auto x = random_floats(static_cast<size_t>(rows * in), 12);
    const auto out0 = random_floats(static_cast<size_t>(rows * out_cols), 13);
    const std::vector<Seg> segs = {{&l1, 0, 3, 1.0f}, {&l2, 3, 6, 0.5f}, {&l1, 5, 2, 2.0f}};
    const auto one = run(1, GgmlType::F32, x, out0, rows, in, out_cols, segs);
    const auto many = run(4, GgmlType::F32, x, out0, rows, in, out_cols, segs);
    EXPECT_EQ(one, many);
    // Row 4 alone (only l2 over it) gives the same bits as inside the batch.
    const std::vector<float> x4(x.begin() + 4 * in, x.begin() + 5 * in);
    const std::vector<float> o4(out0.begin() + 4 * out_cols, out0.begin() + 5 * out_cols);
    const auto alone = run(2, GgmlType::F32, x4, o4, 1, in, out_cols, {{&l2, 0, 1, 0.5f}});
    EXPECT_EQ(alone, std::vector<float>(one.begin() + 4 * out_cols, one.begin() + 5 * out_cols));
}

TEST(LoraApplyCpu, BadSegmentsFailTheStep) {
    const int64_t rows = 4, in = 32, out_cols = 16;
    const HostLora l = make_lora(4, in, out_cols, 6);
    const HostLora wrong_in = make_lora(4, in + 16, out_cols, 7);
    const auto x = random_floats(static_cast<size_t>(rows * in), 14);
    const auto out0 = random_floats(static_cast<size_t>(rows * out_cols), 15);
    Status st;
    auto got = run(2, GgmlType::F32, x, out0, rows, in, out_cols, {{&l, 2, 3, 1.0f}}, &st);
    EXPECT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("outside"), std::string::npos) << st.to_string();
    EXPECT_EQ(got, out0) << "a refused op leaves out alone";
    got = run(2, GgmlType::F32, x, out0, rows, in, out_cols, {{&wrong_in, 0, 1, 1.0f}}, &st);
    EXPECT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("do not fit"), std::string::npos) << st.to_string();
    got = run(2, GgmlType::F32, x, out0, rows, in, out_cols, {{&l, 0, 1, NAN}}, &st);
    EXPECT_FALSE(st.is_ok());

    // x and out the same tensor.
    auto be = create_cpu_backend(2);
    const HostLora sq = make_lora(2, in, in, 9);
    Uploaded up = upload(*be, sq, GgmlType::F32);
    Tensor t = make_tensor(*be, rows, in, x);
    const LoraSegment seg[] = {{0, 2, &up.a, &up.b, 1.0f}};
    be->lora_add(t, seg, t);
    st = be->end_step();
    EXPECT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("overlaps"), std::string::npos) << st.to_string();
    EXPECT_EQ(read_tensor(*be, t), x);
}

TEST(LoraApplyCpu, EmptyAndZeroRowSegmentsAreNoOps) {
    const int64_t rows = 3, in = 16, out_cols = 8;
    const HostLora l = make_lora(2, in, out_cols, 8);
    const auto x = random_floats(static_cast<size_t>(rows * in), 16);
    const auto out0 = random_floats(static_cast<size_t>(rows * out_cols), 17);
    EXPECT_EQ(run(2, GgmlType::F32, x, out0, rows, in, out_cols, {}), out0);
    EXPECT_EQ(run(2, GgmlType::F32, x, out0, rows, in, out_cols, {{&l, 1, 0, 1.0f}}), out0);
}

}  // namespace
}  // namespace pagoda
