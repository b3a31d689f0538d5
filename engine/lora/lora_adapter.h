// A LoRA adapter in host memory: the boundary between the adapter file readers (PEFT
// safetensors + adapter_config.json, GGUF LoRA) and the code that applies adapters
// (backend ops, the adapter registry, the engine).
//
// For a target module with weight W [out_features, in_features] (Backend::matmul's
// layout), the adapter adds   y += scale * (x · Aᵀ) · Bᵀ   with
//   A: [rank, in_features]   (PEFT lora_A.weight; GGUF *.lora_a, dims {in, rank})
//   B: [out_features, rank]  (PEFT lora_B.weight; GGUF *.lora_b, dims {rank, out})
// and scale = alpha / rank (alpha / sqrt(rank) with use_rslora), times the per-request
// scale the caller chooses.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagoda {

// The projections an adapter may target, in the transformer's order.
enum class LoraTarget : int32_t { q = 0, k, v, o, gate, up, down };
inline constexpr int32_t kLoraTargetCount = 7;
// "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
const char* lora_target_peft_name(LoraTarget target);
// "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"
const char* lora_target_gguf_name(LoraTarget target);

struct LoraPair {
    int32_t rank = 0;
    int32_t in_features = 0;
    int32_t out_features = 0;
    std::vector<float> a;  // [rank, in_features] row-major
    std::vector<float> b;  // [out_features, rank] row-major
};

struct LoraAdapter {
    std::string name;          // registry name (file stem unless the caller names it)
    std::string source_path;   // file or PEFT folder it came from
    std::string architecture;  // base model architecture it was made for ("llama", "qwen2", ...)
    int32_t rank = 0;          // largest rank over its modules
    float alpha = 0.0f;
    float scale = 1.0f;  // alpha / rank, or alpha / sqrt(rank) for rsLoRA
    // layers[l][target] is set when the adapter changes that module of layer l.
    std::vector<std::array<std::optional<LoraPair>, kLoraTargetCount>> layers;

    // Host bytes held by A and B of all modules.
    uint64_t bytes() const;
};

}  // namespace pagoda
