// Shared by the PEFT and GGUF LoRA readers: pairing each module's A and B, rank checks,
// and the scale bookkeeping, so both formats produce the same LoraAdapter for the same
// adapter. Internal to engine/lora.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lora/lora_adapter.h"
#include "pagoda/status.h"

namespace pagoda::lora_loader {

// Highest layer index a file may name. Real models have at most a few hundred layers;
// the bound keeps a hostile index from sizing LoraAdapter::layers.
inline constexpr int32_t kMaxLayerIndex = 4095;

// One module's tensors as the file gave them, already converted to fp32.
struct ModuleTensors {
    std::string a_name, b_name;             // tensor names in the file ("" = absent), for errors
    std::vector<int64_t> a_shape, b_shape;  // A [rank, in], B [out, rank], row-major
    std::vector<float> a, b;
    float alpha = 0.0f;  // this module's alpha (PEFT alpha_pattern can make it differ)
};
using ModuleKey = std::pair<int32_t, LoraTarget>;  // (layer, target)
using ModuleMap = std::map<ModuleKey, ModuleTensors>;

// "3.rest" -> layer 3, m = "rest": takes a layer index and its dot off the front of m.
// Refuses signs, leading zeros, non-digits and values above kMaxLayerIndex (m unchanged).
bool take_layer_index(std::string_view& m, int32_t& layer);

// Checks each module has both A and B, 2-D, with the same rank on both sides (and
// `expected_rank` when it is > 0), then builds the adapter:
//   rank  = the largest module rank
//   alpha = adapter_alpha
//   scale = alpha / rank  (alpha / sqrt(rank) with rslora)
// A module whose own scale (its alpha over its rank) differs has the ratio folded into B.
// `file` prefixes errors. Modules are moved out of `modules`.
Result<LoraAdapter> assemble_adapter(const std::string& file, ModuleMap& modules, float adapter_alpha, bool rslora,
                                     int32_t expected_rank);

std::string shape_string(const std::vector<int64_t>& shape);
// 'text' with control / non-ASCII bytes escaped (names from files go into messages).
std::string quoted(std::string_view text);

}  // namespace pagoda::lora_loader
