// Model hyperparameters read from a GGUF file's '<arch>.*' metadata, validated so the
// rest of the engine can trust them: every size positive and in int32 range, heads
// divisible, rope settings something the backends implement.
#pragma once

#include <cstdint>
#include <string>

#include "pagoda/status.h"

namespace pagoda {

class GgufFile;

// The decoder-only transformer families the forward pass implements.
enum class Architecture {
    llama,  // Llama 1/2/3, Mistral: normal rope (Q/K already permuted by the converter)
    qwen2,  // q/k/v biases, NeoX rope
    qwen3,  // per-head RMSNorm on q and k before rope, NeoX rope, no biases
};

const char* architecture_name(Architecture arch);
// "llama, qwen2, qwen3", for errors and `pagoda info`.
const char* supported_architectures();

struct ModelConfig {
    Architecture arch = Architecture::llama;
    std::string arch_name;  // general.architecture as written in the file

    int32_t n_vocab = 0;      // rows of token_embd.weight
    int32_t n_ctx_train = 0;  // <arch>.context_length
    int32_t n_embd = 0;       // <arch>.embedding_length
    int32_t n_layers = 0;     // <arch>.block_count
    int32_t n_ff = 0;         // <arch>.feed_forward_length
    int32_t n_heads = 0;      // <arch>.attention.head_count
    int32_t n_kv_heads = 0;   // <arch>.attention.head_count_kv (default n_heads)
    int32_t head_dim = 0;     // <arch>.attention.key_length (== value_length), default n_embd / n_heads
    int32_t n_rot = 0;        // <arch>.rope.dimension_count, default head_dim
    float rms_eps = 1e-5f;    // <arch>.attention.layer_norm_rms_epsilon
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;   // 1 / <arch>.rope.scaling.factor
    std::string rope_scaling_type;  // "none", "linear" (or "" when absent)

    // Derived from the architecture.
    bool rope_neox = false;
    bool has_qkv_bias = false;
    bool has_qk_norm = false;

    int64_t q_dim() const { return int64_t{n_heads} * head_dim; }      // width of Q and attention output
    int64_t kv_dim() const { return int64_t{n_kv_heads} * head_dim; }  // width of K and V
};

// Reads and validates the hyperparameters. n_vocab comes from token_embd.weight's dims
// (the tensor must exist). Unknown architectures give ErrorCode::unsupported naming
// the supported ones; missing or nonsensical values give invalid_format naming the key.
Result<ModelConfig> parse_model_config(const GgufFile& gguf);

}  // namespace pagoda
