#include "attention_scenarios.h"

#include <algorithm>
#include <cmath>

namespace pagoda::gpu_parity {

double attention_threshold(GgmlType kv) { return kv == GgmlType::Q8_0 ? 1e-5 : 1e-6; }

namespace {

int32_t blocks_for(const AttentionScenario& sc) {
    int32_t n = 3;
    for (const SeqSpec& s : sc.seqs) n += (s.cached + s.n_new + sc.block_size - 1) / sc.block_size;
    return n;
}

}  // namespace

AttentionData::AttentionData(const AttentionScenario& sc)
    : n_blocks(blocks_for(sc)),
      step(sc.seqs, sc.block_size, n_blocks, 100, 1234),
      hist(step.history()),
      kv_cols(static_cast<int64_t>(sc.n_kv_heads) * sc.head_dim),
      q_cols(static_cast<int64_t>(sc.n_heads) * sc.head_dim) {
    const size_t hn = static_cast<size_t>(hist.n_tokens());
    const size_t n = static_cast<size_t>(step.n_tokens());
    hk = random_normal(hn * kv_cols, 1);
    hv = random_normal(hn * kv_cols, 2);
    hq = random_normal(hn * q_cols, 3);
    k = random_normal(n * kv_cols, 4);
    v = random_normal(n * kv_cols, 5);
    q = random_normal(n * q_cols, 6);
    noise = random_normal(std::max(hn, n) * kv_cols, 7, 5.0f);
    params.n_heads = sc.n_heads;
    params.n_kv_heads = sc.n_kv_heads;
    params.head_dim = sc.head_dim;
    params.scale = 1.0f / std::sqrt(static_cast<float>(sc.head_dim));
}

KvCacheConfig attention_kv_config(const AttentionScenario& sc, const AttentionData& d) {
    KvCacheConfig kv;
    kv.n_layers = 2;
    kv.n_kv_heads = sc.n_kv_heads;
    kv.head_dim = sc.head_dim;
    kv.block_size = sc.block_size;
    kv.n_blocks = d.n_blocks;
    kv.type = sc.kv;
    return kv;
}

namespace {

Result<Tensor> upload_prefix(Backend& be, const std::vector<float>& values, int64_t rows, int64_t cols) {
    auto t = be.alloc_activations(rows, cols);
    if (!t.is_ok()) return t.status();
    PAGODA_RETURN_IF_ERROR(be.write(*t, values.data()));
    return t;
}

// One step: kv_write of k/v into the layer under test and of noise into layer 0, then
// (if attend) attention of q; appends the output to out.
Status run_step(Backend& be, const StepBuilder& sb, const AttentionData& d, const std::vector<float>& k,
                const std::vector<float>& v, const std::vector<float>& q, bool attend, std::vector<float>& out) {
    const int32_t n = sb.n_tokens();
    auto tk = upload_prefix(be, k, n, d.kv_cols);
    auto tv = upload_prefix(be, v, n, d.kv_cols);
    auto tn = upload_prefix(be, d.noise, n, d.kv_cols);
    auto tq = upload_prefix(be, q, n, d.q_cols);
    auto to = be.alloc_activations(n, d.q_cols);
    if (!tk.is_ok() || !tv.is_ok() || !tn.is_ok() || !tq.is_ok() || !to.is_ok()) {
        return out_of_memory("allocation failed");
    }
    PAGODA_RETURN_IF_ERROR(be.begin_step(sb.inputs()));
    be.kv_write(0, *tn, *tn);
    be.kv_write(AttentionData::kLayer, *tk, *tv);
    if (attend) be.attention(AttentionData::kLayer, *tq, *to, d.params);
    PAGODA_RETURN_IF_ERROR(be.end_step());
    if (attend) {
        std::vector<float> o(static_cast<size_t>(n * d.q_cols));
        PAGODA_RETURN_IF_ERROR(be.read(*to, o.data()));
        out.insert(out.end(), o.begin(), o.end());
    }
    return Status::ok();
}

}  // namespace

Status run_attention_scenario(Backend& be, const AttentionScenario& sc, const AttentionData& d,
                              std::vector<float>& out) {
    PAGODA_RETURN_IF_ERROR(be.init_kv_cache(attention_kv_config(sc, d)));
    out.clear();
    if (!d.hist.empty()) PAGODA_RETURN_IF_ERROR(run_step(be, d.hist, d, d.hk, d.hv, d.hq, sc.attend_history, out));
    return run_step(be, d.step, d, d.k, d.v, d.q, true, out);
}

std::vector<AttentionScenario> attention_scenarios() {
    std::vector<AttentionScenario> s;
    // Decode of 4 sequences: a fresh one (1 key), one just past a block boundary, two longer.
    const std::vector<SeqSpec> decode4 = {{0, 1}, {16, 1}, {39, 1}, {100, 1}};
    for (GgmlType kv : {GgmlType::F16, GgmlType::F32, GgmlType::Q8_0}) {
        s.push_back({"decode4", decode4, 8, 2, 64, 16, kv, AttentionMode::normal, true, kv == GgmlType::F16});
    }
    s.push_back({"decode4_split64", decode4, 8, 2, 64, 16, GgmlType::F16, AttentionMode::split64, false, true});
    s.push_back(
        {"decode4_prefillkernel", decode4, 8, 2, 64, 16, GgmlType::F16, AttentionMode::force_prefill, false, false});
    s.push_back({"decode4_bs8", decode4, 8, 2, 64, 8, GgmlType::F16, AttentionMode::normal, false, false});
    s.push_back({"decode4_bs32", decode4, 8, 2, 64, 32, GgmlType::F16, AttentionMode::normal, false, false});

    // Chunked prefill mixed with decode: cached + new tokens per sequence.
    const std::vector<SeqSpec> mixed = {{37, 29}, {0, 50}, {20, 1}, {15, 17}};
    for (GgmlType kv : {GgmlType::F16, GgmlType::F32, GgmlType::Q8_0}) {
        s.push_back({"mixed_hd128", mixed, 16, 4, 128, 16, kv, AttentionMode::normal, true, kv == GgmlType::F16});
    }
    s.push_back(
        {"mixed_hd128_decodekernel", mixed, 16, 4, 128, 16, GgmlType::F16, AttentionMode::force_decode, true, true});
    s.push_back({"mixed_hd128_split64", mixed, 16, 4, 128, 16, GgmlType::F16, AttentionMode::split64, false, false});

    // Head sizes and group sizes: 80 (group 4, one KV head), 96 (group 7), 256 (no GQA),
    // 128 with group 8, 112 with group 3.
    s.push_back({"hd80_mqa", {{10, 20}, {33, 1}}, 4, 1, 80, 16, GgmlType::F16, AttentionMode::normal, true, false});
    s.push_back({"hd80_mqa_decodekernel",
                 {{10, 20}, {33, 1}},
                 4,
                 1,
                 80,
                 16,
                 GgmlType::F32,
                 AttentionMode::force_decode,
                 true,
                 false});
    s.push_back({"hd96_group7", {{25, 9}, {60, 1}}, 14, 2, 96, 16, GgmlType::F16, AttentionMode::normal, true, false});
    s.push_back({"hd96_group7_q8",
                 {{25, 9}, {60, 1}},
                 14,
                 2,
                 96,
                 16,
                 GgmlType::Q8_0,
                 AttentionMode::force_decode,
                 true,
                 false});
    s.push_back({"hd256", {{40, 20}, {70, 1}}, 8, 8, 256, 16, GgmlType::F16, AttentionMode::normal, true, false});
    s.push_back({"hd256_decodekernel",
                 {{40, 20}, {70, 1}},
                 8,
                 8,
                 256,
                 16,
                 GgmlType::F16,
                 AttentionMode::force_decode,
                 false,
                 false});
    s.push_back({"hd128_group8_decode",
                 {{300, 1}, {77, 1}},
                 32,
                 4,
                 128,
                 16,
                 GgmlType::F16,
                 AttentionMode::normal,
                 false,
                 false});
    s.push_back({"hd112_group3", {{30, 5}, {3, 2}}, 6, 2, 112, 16, GgmlType::F16, AttentionMode::normal, true, false});

    // A longer prompt in one step: 19 query tiles, keys up to 300.
    s.push_back({"prefill300_hd128", {{0, 300}}, 8, 8, 128, 16, GgmlType::F16, AttentionMode::normal, false, false});

    // Long contexts: the split-K (flash-decoding) path and its merge kernel.
    s.push_back({"long4096_decode", {{4095, 1}}, 32, 8, 128, 16, GgmlType::F16, AttentionMode::normal, false, false});
    s.push_back(
        {"long_2seqs_q8", {{3000, 1}, {4095, 1}}, 32, 8, 128, 16, GgmlType::Q8_0, AttentionMode::normal, false, false});
    s.push_back({"long4096_f32_bs32", {{4095, 1}}, 16, 2, 64, 32, GgmlType::F32, AttentionMode::normal, false, false});

    // Q8_0 caches through every kernel path: split-K with its merge, the tiled kernel on
    // decode and on a 19-tile prompt, the decode kernel on chunked prefill, the largest
    // head, other block sizes.
    const GgmlType q8 = GgmlType::Q8_0;
    s.push_back({"decode4_split64", decode4, 8, 2, 64, 16, q8, AttentionMode::split64, false, false});
    s.push_back({"decode4_prefillkernel", decode4, 8, 2, 64, 16, q8, AttentionMode::force_prefill, false, false});
    s.push_back({"decode4_bs8", decode4, 8, 2, 64, 8, q8, AttentionMode::normal, false, false});
    s.push_back({"mixed_hd128_decodekernel", mixed, 16, 4, 128, 16, q8, AttentionMode::force_decode, true, false});
    s.push_back({"mixed_hd128_bs32", mixed, 16, 4, 128, 32, q8, AttentionMode::normal, true, false});
    s.push_back({"hd256", {{40, 20}, {70, 1}}, 8, 8, 256, 16, q8, AttentionMode::normal, true, false});
    s.push_back({"hd160_group5", {{21, 12}, {50, 1}}, 10, 2, 160, 16, q8, AttentionMode::normal, true, false});
    s.push_back({"prefill300_hd128", {{0, 300}}, 8, 8, 128, 16, q8, AttentionMode::normal, false, false});
    return s;
}

}  // namespace pagoda::gpu_parity
