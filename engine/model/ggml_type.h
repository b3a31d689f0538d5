// Block layout facts for each GgmlType: how many values a block holds and how many
// bytes it takes. Everything that sizes tensor data (GGUF reader/writer, backends)
// goes through here so a hostile file cannot make us mis-size a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "pagoda/types.h"

namespace pagoda {

struct GgmlTypeInfo {
    GgmlType type;
    const char* name;   // "q4_K", as llama.cpp prints it
    int64_t block_size;  // values per block (1 for plain floats)
    int64_t type_size;   // bytes per block
    bool runnable;       // Pagoda can dequantize / multiply it
};

// Info for a raw type number read from a file; nullopt for numbers GGML never used.
std::optional<GgmlTypeInfo> ggml_type_info(uint32_t raw_type);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
const char* ggml_type_name(GgmlType type);
// Parse "q4_k", "Q4_K", "f16", ... (case-insensitive); nullopt if unknown.
std::optional<GgmlType> ggml_type_from_name(const char* name);

// Bytes of one row of n values, or nullopt when n is not a multiple of the block size
// or the result would overflow.
std::optional<uint64_t> ggml_row_bytes(GgmlType type, int64_t n);

}  // namespace pagoda
