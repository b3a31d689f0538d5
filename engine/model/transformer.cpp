#include "model/transformer.h"

#include <cmath>
#include <string>

#include "lora/lora_step_plan.h"

namespace pagoda {

Transformer::Transformer(const ModelConfig& config, const ModelWeights& weights, Backend& backend)
    : config_(config), weights_(weights), backend_(backend) {}

KvCacheConfig Transformer::kv_cache_config(int32_t n_blocks, GgmlType type, int32_t block_size) const {
    KvCacheConfig kv;
    kv.n_layers = config_.n_layers;
    kv.n_kv_heads = config_.n_kv_heads;
    kv.head_dim = config_.head_dim;
    kv.block_size = block_size;
    kv.n_blocks = n_blocks;
    kv.type = type;
    return kv;
}

Status Transformer::init_kv_cache(const KvCacheConfig& kv) {
    if (kv.n_layers != config_.n_layers || kv.n_kv_heads != config_.n_kv_heads || kv.head_dim != config_.head_dim)
        return invalid_argument("KV cache geometry does not match the model");
    if (kv.block_size <= 0 || kv.n_blocks <= 0)
        return invalid_argument("KV cache needs a positive block size and count");
    kv_ready_ = false;
    PAGODA_RETURN_IF_ERROR(backend_.init_kv_cache(kv));
    kv_ = kv;
    kv_ready_ = true;
    return Status::ok();
}

Status Transformer::check_inputs(const StepInputs& in) const {
    const int64_t n_tokens = in.n_tokens();
    const int64_t n_seqs = in.n_seqs();
    if (n_tokens <= 0) return invalid_argument("step has no tokens");
    if (n_seqs <= 0) return invalid_argument("step has no sequences");
    if (static_cast<int64_t>(in.positions.size()) != n_tokens ||
        static_cast<int64_t>(in.slot_mapping.size()) != n_tokens)
        return invalid_argument("step: positions and slot_mapping must have one entry per token");
    if (static_cast<int64_t>(in.query_start.size()) != n_seqs + 1 || in.query_start.front() != 0 ||
        in.query_start.back() != n_tokens)
        return invalid_argument("step: query_start must run from 0 to n_tokens over n_seqs + 1 entries");
    if (in.max_blocks_per_seq <= 0 ||
        static_cast<int64_t>(in.block_tables.size()) != n_seqs * int64_t{in.max_blocks_per_seq})
        return invalid_argument("step: block_tables must be [n_seqs, max_blocks_per_seq]");
    for (TokenId t : in.tokens) {
        if (t < 0 || t >= config_.n_vocab)
            return invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                                    std::to_string(config_.n_vocab - 1) + ")");
    }
    if (static_cast<int64_t>(in.logit_rows.size()) > n_tokens)
        return invalid_argument("step: more logit rows than tokens");
    for (int32_t r : in.logit_rows) {
        if (r < 0 || r >= n_tokens) return invalid_argument("step: logit row " + std::to_string(r) + " out of range");
    }
    if (!kv_ready_) return invalid_argument("KV cache not initialised");
    const int64_t n_slots = int64_t{kv_.n_blocks} * kv_.block_size;
    const int64_t seq_capacity = int64_t{in.max_blocks_per_seq} * kv_.block_size;
    for (int32_t b : in.block_tables) {
        if (b < 0 || b >= kv_.n_blocks)
            return invalid_argument("step: block id " + std::to_string(b) + " out of range");
    }
    for (int64_t s = 0; s < n_seqs; ++s) {
        const int32_t begin = in.query_start[s], end = in.query_start[s + 1];
        const int32_t ctx = in.context_lens[s];
        if (begin > end) return invalid_argument("step: query_start is not ascending");
        if (ctx <= 0 || ctx > seq_capacity)
            return invalid_argument("step: context length " + std::to_string(ctx) + " does not fit the block table");
        for (int32_t i = begin; i < end; ++i) {
            if (in.positions[i] < 0 || in.positions[i] >= ctx)
                return invalid_argument("step: position " + std::to_string(in.positions[i]) +
                                        " outside its sequence's context");
            if (in.slot_mapping[i] < 0 || in.slot_mapping[i] >= n_slots)
                return invalid_argument("step: KV slot " + std::to_string(in.slot_mapping[i]) + " out of range");
        }
    }
    return Status::ok();
}

