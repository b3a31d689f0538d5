#include "lora/lora_loader_common.h"

#include <algorithm>
#include <cmath>

#include "model/gguf_parse_cursor.h"

namespace pagoda::lora_loader {

bool take_layer_index(std::string_view& m, int32_t& layer) {
    const size_t dot = m.find('.');
    if (dot == std::string_view::npos) return false;
    const std::string_view text = m.substr(0, dot);
    if (text.empty() || text.size() > 4 || (text.size() > 1 && text[0] == '0')) return false;
    int32_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    if (v > kMaxLayerIndex) return false;
    layer = v;
    m.remove_prefix(dot + 1);
    return true;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string quoted(std::string_view text) {
    std::string q(1, '\'');  // appended: GCC 12 warns falsely on "'" + string&&
    q += gguf_parse::printable(text);
    q += '\'';
    return q;
}

namespace {

double module_scale(double alpha, int32_t rank, bool rslora) {
    return alpha / (rslora ? std::sqrt(static_cast<double>(rank)) : static_cast<double>(rank));
}

std::string module_label(const ModuleKey& key) {
    return "layer " + std::to_string(key.first) + " " + lora_target_peft_name(key.second);
}

}  // namespace

Result<LoraAdapter> assemble_adapter(const std::string& file, ModuleMap& modules, float adapter_alpha, bool rslora,
                                     int32_t expected_rank) {
    if (modules.empty()) return invalid_format(file + ": holds no LoRA A/B tensors");
    int32_t max_rank = 0;
    int32_t max_layer = 0;
    for (const auto& [key, m] : modules) {
        const std::string label = file + ": " + module_label(key);
        if (m.a_name.empty()) return invalid_format(label + " has lora_B '" + m.b_name + "' but no lora_A");
        if (m.b_name.empty()) return invalid_format(label + " has lora_A '" + m.a_name + "' but no lora_B");
        if (m.a_shape.size() != 2) {
            return invalid_format(label + " lora_A '" + m.a_name + "' has shape " + shape_string(m.a_shape) +
                                  ", not 2-D [rank, in_features]");
        }
        if (m.b_shape.size() != 2) {
            return invalid_format(label + " lora_B '" + m.b_name + "' has shape " + shape_string(m.b_shape) +
                                  ", not 2-D [out_features, rank]");
        }
        const int64_t rank_a = m.a_shape[0], rank_b = m.b_shape[1];
        if (rank_a != rank_b) {
            return invalid_format(label + ": lora_A '" + m.a_name + "' " + shape_string(m.a_shape) + " has rank " +
                                  std::to_string(rank_a) + " but lora_B '" + m.b_name + "' " + shape_string(m.b_shape) +
                                  " has rank " + std::to_string(rank_b));
        }
        if (expected_rank > 0 && rank_a != expected_rank) {
            return invalid_format(label + ": lora_A '" + m.a_name + "' has rank " + std::to_string(rank_a) +
                                  " but the adapter's config says r = " + std::to_string(expected_rank));
        }
        if (rank_a <= 0 || m.a_shape[1] <= 0 || m.b_shape[0] <= 0 || m.a_shape[1] > INT32_MAX ||
            m.b_shape[0] > INT32_MAX || rank_a > INT32_MAX) {
            return invalid_format(label + ": lora_A " + shape_string(m.a_shape) + " / lora_B " +
                                  shape_string(m.b_shape) + " has an empty or out-of-range dimension");
        }
        max_rank = std::max(max_rank, static_cast<int32_t>(rank_a));
        max_layer = std::max(max_layer, key.first);
    }

    LoraAdapter out;
    out.rank = max_rank;
    out.alpha = adapter_alpha;
    out.scale = static_cast<float>(module_scale(adapter_alpha, max_rank, rslora));
    if (!std::isfinite(out.alpha) || !std::isfinite(out.scale)) {
        return invalid_format(file + ": lora alpha " + std::to_string(adapter_alpha) + " gives no finite scale");
    }
    out.layers.resize(static_cast<size_t>(max_layer) + 1);
    for (auto& [key, m] : modules) {
        LoraPair p;
        p.rank = static_cast<int32_t>(m.a_shape[0]);
        p.in_features = static_cast<int32_t>(m.a_shape[1]);
        p.out_features = static_cast<int32_t>(m.b_shape[0]);
        p.a = std::move(m.a);
        p.b = std::move(m.b);
        const double own = module_scale(m.alpha, p.rank, rslora);
        if (static_cast<float>(own) != out.scale) {
            // One scale per adapter: fold this module's difference into B.
            const float ratio = static_cast<float>(own / out.scale);
            if (!std::isfinite(ratio)) {
                return invalid_format(file + ": " + module_label(key) + " alpha " + std::to_string(m.alpha) +
                                      " gives no finite scale");
            }
            for (float& v : p.b) v *= ratio;
        }
        out.layers[key.first][static_cast<int>(key.second)] = std::move(p);
    }
    return out;
}

}  // namespace pagoda::lora_loader
