// The decoder-only transformer forward pass (llama / qwen2 / qwen3), written once
// against Backend. It follows llama.cpp's graph op for op so logits match:
//
//   x = embed(tokens)
//   per layer:  h = rms_norm(x) * attn_norm
//               q, k, v = h·Wq (+bq), h·Wk (+bk), h·Wv (+bv)
//               qwen3: q, k = per-head rms_norm(q) * q_norm, (k) * k_norm
//               rope(q), rope(k)   (normal for llama, NeoX for qwen2/qwen3)
//               kv_write(k, v); a = paged attention(q), scale 1/sqrt(head_dim)
//               x += a·Wo (+bo)
//               h = rms_norm(x) * ffn_norm;  x += (silu(h·Wgate) * h·Wup)·Wdown
//   logits = (rms_norm(x[logit_rows]) * output_norm)·Wout
//
// A step may hold several sequences (StepInputs); only the requested logit rows go
// through the last layer's projections, the FFN and the output matmul.
//
// LoRA: with a LoraStepPlan, each of q, k, v (before bias and rope), o, gate, up and down
// gets Backend::lora_add of its (layer, target) segments right after its matmul. Without
// one (or with an empty one) nothing else runs.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "pagoda/status.h"

namespace pagoda {

class LoraStepPlan;

class Transformer {
public:
    // config, weights and backend must outlive the Transformer.
    Transformer(const ModelConfig& config, const ModelWeights& weights, Backend& backend);

    const ModelConfig& config() const { return config_; }
    Backend& backend() { return backend_; }

    // The KV cache layout this model needs for n_blocks blocks.
    KvCacheConfig kv_cache_config(int32_t n_blocks, GgmlType type = GgmlType::F16, int32_t block_size = 16) const;
    // Allocates the backend's KV cache; forward() needs it first.
    Status init_kv_cache(const KvCacheConfig& kv);
    const KvCacheConfig& kv_config() const { return kv_; }

    // Checks a batch against the model and the KV cache: sizes agree, token ids in the
    // vocabulary, slots and block ids inside the cache, logit rows inside the batch.
    Status check_inputs(const StepInputs& inputs) const;

    // Runs one step. logits receives [inputs.logit_rows.size(), n_vocab] fp32 values,
    // row j for token inputs.logit_rows[j] (empty when no rows are requested).
    Status forward(const StepInputs& inputs, std::vector<float>& logits, const LoraStepPlan* lora = nullptr);

    // Same, leaving the logits in backend memory: a [logit_rows, n_vocab] scratch tensor
    // valid until the next step (rows == 0 when none are requested).
    Result<Tensor> forward_device(const StepInputs& inputs, const LoraStepPlan* lora = nullptr);

private:
    Status run_layers(const StepInputs& inputs, const LoraStepPlan* lora, Tensor& logits);

    const ModelConfig& config_;
    const ModelWeights& weights_;
    Backend& backend_;
    KvCacheConfig kv_;
    bool kv_ready_ = false;
};

}  // namespace pagoda