Status Transformer::forward(const StepInputs& inputs, std::vector<float>& logits, const LoraStepPlan* lora) {
    Result<Tensor> out = forward_device(inputs, lora);
    if (!out) return out.status();
    logits.resize(static_cast<size_t>(out->n_elements()));
    if (out->rows == 0) return Status::ok();
    return backend_.read(*out, logits.data());
}

Result<Tensor> Transformer::forward_device(const StepInputs& inputs, const LoraStepPlan* lora) {
    PAGODA_RETURN_IF_ERROR(check_inputs(inputs));
    if (lora && lora->empty()) lora = nullptr;
    if (lora && !backend_.supports_lora())
        return unsupported("the " + backend_.name() + " backend cannot apply LoRA adapters");
    if (lora && lora->n_layers() != config_.n_layers)
        return invalid_argument("the LoRA plan is for " + std::to_string(lora->n_layers()) + " layers, the model has " +
                                std::to_string(config_.n_layers));
    backend_.reset_scratch();
    PAGODA_RETURN_IF_ERROR(backend_.begin_step(inputs));
    Tensor logits;
    const Status run = run_layers(inputs, lora, logits);
    const Status ended = backend_.end_step();  // always close the step, even after a failed allocation
    PAGODA_RETURN_IF_ERROR(run);
    PAGODA_RETURN_IF_ERROR(ended);
    return logits;
}

