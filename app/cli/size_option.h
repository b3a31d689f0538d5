// Sizes given on the command line: "512M", "2G", "1048576" (bytes), and the KV cache
// budget, which is either such a size or a fraction of the free GPU memory ("0.9").
#pragma once

#include <cstdint>
#include <string>

namespace pagoda {
struct EngineConfig;
}

namespace pagoda::cli {

// "512M", "2G", "1.5GiB", "1048576": bytes (> 0).
bool parse_size(const std::string& text, int64_t& bytes);

struct KvMemory {
    int64_t bytes = 0;      // a budget in bytes, or
    double fraction = 0.0;  // a fraction (0, 1] of the device memory free after the weights
};
// "2G" -> bytes; "0.9" (a plain number up to 1) -> fraction.
bool parse_kv_memory(const std::string& text, KvMemory& out);
void apply_kv_memory(const KvMemory& kv, EngineConfig& config);

inline constexpr const char* kKvMemoryHelp =
    "KV cache budget: a size (512M, 2G) or, on a GPU, a fraction of the memory free after the weights (0.9)";

}  // namespace pagoda::cli
