// Reads a Hugging Face PEFT LoRA adapter: adapter_config.json + adapter_model.safetensors.
//
// Supported: peft_type LORA; r, lora_alpha, use_rslora; target_modules as a list (checked
// against the tensors) or a string (a regex, or "all-linear": not evaluated, the tensors
// decide what is adapted, since running an untrusted regex could take exponential time);
// rank_pattern (each module's rank is read from its tensors) and alpha_pattern (keys
// matched as plain module names: "q_proj" or a full "model.layers.3.self_attn.q_proj");
// layers_to_transform (only the named layers have tensors); fan_in_fan_out (accepted: in
// PEFT it only transposes the merged delta for Conv1D bases, lora_A / lora_B are always
// stored as nn.Linear weights [r, in] / [out, r], so nothing changes for Llama/Qwen).
//
// Refused with ErrorCode::unsupported and the reason: DoRA (use_dora, magnitude vectors),
// trained biases (bias != "none", lora_bias), modules_to_save (full replacement weights,
// e.g. resized embeddings), embedding LoRA (lora_embedding_A/B), trainable_token_indices,
// aLoRA (alora_invocation_tokens), target_parameters, layer_replication, other PEFT types,
// PyTorch pickles (adapter_model.bin), and LoRA on modules other than the decoder layers'
// q/k/v/o/gate/up/down projections (lm_head, embeddings, ...).
//
// Tensor names: base_model.model.model.layers.{L}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight
// and ...layers.{L}.mlp.{gate,up,down}_proj.lora_{A,B}.weight (the inner "model." is optional).
// dtypes F32 / F16 / BF16.
//
// The result is in Hugging Face layout (no Q/K permutation), has no architecture (the
// config does not name one) and layers sized to the highest layer it adapts;
// load_lora_adapter() aligns it with a base model.
#pragma once

#include <string>
#include <string_view>

#include "lora/lora_adapter.h"
#include "model/safetensors_file.h"
#include "pagoda/status.h"

namespace pagoda {

// `path`: a PEFT folder, or its adapter_model.safetensors (adapter_config.json beside it).
Result<LoraAdapter> load_peft_adapter(const std::string& path);

// The same from memory. `config_name` names the config in errors.
Result<LoraAdapter> parse_peft_adapter(std::string_view config_json, const SafetensorsFile& weights,
                                       const std::string& config_name = "adapter_config.json");

}  // namespace pagoda
