// Loads a LoRA adapter file for a given base model: picks the reader by what `path` is,
// then checks every module against the base model's shapes, so the code that applies
// adapters can trust what it gets.
//
//   a folder, or a .safetensors file with adapter_config.json beside it -> PEFT
//   a .gguf file                                                        -> GGUF LoRA (llama.cpp)
//
// What the returned adapter promises (beyond lora_adapter.h):
//   - layers.size() == base.n_layers; at least one module is set.
//   - each set pair has 1 <= rank <= kMaxLoraRank, A [rank, in], B [out, rank] with the
//     base model's in/out features for that module, and only finite values.
//   - all values are in the base GGUF's layout: for llama-architecture models, the rows of
//     B for q_proj / k_proj of a PEFT adapter are permuted the way llama.cpp's converter
//     permutes the Q/K weights, so the delta lines up with the model's rope layout.
//   - `scale` is the scale for the largest rank; modules whose own scale differs (PEFT
//     rank_pattern / alpha_pattern, GGUF files with mixed ranks) have the ratio folded
//     into B, so one scale is right for every module.
//   - architecture is the GGUF file's general.architecture, or the base model's for PEFT
//     (adapter_config.json does not say it).
#pragma once

#include <string>
#include <utility>

#include "lora/lora_adapter.h"
#include "model/model_config.h"
#include "pagoda/status.h"

namespace pagoda {

// Larger ranks exist in papers but not in adapters anyone serves; a bigger one is more
// likely a corrupt or transposed tensor than a real adapter.
inline constexpr int32_t kMaxLoraRank = 1024;

// `name` defaults to the file stem (folder name for PEFT folders). Errors start with
// "adapter NAME: " and say which tensor or setting is wrong and why.
Result<LoraAdapter> load_lora_adapter(const std::string& path, const ModelConfig& base, const std::string& name = "");

// In and out features of a target's weight in the base model (A is [rank, in], B [out, rank]).
std::pair<int64_t, int64_t> lora_target_in_out(LoraTarget target, const ModelConfig& base);

// The base-model checks alone, for adapters built in memory (tests) or read by one of the
// format loaders directly. Resizes layers to base.n_layers. Does not permute.
Status validate_lora_adapter(LoraAdapter& adapter, const ModelConfig& base);

}  // namespace pagoda
