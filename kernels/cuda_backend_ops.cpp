// The CUDA backend's ops other than matmul: host-side checks (the same as the CPU
// backend's, so both refuse the same inputs with the same words), then one launch.
#include <algorithm>
#include <cmath>
#include <string>

#include "cuda_backend.h"
#include "model/ggml_type.h"

namespace pagoda::cuda {

void CudaBackend::embed(const Tensor& table, Tensor& out) {
    if (op_failed() || !check_step("embed")) return;
    const auto info = ggml_type_info(static_cast<uint32_t>(table.type));
    if (!info || !info->runnable || !dequant_supported(table.type) || !table.data || table.rows <= 0 ||
        table.cols <= 0 || !ggml_row_bytes(table.type, table.cols)) {
        fail(invalid_argument("embed: the table is not a usable weight tensor"));
        return;
    }
    const int32_t n_tokens = step_.n_tokens;
    if (!check_f32("embed", "out", out, n_tokens, table.cols)) return;
    for (int32_t i = 0; i < n_tokens; ++i) {
        const TokenId token = step_.tokens[static_cast<size_t>(i)];
        if (token < 0 || token >= table.rows) {
            fail(invalid_argument("embed: token id " + std::to_string(token) + " outside the vocabulary of " +
                                  std::to_string(table.rows)));
            return;
        }
    }
    auto a = zeroed_args<EmbedArgs>();
    a.type = table.type;
    a.table = table.data;
    a.row_bytes = static_cast<int64_t>(*ggml_row_bytes(table.type, table.cols));
    a.tokens = step_.d_tokens;
    a.out = static_cast<float*>(out.data);
    a.n_tokens = n_tokens;
    a.dim = table.cols;
    enqueue(launch_embed, a, "embed");
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
    if (op_failed()) return;
    if (!check_f32("rms_norm", "x", x, -1, -1) || !check_f32("rms_norm", "out", out, x.rows, x.cols)) return;
    if (!(eps >= 0.0f)) {
        fail(invalid_argument("rms_norm: eps must not be negative"));
        return;
    }
    if (!check_vector("rms_norm", "weight", weight, x.cols)) return;
    auto a = zeroed_args<RmsNormArgs>();
    a.x = static_cast<const float*>(x.data);
    a.weight = weight.data;
    a.weight_type = weight.type;
    a.out = static_cast<float*>(out.data);
    a.rows = x.rows;
    a.cols = x.cols;
    a.eps = eps;
    enqueue(launch_rms_norm, a, "rms_norm");
}

void CudaBackend::add(Tensor& x, const Tensor& y) {
    if (op_failed()) return;
    if (!check_f32("add", "x", x, -1, -1) || !check_f32("add", "y", y, x.rows, x.cols)) return;
    auto a = zeroed_args<AddArgs>();
    a.x = static_cast<float*>(x.data);
    a.y = static_cast<const float*>(y.data);
    a.n = x.n_elements();
    enqueue(launch_add, a, "add");
}

void CudaBackend::add_bias(Tensor& x, const Tensor& bias) {
    if (op_failed()) return;
    if (!check_f32("add_bias", "x", x, -1, -1) || !check_vector("add_bias", "bias", bias, x.cols)) return;
    auto a = zeroed_args<AddBiasArgs>();
    a.x = static_cast<float*>(x.data);
    a.bias = bias.data;
    a.bias_type = bias.type;
    a.rows = x.rows;
    a.cols = x.cols;
    enqueue(launch_add_bias, a, "add_bias");
}

void CudaBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) {
    if (op_failed()) return;
    if (!check_f32("silu_mul", "gate", gate, -1, -1) || !check_f32("silu_mul", "up", up, gate.rows, gate.cols) ||
        !check_f32("silu_mul", "out", out, gate.rows, gate.cols)) {
        return;
    }
    auto a = zeroed_args<SiluMulArgs>();
    a.gate = static_cast<const float*>(gate.data);
    a.up = static_cast<const float*>(up.data);
    a.out = static_cast<float*>(out.data);
    a.n = gate.n_elements();
    enqueue(launch_silu_mul, a, "silu_mul");
}

void CudaBackend::gather_logit_rows(const Tensor& x, Tensor& out) {
    if (op_failed() || !check_step("gather_logit_rows")) return;
    if (!check_f32("gather_logit_rows", "x", x, step_.n_tokens, -1) ||
        !check_f32("gather_logit_rows", "out", out, step_.n_logit_rows, x.cols)) {
        return;
    }
    auto a = zeroed_args<GatherRowsArgs>();
    a.x = static_cast<const float*>(x.data);
    a.rows = step_.d_logit_rows;
    a.out = static_cast<float*>(out.data);
    a.n_rows = step_.n_logit_rows;
    a.cols = x.cols;
    enqueue(launch_gather_rows, a, "gather_logit_rows");
}

