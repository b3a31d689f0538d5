// Reads a GGUF LoRA adapter as llama.cpp's convert_lora_to_gguf.py writes it:
//   general.type = "adapter", adapter.type = "lora", general.architecture = the base's,
//   adapter.lora.alpha (float; absent or 0 means scale 1 for every module, as in llama.cpp)
//   tensors blk.{L}.{attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down}.weight.lora_a
//           with GGUF dims {in_features, rank}  (= A [rank, in] row-major)
//       and ...weight.lora_b with dims {rank, out_features}  (= B [out, rank])
//   in F32, F16, BF16 or Q8_0 (the converter's output types).
// llama.cpp scales each module by alpha / its own rank; where ranks differ the ratio to the
// adapter's scale is folded into B (see lora_loader_common.h).
//
// Refused: other general.type / adapter.type values, aLoRA (adapter.alora.invocation_tokens),
// LoRA on token_embd / output, and extra tensors (e.g. the norm weights mergekit adds).
// The values are in the layout of the GGUF base model (already permuted by the converter).
#pragma once

#include <string>

#include "lora/lora_adapter.h"
#include "model/gguf_file.h"
#include "pagoda/status.h"

namespace pagoda {

Result<LoraAdapter> load_gguf_lora_adapter(const std::string& path);
Result<LoraAdapter> read_gguf_lora_adapter(const GgufFile& file);

}  // namespace pagoda
