// Parity cases for kv_write + paged attention: several sequences with non-contiguous,
// shuffled block tables; lengths across block boundaries; grouped-query attention with
// groups of 1 to 8; head sizes 64 to 256; F16, F32 and Q8_0 caches; decode, prefill and
// chunked prefill; long contexts (4096) for the split-K path; and the same scenarios
// forced through the other kernel, so both paths are checked on every shape.
#include <algorithm>
#include <cmath>
#include <string>

#include "model/ggml_type.h"
#include "parity_harness.h"

namespace pagoda::gpu_parity {
namespace {

enum class Mode { normal, force_decode, force_prefill, split64 };

struct Scenario {
    std::string name;
    std::vector<SeqSpec> seqs;
    int32_t n_heads = 8;
    int32_t n_kv_heads = 2;
    int32_t head_dim = 64;
    int32_t block_size = 16;
    GgmlType kv = GgmlType::F16;
    Mode mode = Mode::normal;
    bool attend_history = true;  // also compare the history step's (prefill) attention
    bool quick = false;
};

double threshold_for(GgmlType kv) { return kv == GgmlType::Q8_0 ? 1e-5 : 1e-6; }

CaseResult run_scenario(Backends& b, const Scenario& sc) {
    int32_t n_blocks = 3;
    for (const SeqSpec& s : sc.seqs) n_blocks += (s.cached + s.n_new + sc.block_size - 1) / sc.block_size;
    const StepBuilder step(sc.seqs, sc.block_size, n_blocks, 100, 1234);
    const StepBuilder hist = step.history();
    const int64_t kv_cols = static_cast<int64_t>(sc.n_kv_heads) * sc.head_dim;
    const int64_t q_cols = static_cast<int64_t>(sc.n_heads) * sc.head_dim;
    const int32_t hn = hist.n_tokens();
    const int32_t n = step.n_tokens();
    const auto hk = random_normal(static_cast<size_t>(hn * kv_cols), 1);
    const auto hv = random_normal(static_cast<size_t>(hn * kv_cols), 2);
    const auto hq = random_normal(static_cast<size_t>(hn * q_cols), 3);
    const auto k = random_normal(static_cast<size_t>(n * kv_cols), 4);
    const auto v = random_normal(static_cast<size_t>(n * kv_cols), 5);
    const auto q = random_normal(static_cast<size_t>(n * q_cols), 6);
    const auto noise = random_normal(static_cast<size_t>(std::max(hn, n) * kv_cols), 7, 5.0f);

    cuda::CudaDebugOptions opt;
    opt.force_decode_attention = sc.mode == Mode::force_decode;
    opt.force_prefill_attention = sc.mode == Mode::force_prefill;
    opt.attention_split_len = sc.mode == Mode::split64 ? 64 : 0;
    b.set_cuda_options(opt);

    AttentionParams ap;
    ap.n_heads = sc.n_heads;
    ap.n_kv_heads = sc.n_kv_heads;
    ap.head_dim = sc.head_dim;
    ap.scale = 1.0f / std::sqrt(static_cast<float>(sc.head_dim));
    const int32_t layer = 1;

    return compare_runs(
        b,
        [&](Backend& be, std::vector<float>& out) -> Status {
            KvCacheConfig kv;
            kv.n_layers = 2;
            kv.n_kv_heads = sc.n_kv_heads;
            kv.head_dim = sc.head_dim;
            kv.block_size = sc.block_size;
            kv.n_blocks = n_blocks;
            kv.type = sc.kv;
            PAGODA_RETURN_IF_ERROR(be.init_kv_cache(kv));
            out.clear();
            // Step 1: the history, written into the layer under test (and junk into layer 0,
            // which must not leak into layer 1).
            if (!hist.empty()) {
                auto tk = upload(be, hk, hn, kv_cols);
                auto tv = upload(be, hv, hn, kv_cols);
                auto tn = upload(be, std::vector<float>(noise.begin(), noise.begin() + hn * kv_cols), hn, kv_cols);
                auto tq = upload(be, hq, hn, q_cols);
                auto to = be.alloc_activations(hn, q_cols);
                if (!tk.is_ok() || !tv.is_ok() || !tn.is_ok() || !tq.is_ok() || !to.is_ok()) {
                    return out_of_memory("allocation failed");
                }
                PAGODA_RETURN_IF_ERROR(be.begin_step(hist.inputs()));
                be.kv_write(0, *tn, *tn);
                be.kv_write(layer, *tk, *tv);
                if (sc.attend_history) be.attention(layer, *tq, *to, ap);
                PAGODA_RETURN_IF_ERROR(be.end_step());
                if (sc.attend_history) {
                    auto o = download(be, *to);
                    if (!o.is_ok()) return o.status();
                    out = std::move(o.value());
                }
            }
            // Step 2: the step under test.
            auto tk = upload(be, k, n, kv_cols);
            auto tv = upload(be, v, n, kv_cols);
            auto tn = upload(be, std::vector<float>(noise.begin(), noise.begin() + n * kv_cols), n, kv_cols);
            auto tq = upload(be, q, n, q_cols);
            auto to = be.alloc_activations(n, q_cols);
            if (!tk.is_ok() || !tv.is_ok() || !tn.is_ok() || !tq.is_ok() || !to.is_ok()) {
                return out_of_memory("allocation failed");
            }
            PAGODA_RETURN_IF_ERROR(be.begin_step(step.inputs()));
            be.kv_write(layer, *tk, *tv);
            be.kv_write(0, *tn, *tn);
            be.attention(layer, *tq, *to, ap);
            PAGODA_RETURN_IF_ERROR(be.end_step());
            auto o = download(be, *to);
            if (!o.is_ok()) return o.status();
            out.insert(out.end(), o->begin(), o->end());
            return Status::ok();
        },
        threshold_for(sc.kv));
}

std::vector<Scenario> scenarios() {
    std::vector<Scenario> s;
    // Decode of 4 sequences: a fresh one (1 key), one just past a block boundary, two longer.
    const std::vector<SeqSpec> decode4 = {{0, 1}, {16, 1}, {39, 1}, {100, 1}};
    for (GgmlType kv : {GgmlType::F16, GgmlType::F32, GgmlType::Q8_0}) {
        s.push_back({"decode4", decode4, 8, 2, 64, 16, kv, Mode::normal, true, kv == GgmlType::F16});
    }
    s.push_back({"decode4_split64", decode4, 8, 2, 64, 16, GgmlType::F16, Mode::split64, false, true});
    s.push_back({"decode4_prefillkernel", decode4, 8, 2, 64, 16, GgmlType::F16, Mode::force_prefill, false, false});
    s.push_back({"decode4_bs8", decode4, 8, 2, 64, 8, GgmlType::F16, Mode::normal, false, false});
    s.push_back({"decode4_bs32", decode4, 8, 2, 64, 32, GgmlType::F16, Mode::normal, false, false});

    // Chunked prefill mixed with decode: cached + new tokens per sequence.
    const std::vector<SeqSpec> mixed = {{37, 29}, {0, 50}, {20, 1}, {15, 17}};
    for (GgmlType kv : {GgmlType::F16, GgmlType::F32, GgmlType::Q8_0}) {
        s.push_back({"mixed_hd128", mixed, 16, 4, 128, 16, kv, Mode::normal, true, kv == GgmlType::F16});
    }
    s.push_back({"mixed_hd128_decodekernel", mixed, 16, 4, 128, 16, GgmlType::F16, Mode::force_decode, true, true});
    s.push_back({"mixed_hd128_split64", mixed, 16, 4, 128, 16, GgmlType::F16, Mode::split64, false, false});

    // Head sizes and group sizes: 80 (group 4, one KV head), 96 (group 7), 256 (no GQA),
    // 128 with group 8, 112 with group 3.
    s.push_back({"hd80_mqa", {{10, 20}, {33, 1}}, 4, 1, 80, 16, GgmlType::F16, Mode::normal, true, false});
    s.push_back({"hd80_mqa_decodekernel", {{10, 20}, {33, 1}}, 4, 1, 80, 16, GgmlType::F32, Mode::force_decode, true,
                 false});
    s.push_back({"hd96_group7", {{25, 9}, {60, 1}}, 14, 2, 96, 16, GgmlType::F16, Mode::normal, true, false});
    s.push_back({"hd96_group7_q8", {{25, 9}, {60, 1}}, 14, 2, 96, 16, GgmlType::Q8_0, Mode::force_decode, true,
                 false});
    s.push_back({"hd256", {{40, 20}, {70, 1}}, 8, 8, 256, 16, GgmlType::F16, Mode::normal, true, false});
    s.push_back({"hd256_decodekernel", {{40, 20}, {70, 1}}, 8, 8, 256, 16, GgmlType::F16, Mode::force_decode, false,
                 false});
    s.push_back({"hd128_group8_decode", {{300, 1}, {77, 1}}, 32, 4, 128, 16, GgmlType::F16, Mode::normal, false,
                 false});
    s.push_back({"hd112_group3", {{30, 5}, {3, 2}}, 6, 2, 112, 16, GgmlType::F16, Mode::normal, true, false});

    // A longer prompt in one step: 19 query tiles, keys up to 300.
    s.push_back({"prefill300_hd128", {{0, 300}}, 8, 8, 128, 16, GgmlType::F16, Mode::normal, false, false});

    // Long contexts: the split-K (flash-decoding) path and its merge kernel.
    s.push_back({"long4096_decode", {{4095, 1}}, 32, 8, 128, 16, GgmlType::F16, Mode::normal, false, false});
    s.push_back({"long_2seqs_q8", {{3000, 1}, {4095, 1}}, 32, 8, 128, 16, GgmlType::Q8_0, Mode::normal, false,
                 false});
    s.push_back({"long4096_f32_bs32", {{4095, 1}}, 16, 2, 64, 32, GgmlType::F32, Mode::normal, false, false});
    return s;
}

}  // namespace

void add_attention_cases(std::vector<ParityCase>& cases) {
    for (const Scenario& sc : scenarios()) {
        ParityCase c;
        c.name = "Attention_" + sc.name + "_" + ggml_type_name(sc.kv);
        c.quick = sc.quick;
        c.run = [sc](Backends& b) { return run_scenario(b, sc); };
        cases.push_back(std::move(c));
    }
}

}  // namespace pagoda::gpu_parity
