// Emulated kernels vs the CPU backend. The kernels are called through their launch_xxx
// functions with host buffers (the emulator runs them on host threads), and the CPU
// backend computes the same op from the same inputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "attention_scenarios.h"
#include "backend/cpu/create_cpu_backend.h"
#include "kernel_emulation.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"
#include "parity_util.h"
// The emulated kernels' interface, under the renamed namespace pagoda::cuda_emu.
#include "cuda_emulator.h"
#define cuda cuda_emu
#include "kernel_launch.h"
#undef cuda

namespace pagoda::gpu_parity {
namespace {

namespace ck = pagoda::cuda_emu;

constexpr int32_t kEmulatedSMs = 132;  // an H100, for the split-K plan

std::unique_ptr<Backend>& cpu_backend() {
    static std::unique_ptr<Backend> cpu = create_cpu_backend(1);
    return cpu;
}

CaseResult launch_failed(cudaError_t err) { return CaseResult::fail("launch returned " + std::to_string(err)); }

// ---- the CPU side, through the Backend interface -------------------------------------

Result<std::vector<float>> cpu_read(Backend& b, const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.n_elements()));
    PAGODA_RETURN_IF_ERROR(b.read(t, v.data()));
    return v;
}

Result<Tensor> cpu_upload(Backend& b, const std::vector<float>& v, int64_t rows, int64_t cols) {
    auto t = b.alloc_activations(rows, cols);
    if (!t.is_ok()) return t.status();
    PAGODA_RETURN_IF_ERROR(b.write(*t, v.data()));
    return t;
}

// ---- cases -----------------------------------------------------------------------------

CaseResult rms_norm_case(int64_t rows, int64_t cols) {
    Backend& cpu = *cpu_backend();
    cpu.reset_scratch();
    const auto x = random_normal(static_cast<size_t>(rows * cols), 21, 3.0f);
    const auto w = random_normal(static_cast<size_t>(cols), 22);
    auto tx = cpu_upload(cpu, x, rows, cols);
    auto tw = cpu_upload(cpu, w, 1, cols);
    auto to = cpu.alloc_activations(rows, cols);
    if (!tx.is_ok() || !tw.is_ok() || !to.is_ok()) return CaseResult::fail("cpu allocation");
    cpu.rms_norm(*tx, *tw, 1e-5f, *to);
    if (Status s = cpu.end_step(); !s) return CaseResult::fail(s.to_string());
    auto ref = cpu_read(cpu, *to);
    std::vector<float> got(x.size());
    if (auto e = ck::launch_rms_norm({x.data(), w.data(), GgmlType::F32, got.data(), rows, cols, 1e-5f}, nullptr))
        return launch_failed(e);
    return compare(got, *ref, 1e-8);
}

CaseResult elementwise_case() {
    Backend& cpu = *cpu_backend();
    cpu.reset_scratch();
    const int64_t rows = 5, cols = 333;
    const size_t n = rows * cols;
    const auto x = random_normal(n, 31, 2.0f), y = random_normal(n, 32, 2.0f), bias = random_normal(cols, 33);
    auto tx = cpu_upload(cpu, x, rows, cols);
    auto ty = cpu_upload(cpu, y, rows, cols);
    auto tb = cpu_upload(cpu, bias, 1, cols);
    auto to = cpu.alloc_activations(rows, cols);
    if (!tx.is_ok() || !ty.is_ok() || !tb.is_ok() || !to.is_ok()) return CaseResult::fail("cpu allocation");
    cpu.add(*tx, *ty);
    cpu.add_bias(*tx, *tb);
    cpu.silu_mul(*tx, *ty, *to);
    (void)cpu.end_step();
    auto ref_x = cpu_read(cpu, *tx);
    auto ref_o = cpu_read(cpu, *to);

    std::vector<float> gx = x, go(n);
    cudaError_t e = ck::launch_add({gx.data(), y.data(), static_cast<int64_t>(n)}, nullptr);
    if (!e) e = ck::launch_add_bias({gx.data(), bias.data(), GgmlType::F32, rows, cols}, nullptr);
    if (!e) e = ck::launch_silu_mul({gx.data(), y.data(), go.data(), static_cast<int64_t>(n)}, nullptr);
    if (e) return launch_failed(e);
    std::vector<float> got = gx, ref = *ref_x;
    got.insert(got.end(), go.begin(), go.end());
    ref.insert(ref.end(), ref_o->begin(), ref_o->end());
    CaseResult r = compare(got, ref, 1e-8);
    if (r.outcome != CaseResult::Outcome::pass) return r;

    // gather rows 4, 0, 2; fp32 -> f16 / bf16 conversion.
    const int32_t idx[] = {4, 0, 2};
    std::vector<float> gathered(3 * cols), want;
    if (auto e2 = ck::launch_gather_rows({x.data(), idx, gathered.data(), 3, cols}, nullptr)) return launch_failed(e2);
    for (int32_t i : idx) want.insert(want.end(), x.begin() + i * cols, x.begin() + (i + 1) * cols);
    if (gathered != want) return CaseResult::fail("gather_rows differs");
    for (bool bf16 : {false, true}) {
        std::vector<uint16_t> h(n);
        if (auto e3 = ck::launch_convert_f32({x.data(), h.data(), static_cast<int64_t>(n), bf16}, nullptr))
            return launch_failed(e3);
        for (size_t i = 0; i < n; ++i) {
            if (h[i] != (bf16 ? fp32_to_bf16(x[i]) : fp32_to_fp16(x[i]))) {
                return CaseResult::fail(std::string(bf16 ? "bf16" : "f16") + " conversion differs at " +
                                        std::to_string(i));
            }
        }
    }
    return r;
}