void CudaBackend::rope(Tensor& x, int32_t n_heads, const RopeParams& p) {
    if (op_failed() || !check_step("rope")) return;
    if (n_heads <= 0 || p.head_dim <= 0 || p.n_rot <= 0 || p.n_rot % 2 != 0 || p.n_rot > p.head_dim ||
        !(p.freq_base > 0.0f) || !std::isfinite(p.freq_base) || !std::isfinite(p.freq_scale)) {
        fail(invalid_argument("rope: bad parameters (n_heads " + std::to_string(n_heads) + ", head_dim " +
                              std::to_string(p.head_dim) + ", n_rot " + std::to_string(p.n_rot) + ")"));
        return;
    }
    const int64_t cols = static_cast<int64_t>(n_heads) * p.head_dim;
    if (!check_f32("rope", "x", x, step_.n_tokens, cols)) return;
    if (p.freq_factors) {
        if (p.freq_factors->type != GgmlType::F32 || !p.freq_factors->data ||
            p.freq_factors->n_elements() != p.n_rot / 2) {
            fail(invalid_argument("rope: freq_factors must be " + std::to_string(p.n_rot / 2) + " f32 values"));
            return;
        }
    }
    auto a = zeroed_args<RopeArgs>();
    a.x = static_cast<float*>(x.data);
    a.positions = step_.d_positions;
    a.freq_factors = p.freq_factors ? static_cast<const float*>(p.freq_factors->data) : nullptr;
    a.n_tokens = step_.n_tokens;
    a.n_heads = n_heads;
    a.head_dim = p.head_dim;
    a.n_rot = p.n_rot;
    // Exactly the CPU backend's expression, so the angles agree bit for bit.
    a.theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
    a.freq_scale = p.freq_scale;
    a.neox = p.neox;
    enqueue(launch_rope, a, "rope");
}

void CudaBackend::kv_write(int32_t layer, const Tensor& k, const Tensor& v) {
    if (op_failed() || !check_step("kv_write") || !check_kv("kv_write", layer)) return;
    const int64_t cols = static_cast<int64_t>(kv_config_.n_kv_heads) * kv_config_.head_dim;
    if (!check_f32("kv_write", "k", k, step_.n_tokens, cols) || !check_f32("kv_write", "v", v, step_.n_tokens, cols)) {
        return;
    }
    auto a = zeroed_args<KvWriteArgs>();
    a.k = static_cast<const float*>(k.data);
    a.v = static_cast<const float*>(v.data);
    a.k_pool = k_pool(layer);
    a.v_pool = v_pool(layer);
    a.type = kv_config_.type;
    a.slot_mapping = step_.d_slots;
    a.n_tokens = step_.n_tokens;
    a.row_values = static_cast<int32_t>(cols);
    enqueue(launch_kv_write, a, "kv_write");
}

void CudaBackend::attention(int32_t layer, const Tensor& q, Tensor& out, const AttentionParams& params) {
    if (op_failed() || !check_step("attention") || !check_kv("attention", layer)) return;
    const KvCacheConfig& kvc = kv_config_;
    if (params.n_heads <= 0 || params.n_kv_heads <= 0 || params.n_heads % params.n_kv_heads != 0 ||
        params.n_kv_heads != kvc.n_kv_heads || params.head_dim != kvc.head_dim || !std::isfinite(params.scale)) {
        fail(invalid_argument("attention: n_heads " + std::to_string(params.n_heads) + ", n_kv_heads " +
                              std::to_string(params.n_kv_heads) + ", head_dim " + std::to_string(params.head_dim) +
                              " do not fit the KV cache (" + std::to_string(kvc.n_kv_heads) + " heads of " +
                              std::to_string(kvc.head_dim) + ")"));
        return;
    }
    const int32_t n_tokens = step_.n_tokens;
    const int64_t cols = static_cast<int64_t>(params.n_heads) * params.head_dim;
    if (!check_f32("attention", "q", q, n_tokens, cols) || !check_f32("attention", "out", out, n_tokens, cols)) return;
    if (n_tokens == 0) return;

    auto a = zeroed_args<AttentionArgs>();
    a.q = static_cast<const float*>(q.data);
    a.out = static_cast<float*>(out.data);
    a.k_pool = k_pool(layer);
    a.v_pool = v_pool(layer);
    a.kv_type = kvc.type;
    a.positions = step_.d_positions;
    a.token_seq = step_.d_token_seq;
    a.block_tables = step_.d_block_tables;
    a.max_blocks_per_seq = step_.max_blocks_per_seq;
    a.block_size = kvc.block_size;
    a.n_tokens = n_tokens;
    a.n_heads = params.n_heads;
    a.n_kv_heads = params.n_kv_heads;
    a.head_dim = params.head_dim;
    a.scale = params.scale;

    const AttentionKernelChoice choice = debug_.force_decode_attention    ? AttentionKernelChoice::force_decode
                                         : debug_.force_prefill_attention ? AttentionKernelChoice::force_prefill
                                                                          : AttentionKernelChoice::automatic;
    const AttentionPlan plan =
        plan_attention(n_tokens, params.n_kv_heads, params.head_dim, step_.max_query_len, plan_context(),
                       info_.multiprocessors, choice, debug_.attention_split_len);
    if (plan.prefill) {
        auto pa = zeroed_args<AttentionPrefillArgs>();
        pa.attn = a;
        pa.tiles = step_.d_tiles;
        pa.n_tiles = static_cast<int32_t>(step_.tiles.size());
        enqueue(launch_attention_prefill, pa, "attention");
        return;
    }
    auto da = zeroed_args<AttentionDecodeArgs>();
    da.attn = a;
    da.split_len = plan.split_len;
    da.n_splits = plan.n_splits;
    if (da.n_splits > 1) {
        const size_t bytes = static_cast<size_t>(n_tokens) * params.n_heads * da.n_splits *
                             (static_cast<size_t>(params.head_dim) + 2) * sizeof(float);
        da.partials = static_cast<float*>(workspace(bytes, "attention"));
        if (!da.partials) return;
    }
    enqueue(launch_attention_decode, da, "attention");
}

}  // namespace pagoda::cuda
