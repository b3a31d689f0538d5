// What the model library shows about a GGUF file, read from its metadata and tensor table
// only (the weights are mapped, never read), so scanning a folder of large models is fast.
#pragma once

#include <cstdint>
#include <string>

#include "pagoda/status.h"
#include "store/store_types.h"

namespace pagoda {
class GgufFile;
}

namespace pagoda::bridge {

struct GgufSummary {
    store::NewModel model;  // path, display name, architecture, parameters, quantization, ...
    // KV cache bytes per token of context at F16 (0 when the architecture's sizes are
    // unknown), for the memory estimate shown before loading.
    int64_t kvBytesPerToken = 0;
    int64_t tensorBytes = 0;  // weights as stored
    bool runnable = false;    // an architecture and tensor set Pagoda can run
    std::string problem;      // why not, when !runnable
};

// Opens and validates `path` (untrusted) and summarizes it.
Result<GgufSummary> summarizeGguf(const std::string& path);
GgufSummary summarizeGguf(const GgufFile& gguf);

// llama.cpp's name for general.file_type ("Q4_K_M", "F16", ...), or "" when unknown.
std::string fileTypeName(int64_t fileType);

// The KV cache the desktop allocates for a context of `contextTokens`: one full context and a
// quarter more, so a reply can fill the context while the prefix cache keeps some history.
int64_t desktopKvCacheBytes(int64_t kvBytesPerToken, int64_t contextTokens);

// Bytes the model needs once loaded with a `contextTokens` context: weights plus KV cache.
int64_t estimateMemoryBytes(const GgufSummary& summary, int64_t contextTokens);

}  // namespace pagoda::bridge