CaseResult rope_case(bool neox, int variant) {
    Backend& cpu = *cpu_backend();
    cpu.reset_scratch();
    const StepBuilder step({{0, 5}, {3990, 6}}, 16, 300, 50, 51);
    const int32_t n = step.n_tokens(), n_heads = 3, head_dim = 64;
    const int64_t cols = static_cast<int64_t>(n_heads) * head_dim;
    const auto x = random_normal(static_cast<size_t>(n * cols), 52);
    const int32_t n_rot = variant == 2 ? 32 : 64;
    std::vector<float> factors(static_cast<size_t>(n_rot / 2));
    for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + static_cast<float>(i % 7);
    RopeParams p;
    p.head_dim = head_dim;
    p.n_rot = n_rot;
    p.freq_base = variant == 1 ? 500000.0f : 10000.0f;
    p.freq_scale = variant == 2 ? 0.25f : 1.0f;
    p.neox = neox;
    auto tx = cpu_upload(cpu, x, n, cols);
    auto tf = cpu_upload(cpu, factors, 1, n_rot / 2);
    if (!tx.is_ok() || !tf.is_ok()) return CaseResult::fail("cpu allocation");
    if (variant == 1) p.freq_factors = &tf.value();
    KvCacheConfig kv;
    kv.n_layers = 1;
    kv.n_kv_heads = 1;
    kv.head_dim = 32;
    kv.n_blocks = 300;
    if (Status s = cpu.init_kv_cache(kv); !s) return CaseResult::fail(s.to_string());
    if (Status s = cpu.begin_step(step.inputs()); !s) return CaseResult::fail(s.to_string());
    cpu.rope(*tx, n_heads, p);
    if (Status s = cpu.end_step(); !s) return CaseResult::fail(s.to_string());
    auto ref = cpu_read(cpu, *tx);

    std::vector<float> got = x;
    const StepInputs in = step.inputs();
    ck::RopeArgs a{};
    a.x = got.data();
    a.positions = in.positions.data();
    a.freq_factors = variant == 1 ? factors.data() : nullptr;
    a.n_tokens = n;
    a.n_heads = n_heads;
    a.head_dim = head_dim;
    a.n_rot = n_rot;
    a.theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(n_rot));
    a.freq_scale = p.freq_scale;
    a.neox = neox;
    if (auto e = ck::launch_rope(a, nullptr)) return launch_failed(e);
    return compare(got, *ref, 1e-8);
}

CaseResult embed_case(GgmlType type, int64_t dim) {
    const int32_t vocab = 40;
    const std::vector<uint8_t> table = random_weight(type, vocab, dim, 11, 1.0f);
    const int64_t row_bytes = static_cast<int64_t>(*ggml_row_bytes(type, dim));
    const int32_t tokens[] = {3, 39, 0, 17, 3};
    std::vector<float> got(5 * dim), ref(5 * dim);
    for (int i = 0; i < 5; ++i) dequantize_row(type, table.data() + tokens[i] * row_bytes, ref.data() + i * dim, dim);
    if (auto e = ck::launch_embed({type, table.data(), row_bytes, tokens, got.data(), 5, dim}, nullptr))
        return launch_failed(e);
    return compare(got, ref, 1e-12);
}

