#include "size_option.h"

#include <cstdlib>

#include "pagoda/engine.h"

namespace pagoda::cli {

bool parse_size(const std::string& text, int64_t& bytes) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || !(v > 0)) return false;
    const std::string suffix(end);
    double mult = 1;
    if (suffix == "K" || suffix == "k" || suffix == "KiB") {
        mult = 1024.0;
    } else if (suffix == "M" || suffix == "MiB") {
        mult = 1024.0 * 1024;
    } else if (suffix == "G" || suffix == "GiB") {
        mult = 1024.0 * 1024 * 1024;
    } else if (!suffix.empty()) {
        return false;
    }
    if (v * mult > 9.0e18) return false;
    bytes = static_cast<int64_t>(v * mult);
    return true;
}

bool parse_kv_memory(const std::string& text, KvMemory& out) {
    out = {};
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    // A bare number no larger than 1 cannot be a useful byte count: it is a fraction.
    if (end != text.c_str() && *end == '\0' && v > 0 && v <= 1.0) {
        out.fraction = v;
        return true;
    }
    return parse_size(text, out.bytes);
}

void apply_kv_memory(const KvMemory& kv, EngineConfig& config) {
    config.kv_memory_bytes = kv.bytes;
    config.kv_memory_fraction = kv.fraction;
}

}  // namespace pagoda::cli
