// CPU kv_write + paged attention against an fp64 reference: several sequences of
// different lengths in one step, grouped-query heads, shuffled block tables, lengths
// around block boundaries, prefill + decode (queries at the end of a longer context),
// long contexts split across threads, and every KV cache type.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "backend/cpu/create_cpu_backend.h"
#include "cpu_test_util.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda {
namespace {

using test::make_step;
using test::make_tensor;
using test::random_floats;
using test::read_tensor;
using test::SeqSpec;
using test::StepData;

constexpr int32_t kBlockSize = 16;

struct Geometry {
    int32_t n_heads = 8;
    int32_t n_kv_heads = 2;
    int32_t head_dim = 64;
    int32_t n_blocks = 64;
    int32_t kv_dim() const { return n_kv_heads * head_dim; }
    int32_t q_dim() const { return n_heads * head_dim; }
};

// A sequence: total context length and how many of its last tokens the query step computes.
struct SeqCase {
    int32_t length;
    int32_t new_tokens;
};

// Values as the cache stores them (rounded through its encoding).
std::vector<float> through_cache(GgmlType type, const float* src, int64_t n) {
    const size_t bytes = static_cast<size_t>(*ggml_row_bytes(type, n));
    std::vector<uint8_t> enc(bytes);
    std::vector<float> out(static_cast<size_t>(n));
    EXPECT_TRUE(quantize_row(type, src, enc.data(), n).is_ok());
    dequantize_row(type, enc.data(), out.data(), n);
    return out;
}

struct Outcome {
    std::vector<float> out;  // [n_query_tokens, q_dim]
    std::vector<double> ref_rounded_q;
    std::vector<double> ref_exact_q;
};

Outcome run_case(const Geometry& g, GgmlType kv_type, const std::vector<SeqCase>& seqs, int n_threads, uint32_t seed) {
    auto backend = create_cpu_backend(n_threads);
    KvCacheConfig kvc;
    kvc.n_layers = 2;
    kvc.n_kv_heads = g.n_kv_heads;
    kvc.head_dim = g.head_dim;
    kvc.block_size = kBlockSize;
    kvc.n_blocks = g.n_blocks;
    kvc.type = kv_type;
    EXPECT_TRUE(backend->init_kv_cache(kvc).is_ok());

    // Shuffled, non-contiguous block tables.
    std::vector<int32_t> free_blocks(static_cast<size_t>(g.n_blocks));
    std::iota(free_blocks.begin(), free_blocks.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
    size_t next_block = 0;
    std::vector<SeqSpec> prefix_specs, query_specs;
    std::vector<std::vector<float>> keys, values;  // per sequence [length, kv_dim]
    for (size_t s = 0; s < seqs.size(); ++s) {
        SeqSpec spec;
        for (int32_t b = 0; b < (seqs[s].length + kBlockSize - 1) / kBlockSize; ++b) {
            spec.blocks.push_back(free_blocks.at(next_block++));
        }
        const int32_t first_new = seqs[s].length - seqs[s].new_tokens;
        if (first_new > 0) {
            SeqSpec p = spec;
            p.first = 0;
            p.last = first_new;
            prefix_specs.push_back(p);
        }
        spec.first = first_new;
        spec.last = seqs[s].length;
        query_specs.push_back(spec);
        keys.push_back(random_floats(static_cast<size_t>(seqs[s].length) * g.kv_dim(), seed * 100 + s * 2));
        values.push_back(random_floats(static_cast<size_t>(seqs[s].length) * g.kv_dim(), seed * 100 + s * 2 + 1));
    }
    auto rows_of = [&](const std::vector<SeqSpec>& specs, const std::vector<size_t>& seq_ids,
                       const std::vector<std::vector<float>>& src) {
        std::vector<float> rows;
        for (size_t i = 0; i < specs.size(); ++i) {
            const auto& data = src[seq_ids[i]];
            rows.insert(rows.end(), data.begin() + static_cast<int64_t>(specs[i].first) * g.kv_dim(),
                        data.begin() + static_cast<int64_t>(specs[i].last) * g.kv_dim());
        }
        return rows;
    };

    // Step 1: the cached prefix of each sequence (layer 0 gets other values, so layers
    // must not be mixed up).
    if (!prefix_specs.empty()) {
        std::vector<size_t> ids;
        for (size_t s = 0; s < seqs.size(); ++s) {
            if (seqs[s].length > seqs[s].new_tokens) ids.push_back(s);
        }
        const StepData step = make_step(prefix_specs, kBlockSize);
        EXPECT_TRUE(backend->begin_step(step.inputs()).is_ok());
        const int64_t n = static_cast<int64_t>(step.tokens.size());
        Tensor k = make_tensor(*backend, n, g.kv_dim(), rows_of(prefix_specs, ids, keys));
        Tensor v = make_tensor(*backend, n, g.kv_dim(), rows_of(prefix_specs, ids, values));
        Tensor noise = make_tensor(*backend, n, g.kv_dim(), random_floats(static_cast<size_t>(n) * g.kv_dim(), 99));
        backend->kv_write(1, k, v);
        backend->kv_write(0, noise, noise);
        EXPECT_TRUE(backend->end_step().is_ok());
        backend->reset_scratch();
    }

    // Step 2: the new tokens of every sequence, then attention.
    std::vector<size_t> all(seqs.size());
    std::iota(all.begin(), all.end(), 0);
    const StepData step = make_step(query_specs, kBlockSize);
    EXPECT_TRUE(backend->begin_step(step.inputs()).is_ok());
    const int64_t n = static_cast<int64_t>(step.tokens.size());
    const std::vector<float> qv = random_floats(static_cast<size_t>(n) * g.q_dim(), seed + 7, -2.0f, 2.0f);
    Tensor k = make_tensor(*backend, n, g.kv_dim(), rows_of(query_specs, all, keys));
    Tensor v = make_tensor(*backend, n, g.kv_dim(), rows_of(query_specs, all, values));
    Tensor q = make_tensor(*backend, n, g.q_dim(), qv);
    Tensor out = make_tensor(*backend, n, g.q_dim(), {});
    backend->kv_write(1, k, v);
    AttentionParams ap;
    ap.n_heads = g.n_heads;
    ap.n_kv_heads = g.n_kv_heads;
    ap.head_dim = g.head_dim;
    ap.scale = 1.0f / std::sqrt(static_cast<float>(g.head_dim));
    backend->attention(1, q, out, ap);
    const Status st = backend->end_step();
    EXPECT_TRUE(st.is_ok()) << st.to_string();

    Outcome result;
    result.out = read_tensor(*backend, out);

    // fp64 reference over the cache-rounded K/V; the query either as the backend encodes
    // it for the QK dot (vec_dot_type of the cache) or exact.
    const GgmlType q_type = vec_dot_type(kv_type);
    result.ref_rounded_q.resize(result.out.size());
    result.ref_exact_q.resize(result.out.size());
    for (int64_t i = 0; i < n; ++i) {
        size_t seq = 0;
        while (step.query_start[seq + 1] <= i) ++seq;
        const int32_t n_pos = step.positions[static_cast<size_t>(i)] + 1;
        std::vector<float> kr, vr;
        for (int32_t p = 0; p < n_pos; ++p) {
            const auto kk = through_cache(kv_type, keys[seq].data() + static_cast<int64_t>(p) * g.kv_dim(), g.kv_dim());
            const auto vv =
                through_cache(kv_type, values[seq].data() + static_cast<int64_t>(p) * g.kv_dim(), g.kv_dim());
            kr.insert(kr.end(), kk.begin(), kk.end());
            vr.insert(vr.end(), vv.begin(), vv.end());
        }
        for (int32_t h = 0; h < g.n_heads; ++h) {
            const int32_t kvh = h / (g.n_heads / g.n_kv_heads);
            const float* qh = qv.data() + i * g.q_dim() + static_cast<int64_t>(h) * g.head_dim;
            const std::vector<float> q_rounded = through_cache(q_type, qh, g.head_dim);
            for (int variant = 0; variant < 2; ++variant) {
                const float* qq = variant == 0 ? q_rounded.data() : qh;
                std::vector<double> scores(static_cast<size_t>(n_pos));
                double mx = -1e300;
                for (int32_t p = 0; p < n_pos; ++p) {
                    double d = 0.0;
                    for (int32_t c = 0; c < g.head_dim; ++c) {
                        d += static_cast<double>(qq[c]) *
                             kr[static_cast<size_t>(p) * g.kv_dim() + static_cast<size_t>(kvh) * g.head_dim + c];
                    }
                    scores[p] = d * ap.scale;
                    mx = std::max(mx, scores[p]);
                }
                double sum = 0.0;
                for (double& sc : scores) sum += (sc = std::exp(sc - mx));
                auto& ref = variant == 0 ? result.ref_rounded_q : result.ref_exact_q;
                for (int32_t c = 0; c < g.head_dim; ++c) {
                    double acc = 0.0;
                    for (int32_t p = 0; p < n_pos; ++p) {
                        acc += scores[p] *
                               vr[static_cast<size_t>(p) * g.kv_dim() + static_cast<size_t>(kvh) * g.head_dim + c];
                    }
                    ref[static_cast<size_t>(i * g.q_dim() + static_cast<int64_t>(h) * g.head_dim + c)] = acc / sum;
                }
            }
        }
    }
    return result;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

class CpuAttention : public ::testing::TestWithParam<GgmlType> {};

TEST_P(CpuAttention, MixedBatchMatchesReference) {
    const GgmlType kv_type = GetParam();
    Geometry g;
    // Decode at 15, a whole 16-token prompt, a 17-token sequence whose last 5 tokens are
    // new (chunked prefill), and a 33-token one with 3 new tokens.
    const std::vector<SeqCase> seqs = {{15, 1}, {16, 16}, {17, 5}, {33, 3}};
    const Outcome one = run_case(g, kv_type, seqs, 1, 3);
    const Outcome three = run_case(g, kv_type, seqs, 3, 3);
    EXPECT_EQ(one.out, three.out);
    EXPECT_LT(max_abs_diff(one.out, one.ref_rounded_q), 2e-6);
    // Against the exact query, the cache's query encoding is the only extra error.
    const double exact_tol = kv_type == GgmlType::F32 ? 2e-6 : kv_type == GgmlType::F16 ? 1e-3 : 1e-2;
    EXPECT_LT(max_abs_diff(one.out, one.ref_exact_q), exact_tol);
}

TEST_P(CpuAttention, LongContextDecodeSplitsAcrossThreadsIdentically) {
    const GgmlType kv_type = GetParam();
    Geometry g;
    g.n_blocks = 96;
    // 600 and 700 positions: several 256-position chunks, spread over threads when few
    // (token, kv head) items exist.
    const std::vector<SeqCase> seqs = {{600, 1}, {700, 1}};
    const Outcome one = run_case(g, kv_type, seqs, 1, 5);
    const Outcome three = run_case(g, kv_type, seqs, 3, 5);
    EXPECT_EQ(one.out, three.out);
    EXPECT_LT(max_abs_diff(one.out, one.ref_rounded_q), 2e-6);
}

TEST_P(CpuAttention, OtherGroupSizes) {
    // One query head per KV head (plain multi-head attention), and six per KV head.
    for (const auto& [n_heads, n_kv_heads] : {std::pair{4, 4}, std::pair{6, 1}}) {
        Geometry g;
        g.n_heads = n_heads;
        g.n_kv_heads = n_kv_heads;
        g.head_dim = 32;
        const Outcome r = run_case(g, GetParam(), {{40, 40}, {3, 1}}, 2, 9);
        EXPECT_LT(max_abs_diff(r.out, r.ref_rounded_q), 2e-6) << n_heads << " heads, " << n_kv_heads << " KV heads";
    }
}

INSTANTIATE_TEST_SUITE_P(KvTypes, CpuAttention, ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::Q8_0),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                             return std::string(ggml_type_name(info.param));
                         });

TEST(CpuAttentionErrors, MisuseIsReportedNotCrashed) {
    auto backend = create_cpu_backend(2);
    const StepData step = make_step({SeqSpec{{0}, 0, 4}}, kBlockSize);
    Tensor k = make_tensor(*backend, 4, 64, random_floats(4 * 64, 1));
    Tensor q = make_tensor(*backend, 4, 128, random_floats(4 * 128, 2));
    Tensor out = make_tensor(*backend, 4, 128, {});
    AttentionParams ap{4, 2, 32, 0.1f};

    // No KV cache yet.
    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->kv_write(0, k, k);
    EXPECT_EQ(backend->end_step().code(), ErrorCode::invalid_argument);

    KvCacheConfig kvc;
    kvc.n_layers = 1;
    kvc.n_kv_heads = 2;
    kvc.head_dim = 32;
    kvc.n_blocks = 4;
    ASSERT_TRUE(backend->init_kv_cache(kvc).is_ok());

    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->kv_write(1, k, k);  // layer out of range
    EXPECT_FALSE(backend->end_step().is_ok());

    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->attention(0, q, out, AttentionParams{4, 1, 32, 0.1f});  // KV heads differ from the cache
    EXPECT_FALSE(backend->end_step().is_ok());

    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->attention(0, q, out, AttentionParams{3, 2, 32, 0.1f});  // heads not a multiple of KV heads
    EXPECT_FALSE(backend->end_step().is_ok());

    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->attention(0, k, out, ap);  // q has the wrong width
    EXPECT_FALSE(backend->end_step().is_ok());

    // The same calls with the right shapes work, and attention may run in place.
    ASSERT_TRUE(backend->begin_step(step.inputs()).is_ok());
    backend->kv_write(0, k, k);
    backend->attention(0, q, q, ap);
    EXPECT_TRUE(backend->end_step().is_ok());
}

}  // namespace
}  // namespace pagoda