CaseResult dequantize_f16_case(GgmlType type) {
    const int64_t rows = 5, cols = 512;
    const std::vector<uint8_t> w = random_weight(type, rows, cols, 12, 1.0f);
    const int64_t row_bytes = static_cast<int64_t>(*ggml_row_bytes(type, cols));
    std::vector<uint16_t> h(rows * cols);
    if (auto e = ck::launch_dequantize_f16({type, w.data(), row_bytes, h.data(), rows, cols}, nullptr))
        return launch_failed(e);
    std::vector<float> got(rows * cols), ref(rows * cols);
    for (int64_t r = 0; r < rows; ++r) dequantize_row(type, w.data() + r * row_bytes, ref.data() + r * cols, cols);
    for (size_t i = 0; i < got.size(); ++i) {
        got[i] = fp16_to_fp32(h[i]);
        ref[i] = fp16_to_fp32(fp32_to_fp16(ref[i]));
    }
    return compare(got, ref, 1e-12);
}

CaseResult mmvq_case(GgmlType type, int32_t n, int64_t k = 512) {
    Backend& cpu = *cpu_backend();
    cpu.reset_scratch();
    const int64_t m = 37;  // 37 rows: not a multiple of the 2 or 4 rows a block takes
    const std::vector<uint8_t> w = random_weight(type, m, k, 100 + n);
    const auto x = random_normal(static_cast<size_t>(n * k), 200 + n);
    auto tw = cpu.load_weight(type, m, k, w.data());
    auto tx = cpu_upload(cpu, x, n, k);
    auto to = cpu.alloc_activations(n, m);
    if (!tw.is_ok() || !tx.is_ok() || !to.is_ok()) return CaseResult::fail("cpu allocation");
    cpu.matmul(*tw, *tx, *to);
    if (Status s = cpu.end_step(); !s) return CaseResult::fail(s.to_string());
    auto ref = cpu_read(cpu, *to);

    std::vector<ck::BlockQ8x32> q(static_cast<size_t>(n * k / 32));
    std::vector<float> got(static_cast<size_t>(n * m));
    if (auto e = ck::launch_quantize_q8({x.data(), q.data(), n, k}, nullptr)) return launch_failed(e);
    ck::MmvqArgs a{};
    a.type = type;
    a.w = w.data();
    a.row_bytes = static_cast<int64_t>(*ggml_row_bytes(type, k));
    a.x = q.data();
    a.out = got.data();
    a.n_rows = m;
    a.n_in = k;
    a.n_cols = n;
    if (auto e = ck::launch_mmvq(a, nullptr)) return launch_failed(e);
    return compare(got, *ref, 5e-4);
}

// gemv.cu (dense small-batch matmul) vs the CPU backend; BF16 weights get activations
// rounded to bf16 first, as CudaBackend::matmul_gemv does.
CaseResult gemv_case(GgmlType type, int32_t n, int64_t m, int64_t k) {
    Backend& cpu = *cpu_backend();
    cpu.reset_scratch();
    const std::vector<uint8_t> w = random_weight(type, m, k, 400 + n);
    const auto x = random_normal(static_cast<size_t>(n * k), 500 + n);
    auto tw = cpu.load_weight(type, m, k, w.data());
    auto tx = cpu_upload(cpu, x, n, k);
    auto to = cpu.alloc_activations(n, m);
    if (!tw.is_ok() || !tx.is_ok() || !to.is_ok()) return CaseResult::fail("cpu allocation");
    cpu.matmul(*tw, *tx, *to);
    if (Status s = cpu.end_step(); !s) return CaseResult::fail(s.to_string());
    auto ref = cpu_read(cpu, *to);

    std::vector<uint16_t> xh(x.size());
    const void* xw = x.data();
    if (type == GgmlType::BF16) {
        if (auto e = ck::launch_convert_f32({x.data(), xh.data(), static_cast<int64_t>(x.size()), true}, nullptr))
            return launch_failed(e);
        xw = xh.data();
    }
    std::vector<float> got(static_cast<size_t>(n * m), -777.0f);
    ck::GemvArgs a{};
    a.type = type;
    a.w = w.data();
    a.x = xw;
    a.out = got.data();
    a.n_rows = m;
    a.n_in = k;
    a.n_cols = n;
    if (auto e = ck::launch_gemv(a, nullptr)) return launch_failed(e);
    return compare(got, *ref, 1e-9);  // summation order only
}

