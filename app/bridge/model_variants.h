// Quantized variants of one model: "Llama-3.2-1B-Instruct-Q4_K_M.gguf" and
// "Llama-3.2-1B-Instruct-Q8_0.gguf" are one model in two quantizations. The library groups
// them by the file name without its quantization suffix, and the architecture.
#pragma once

#include <QString>

#include "store/store_types.h"

namespace pagoda::bridge {

// The file's base name without ".gguf" and without a trailing quantization tag ("Q4_K_M",
// "IQ3_XXS", "Q8_0", "F16", "BF16", "fp16", ...; separated by '-', '.' or '_').
QString variantBaseName(const QString& path);

// Two models with the same key are variants of each other.
QString variantGroupKey(const store::Model& model);

// Orders quantizations from the largest (F32) to the smallest, for listing a group.
int quantizationRank(const QString& quantization);

}  // namespace pagoda::bridge