Status Transformer::run_layers(const StepInputs& inputs, const LoraStepPlan* lora, Tensor& logits) {
    const ModelConfig& c = config_;
    const int64_t n_tokens = inputs.n_tokens();
    const int64_t n_out = static_cast<int64_t>(inputs.logit_rows.size());

    Status alloc_status;
    auto alloc = [&](int64_t rows, int64_t cols) -> Tensor {
        if (!alloc_status.is_ok()) return {};
        Result<Tensor> t = backend_.alloc_activations(rows, cols);
        if (!t) {
            alloc_status = t.status();
            return {};
        }
        return t.value();
    };
    // Scratch for the whole step, reused by every layer.
    Tensor x = alloc(n_tokens, c.n_embd);      // [n_tokens, n_embd] residual stream
    Tensor h = alloc(n_tokens, c.n_embd);      // [n_tokens, n_embd] normed input of a block
    Tensor q = alloc(n_tokens, c.q_dim());     // [n_tokens, n_heads * head_dim]
    Tensor k = alloc(n_tokens, c.kv_dim());    // [n_tokens, n_kv_heads * head_dim]
    Tensor v = alloc(n_tokens, c.kv_dim());    // [n_tokens, n_kv_heads * head_dim]
    Tensor attn = alloc(n_tokens, c.q_dim());  // [n_tokens, n_heads * head_dim]
    Tensor proj = alloc(n_tokens, c.n_embd);   // [n_tokens, n_embd] block output before the residual add
    Tensor gate = alloc(n_tokens, c.n_ff);     // [n_tokens, n_ff]
    Tensor up = alloc(n_tokens, c.n_ff);       // [n_tokens, n_ff]
    Tensor act = alloc(n_tokens, c.n_ff);      // [n_tokens, n_ff] silu(gate) * up
    Tensor q_normed, k_normed;
    if (c.has_qk_norm) {
        q_normed = alloc(n_tokens, c.q_dim());
        k_normed = alloc(n_tokens, c.kv_dim());
    }
    // The last layer's rows that produce logits, unless they are all rows in order.
    bool all_rows = n_out == n_tokens;
    for (int64_t j = 0; all_rows && j < n_out; ++j) all_rows = inputs.logit_rows[j] == j;
    Tensor x_out, attn_out;
    if (n_out > 0 && !all_rows) {
        x_out = alloc(n_out, c.n_embd);
        attn_out = alloc(n_out, c.q_dim());
    }
    PAGODA_RETURN_IF_ERROR(alloc_status);

    RopeParams rope;
    rope.head_dim = c.head_dim;
    rope.n_rot = c.n_rot;
    rope.freq_base = c.rope_freq_base;
    rope.freq_scale = c.rope_freq_scale;
    rope.neox = c.rope_neox;
    rope.freq_factors = weights_.rope_freqs ? &*weights_.rope_freqs : nullptr;

    AttentionParams ap;
    ap.n_heads = c.n_heads;
    ap.n_kv_heads = c.n_kv_heads;
    ap.head_dim = c.head_dim;
    ap.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

    Backend& b = backend_;
    // out += the step's adapters for (layer, target); `gathered`: the rows are the logit rows.
    auto lora_add = [&](int32_t layer, LoraTarget target, bool gathered, const Tensor& in, Tensor& out) {
        if (!lora) return;
        const auto segments = gathered ? lora->gathered_segments(target) : lora->segments(layer, target);
        if (!segments.empty()) b.lora_add(in, segments, out);
    };
    b.embed(weights_.token_embd, x);

    for (int32_t il = 0; il < c.n_layers; ++il) {
        const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
        const bool last = il == c.n_layers - 1;

        b.rms_norm(x, L.attn_norm, c.rms_eps, h);
        b.matmul(L.wq, h, q);
        b.matmul(L.wk, h, k);
        b.matmul(L.wv, h, v);
        lora_add(il, LoraTarget::q, false, h, q);
        lora_add(il, LoraTarget::k, false, h, k);
        lora_add(il, LoraTarget::v, false, h, v);
        if (L.bq) b.add_bias(q, *L.bq);
        if (L.bk) b.add_bias(k, *L.bk);
        if (L.bv) b.add_bias(v, *L.bv);

        Tensor* qr = &q;
        Tensor* kr = &k;
        if (c.has_qk_norm) {
            // Each head normalised on its own: view [n_tokens * heads, head_dim].
            Tensor qn = q_normed.reshaped(n_tokens * c.n_heads, c.head_dim);
            Tensor kn = k_normed.reshaped(n_tokens * c.n_kv_heads, c.head_dim);
            b.rms_norm(q.reshaped(n_tokens * c.n_heads, c.head_dim), *L.q_norm, c.rms_eps, qn);
            b.rms_norm(k.reshaped(n_tokens * c.n_kv_heads, c.head_dim), *L.k_norm, c.rms_eps, kn);
            qr = &q_normed;
            kr = &k_normed;
        }
        b.rope(*qr, c.n_heads, rope);
        b.rope(*kr, c.n_kv_heads, rope);
        b.kv_write(il, *kr, v);
        if (last && n_out == 0) break;  // K/V of the prompt are stored; nothing else is wanted
        b.attention(il, *qr, attn, ap);

        // From here on every op is row-wise: the last layer only needs the logit rows.
        Tensor* xs = &x;
        Tensor* as = &attn;
        int64_t rows = n_tokens;
        const bool gathered = last && !all_rows;
        if (gathered) {
            b.gather_logit_rows(x, x_out);
            b.gather_logit_rows(attn, attn_out);
            xs = &x_out;
            as = &attn_out;
            rows = n_out;
        }
        Tensor proj_r = proj.row_slice(0, rows);
        Tensor h_r = h.row_slice(0, rows);
        Tensor gate_r = gate.row_slice(0, rows);
        Tensor up_r = up.row_slice(0, rows);
        Tensor act_r = act.row_slice(0, rows);

        b.matmul(L.wo, *as, proj_r);
        lora_add(il, LoraTarget::o, gathered, *as, proj_r);
        if (L.bo) b.add_bias(proj_r, *L.bo);
        b.add(*xs, proj_r);

        b.rms_norm(*xs, L.ffn_norm, c.rms_eps, h_r);
        b.matmul(L.ffn_gate, h_r, gate_r);
        b.matmul(L.ffn_up, h_r, up_r);
        lora_add(il, LoraTarget::gate, gathered, h_r, gate_r);
        lora_add(il, LoraTarget::up, gathered, h_r, up_r);
        b.silu_mul(gate_r, up_r, act_r);
        b.matmul(L.ffn_down, act_r, proj_r);
        lora_add(il, LoraTarget::down, gathered, act_r, proj_r);
        b.add(*xs, proj_r);

        if (last) {
            // xs now holds exactly the logit rows, in logit_rows order.
            Tensor normed = alloc(n_out, c.n_embd);
            logits = alloc(n_out, c.n_vocab);
            PAGODA_RETURN_IF_ERROR(alloc_status);
            b.rms_norm(*xs, weights_.output_norm, c.rms_eps, normed);
            b.matmul(weights_.output, normed, logits);
        }
    }
    if (n_out == 0) logits = Tensor{nullptr, GgmlType::F32, 0, c.n_vocab};
    return Status::ok();
}

}  // namespace pagoda