// The CUDA backend's attention path on emulated kernels: kv_write, then the kernel
// plan_attention picks, with the step metadata built as CudaBackend::upload_step does.
Status emulate_attention(const AttentionScenario& sc, const AttentionData& d, std::vector<float>& out) {
    const KvCacheConfig kvc = attention_kv_config(sc, d);
    const int64_t n_slots = static_cast<int64_t>(kvc.n_blocks) * kvc.block_size;
    const size_t pool_bytes = static_cast<size_t>(*ggml_row_bytes(kvc.type, d.kv_cols) * n_slots);
    // [layer][k, v], zeroed like the backends' pools; 16-byte aligned storage.
    std::vector<std::vector<float>> pools(4, std::vector<float>(pool_bytes / 4 + 4, 0.0f));
    out.clear();
    auto run_step = [&](const StepBuilder& sb, const std::vector<float>& k, const std::vector<float>& v,
                        const std::vector<float>& q, bool attend) -> Status {
        const StepInputs in = sb.inputs();
        const int32_t n = in.n_tokens();
        std::vector<int32_t> token_seq(static_cast<size_t>(n));
        std::vector<ck::PrefillTile> tiles;
        int32_t max_query_len = 0, max_context = 0;
        for (int32_t s = 0; s < in.n_seqs(); ++s) {
            const int32_t begin = in.query_start[s], end = in.query_start[s + 1];
            max_query_len = std::max(max_query_len, end - begin);
            for (int32_t i = begin; i < end; ++i) {
                token_seq[static_cast<size_t>(i)] = s;
                max_context = std::max(max_context, in.positions[i] + 1);
            }
            for (int32_t t = begin; t < end; t += ck::kPrefillTileRows) {
                tiles.push_back({t, std::min(ck::kPrefillTileRows, end - t)});
            }
        }
        for (int layer = 0; layer < 2; ++layer) {
            ck::KvWriteArgs w{};
            w.k = layer == 0 ? d.noise.data() : k.data();
            w.v = layer == 0 ? d.noise.data() : v.data();
            w.k_pool = pools[2 * layer].data();
            w.v_pool = pools[2 * layer + 1].data();
            w.type = kvc.type;
            w.slot_mapping = in.slot_mapping.data();
            w.n_tokens = n;
            w.row_values = static_cast<int32_t>(d.kv_cols);
            if (auto e = ck::launch_kv_write(w, nullptr)) return internal_error("kv_write launch " + std::to_string(e));
        }
        if (!attend) return Status::ok();
        std::vector<float> o(static_cast<size_t>(n * d.q_cols), -777.0f);
        ck::AttentionArgs a{};
        a.q = q.data();
        a.out = o.data();
        a.k_pool = pools[2].data();
        a.v_pool = pools[3].data();
        a.kv_type = kvc.type;
        a.positions = in.positions.data();
        a.token_seq = token_seq.data();
        a.block_tables = in.block_tables.data();
        a.max_blocks_per_seq = in.max_blocks_per_seq;
        a.block_size = kvc.block_size;
        a.n_tokens = n;
        a.n_heads = sc.n_heads;
        a.n_kv_heads = sc.n_kv_heads;
        a.head_dim = sc.head_dim;
        a.scale = d.params.scale;
        const auto choice = sc.mode == AttentionMode::force_decode    ? ck::AttentionKernelChoice::force_decode
                            : sc.mode == AttentionMode::force_prefill ? ck::AttentionKernelChoice::force_prefill
                                                                      : ck::AttentionKernelChoice::automatic;
        const ck::AttentionPlan plan =
            ck::plan_attention(n, sc.n_kv_heads, sc.head_dim, max_query_len, max_context, kEmulatedSMs, choice,
                               sc.mode == AttentionMode::split64 ? 64 : 0);
        cudaError_t e;
        std::vector<float> partials;
        if (plan.prefill) {
            e = ck::launch_attention_prefill({a, tiles.data(), static_cast<int32_t>(tiles.size())}, nullptr);
        } else {
            ck::AttentionDecodeArgs da{};
            da.attn = a;
            da.n_splits = plan.n_splits;
            da.split_len = plan.split_len;
            partials.assign(static_cast<size_t>(n) * sc.n_heads * plan.n_splits * (sc.head_dim + 2), 0.0f);
            da.partials = partials.data();
            e = ck::launch_attention_decode(da, nullptr);
        }
        if (e) return internal_error("attention launch " + std::to_string(e));
        out.insert(out.end(), o.begin(), o.end());
        return Status::ok();
    };
    if (!d.hist.empty()) PAGODA_RETURN_IF_ERROR(run_step(d.hist, d.hk, d.hv, d.hq, sc.attend_history));
    return run_step(d.step, d.k, d.v, d.q, true);
}

