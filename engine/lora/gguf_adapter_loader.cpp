#include "lora/gguf_adapter_loader.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "lora/lora_loader_common.h"
#include "model/ggml_type.h"
#include "model/gguf_parse_cursor.h"  // gguf_parse::printable
#include "model/quant/quant.h"

namespace pagoda {

namespace {

using gguf_parse::printable;

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "blk.{L}.{name}.weight" -> (L, target)
std::optional<lora_loader::ModuleKey> parse_module(std::string_view m) {
    if (m.rfind("blk.", 0) != 0 || !ends_with(m, ".weight")) return std::nullopt;
    m.remove_prefix(4);
    m.remove_suffix(7);
    int32_t layer = 0;
    if (!lora_loader::take_layer_index(m, layer)) return std::nullopt;
    for (int t = 0; t < kLoraTargetCount; ++t) {
        if (m == lora_target_gguf_name(static_cast<LoraTarget>(t))) {
            return lora_loader::ModuleKey{layer, static_cast<LoraTarget>(t)};
        }
    }
    return std::nullopt;
}

Result<std::vector<float>> to_f32(const GgufFile& file, const GgufTensorInfo& t) {
    if (t.type != GgmlType::F32 && t.type != GgmlType::F16 && t.type != GgmlType::BF16 && t.type != GgmlType::Q8_0) {
        return unsupported(file.path() + ": tensor '" + printable(t.name) + "' is " + ggml_type_name(t.type) +
                           "; LoRA tensors must be F32, F16, BF16 or Q8_0");
    }
    // The reader checked n_bytes against the dims; rows are whole blocks.
    const int64_t n = t.n_elements();
    const int64_t row = t.dims[0];
    const auto row_bytes = ggml_row_bytes(t.type, row);
    if (n <= 0 || !row_bytes) return invalid_format(file.path() + ": tensor '" + printable(t.name) + "' bad size");
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t r = 0; r < n / row; ++r) {
        dequantize_row(t.type, t.data + r * *row_bytes, out.data() + r * row, row);
    }
    return out;
}

}  // namespace

Result<LoraAdapter> read_gguf_lora_adapter(const GgufFile& file) {
    const std::string& path = file.path();
    const std::string* type = file.get_string("general.type");
    if (type == nullptr) {
        if (file.find_tensor("token_embd.weight") != nullptr) {
            return invalid_format(path + ": holds token_embd.weight and no general.type: a model, not a LoRA adapter");
        }
        return invalid_format(path + ": no general.type; a LoRA adapter says \"adapter\"");
    }
    if (*type != "adapter") {
        return invalid_format(path + ": general.type is '" + printable(*type) + "', not 'adapter'" +
                              (*type == "model" ? " (a model, not a LoRA adapter)" : ""));
    }
    const std::string* adapter_type = file.get_string("adapter.type");
    if (adapter_type == nullptr || *adapter_type != "lora") {
        return unsupported(path + ": adapter.type is " +
                           (adapter_type ? lora_loader::quoted(*adapter_type) : std::string("missing")) +
                           "; only 'lora' adapters are supported");
    }
    const std::string* arch = file.get_string("general.architecture");
    if (arch == nullptr) return invalid_format(path + ": no general.architecture (the base model's architecture)");
    if (file.find("adapter.alora.invocation_tokens") != nullptr) {
        return unsupported(path + ": an activated LoRA (adapter.alora.invocation_tokens) is not supported");
    }
    float alpha = 0.0f;
    if (const GgufValue* a = file.find("adapter.lora.alpha")) {
        const auto v = a->as_float();
        if (!v || !std::isfinite(*v) || a->type == GgufValueType::BOOL) {
            return invalid_format(path + ": adapter.lora.alpha is not a finite number");
        }
        alpha = static_cast<float>(*v);
    }

    lora_loader::ModuleMap modules;
    for (const GgufTensorInfo& t : file.tensors()) {
        const std::string tname = "tensor '" + printable(t.name) + "'";
        std::string_view n = t.name;
        const bool is_a = ends_with(n, ".lora_a");
        if (!is_a && !ends_with(n, ".lora_b")) {
            return unsupported(path + ": " + tname +
                               " is not a LoRA A/B tensor (adapters that replace weights, such as the norms "
                               "mergekit adds, are not supported)");
        }
        n.remove_suffix(7);
        const auto key = parse_module(n);
        if (!key) {
            return unsupported(path + ": " + tname + " adapts '" + printable(n) +
                               "'; Pagoda applies LoRA to the blocks' attn_q/k/v/output and ffn_gate/up/down only");
        }
        lora_loader::ModuleTensors& m = modules[*key];
        (is_a ? m.a_name : m.b_name) = t.name;
        // GGML dims are innermost-first; our shapes are row-major: {in, rank} -> [rank, in].
        std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());
        auto values = to_f32(file, t);
        if (!values) return values.status();
        (is_a ? m.a_shape : m.b_shape) = std::move(shape);
        (is_a ? m.a : m.b) = std::move(values).value();
    }
    // llama.cpp: scale = alpha / rank per module, or 1 when alpha is 0.
    int32_t max_rank = 0;
    for (auto& [key, m] : modules) {
        const int64_t r = m.a_shape.size() == 2 ? m.a_shape[0] : 0;
        if (r > 0 && r <= INT32_MAX) max_rank = std::max(max_rank, static_cast<int32_t>(r));
        m.alpha = alpha != 0.0f ? alpha : static_cast<float>(r);
    }
    const float adapter_alpha = alpha != 0.0f ? alpha : static_cast<float>(max_rank);
    auto adapter = lora_loader::assemble_adapter(path, modules, adapter_alpha, /*rslora=*/false, 0);
    if (!adapter) return adapter.status();
    adapter->architecture = *arch;
    adapter->source_path = path;
    return adapter;
}

Result<LoraAdapter> load_gguf_lora_adapter(const std::string& path) {
    auto file = GgufFile::open(path);
    if (!file) return file.status();
    return read_gguf_lora_adapter(*file.value());
}

}  // namespace pagoda
