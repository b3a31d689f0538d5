// Folds one LoRA adapter into a base model's weights, W' = W + scale · B·A, so a server
// that only ever needs that adapter runs it at the base model's speed (no lora_add in any
// step), and so a merged model can be exported.
//
// The result is a GGUF image: the base file's metadata and tensors, with each adapted
// projection merged (general.name gets "+<adapter name>"). Load it with GgufFile::parse +
// Model::load, or write it out with GgufWriter::write.
//
// Only F32 and F16 projections are merged: rounding a small delta into 4-8 bit blocks
// loses much of it, so quantized modules are refused with a message naming the tensor.
#pragma once

#include "lora/lora_adapter.h"
#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "pagoda/status.h"

namespace pagoda {

// scale multiplies the adapter's own (alpha / rank), as AdapterRef::scale does. The adapter
// must be in the base GGUF's layout (what load_lora_adapter returns for that model).
Status merge_lora_into_gguf(const GgufFile& base, const LoraAdapter& adapter, float scale, GgufWriter& out);

}  // namespace pagoda