CaseResult attention_case(const AttentionScenario& sc) {
    Backend& cpu = *cpu_backend();
    cpu.reset_scratch();
    const AttentionData d(sc);
    std::vector<float> ref, got;
    if (Status s = run_attention_scenario(cpu, sc, d, ref); !s) return CaseResult::fail("cpu: " + s.to_string());
    if (Status s = emulate_attention(sc, d, got); !s) return CaseResult::fail("emulated: " + s.to_string());
    return compare(got, ref, attention_threshold(sc.kv));
}

}  // namespace

const std::vector<EmulationCase>& emulation_cases() {
    static const std::vector<EmulationCase> cases = [] {
        std::vector<EmulationCase> c;
        c.push_back({"Emu_RmsNorm_17x333", true, [] { return rms_norm_case(17, 333); }});
        c.push_back({"Emu_RmsNorm_2x40", true, [] { return rms_norm_case(2, 40); }});
        c.push_back({"Emu_AddBiasSiluGatherConvert", true, [] { return elementwise_case(); }});
        for (bool neox : {false, true}) {
            for (int variant = 0; variant < 3; ++variant) {
                c.push_back({std::string("Emu_Rope_") + (neox ? "neox" : "normal") + std::to_string(variant),
                             variant == 1, [neox, variant] { return rope_case(neox, variant); }});
            }
        }
        const GgmlType quants[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                   GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
        for (GgmlType t : {GgmlType::F32, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
            c.push_back({std::string("Emu_Embed_") + ggml_type_name(t), t == GgmlType::Q4_K,
                         [t] { return embed_case(t, 512); }});
        }
        c.push_back({"Emu_Embed_f16_odd333", true, [] { return embed_case(GgmlType::F16, 333); }});
        for (GgmlType t : quants) {
            c.push_back({std::string("Emu_DequantizeF16_") + ggml_type_name(t), t == GgmlType::Q5_K,
                         [t] { return dequantize_f16_case(t); }});
            for (int32_t n : {1, 2, 3, 4, 5, 8}) {
                c.push_back({std::string("Emu_Mmvq_") + ggml_type_name(t) + "_n" + std::to_string(n), n == 3,
                             [t, n] { return mmvq_case(t, n); }});
            }
            // An odd number of units per row (129 of 32), so threads end the row unevenly.
            if (ggml_type_info(t).block_size == 32) {
                c.push_back({std::string("Emu_Mmvq_") + ggml_type_name(t) + "_n2_k4128", false,
                             [t] { return mmvq_case(t, 2, 4128); }});
            }
        }
        for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
            for (int32_t n : {1, 2, 3, 5, 8}) {
                c.push_back({std::string("Emu_Gemv_") + ggml_type_name(t) + "_n" + std::to_string(n),
                             n == 3 && t == GgmlType::F16, [t, n] { return gemv_case(t, n, 37, 520); }});
            }
        }
        for (const AttentionScenario& sc : attention_scenarios()) {
            // The quick set keeps to small grids: the emulator runs a host thread per CUDA thread.
            const std::string name = sc.name + "_" + ggml_type_name(sc.kv);
            const bool quick = name == "decode4_f16" || name == "decode4_split64_f16" || name == "hd80_mqa_f16" ||
                               name == "hd112_group3_f16";
            c.push_back({"Emu_Attention_" + name, quick, [sc] { return attention_case(sc); }});
        }
        add_lora_emulation_cases(c);
        add_sampling_emulation_cases(c);
        return c;
    }();
    return cases;
}

}  // namespace pagoda::gpu_parity
