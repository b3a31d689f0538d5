#include "lora/peft_adapter_loader.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "lora/lora_loader_common.h"
#include "model/gguf_parse_cursor.h"  // gguf_parse::printable

namespace pagoda {

namespace {

using gguf_parse::printable;
using Json = nlohmann::json;
using lora_loader::ModuleMap;
using lora_loader::ModuleTensors;

constexpr uint64_t kMaxConfigBytes = 1 << 20;

struct PeftConfig {
    int32_t r = 0;
    float alpha = 8.0f;  // PEFT's default lora_alpha
    bool rslora = false;
    bool has_rank_pattern = false;
    std::vector<std::string> target_list;  // empty: not a list (string or absent)
    bool targets_all = true;               // string / absent / "all-linear": tensors decide
    std::vector<std::pair<std::string, float>> alpha_pattern;
};

std::string json_type(const Json& v) { return v.type_name(); }

bool is_empty_or_null(const Json& v) {
    return v.is_null() || ((v.is_array() || v.is_object() || v.is_string()) && v.empty());
}

Result<PeftConfig> parse_config(std::string_view text, const std::string& name) {
    auto bad = [&](const std::string& m) { return invalid_format(name + ": " + m); };
    auto refuse = [&](const std::string& m) { return unsupported(name + ": " + m); };
    if (text.size() > kMaxConfigBytes) return bad("larger than " + std::to_string(kMaxConfigBytes) + " bytes");
    Json root;
    try {
        root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    } catch (const std::exception& e) {
        return bad(std::string("cannot parse: ") + e.what());
    }
    if (root.is_discarded()) return bad("not valid JSON");
    if (!root.is_object()) return bad("not a JSON object");

    PeftConfig c;
    if (auto it = root.find("peft_type"); it != root.end() && !it->is_null()) {
        if (!it->is_string()) return bad("peft_type is " + json_type(*it) + ", not a string");
        if (it->get<std::string>() != "LORA") {
            return refuse("peft_type is '" + printable(it->get<std::string>()) + "'; Pagoda loads LORA adapters only");
        }
    }
    auto it = root.find("r");
    if (it == root.end()) return bad("has no 'r' (the LoRA rank)");
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > INT32_MAX) {
        return bad("r must be a positive integer, not " + printable(it->dump(), 40));
    }
    c.r = static_cast<int32_t>(it->get<int64_t>());
    if (it = root.find("lora_alpha"); it != root.end()) {
        if (!it->is_number() || !std::isfinite(it->get<double>())) {
            return bad("lora_alpha must be a number, not " + printable(it->dump(), 40));
        }
        c.alpha = static_cast<float>(it->get<double>());
    }
    auto get_bool = [&](const char* key, bool& out) -> Status {
        auto b = root.find(key);
        if (b == root.end() || b->is_null()) return Status::ok();
        if (!b->is_boolean()) return bad(std::string(key) + " must be true or false, not " + json_type(*b));
        out = b->get<bool>();
        return Status::ok();
    };
    bool dora = false, lora_bias = false, fan_in_fan_out = false;
    PAGODA_RETURN_IF_ERROR(get_bool("use_rslora", c.rslora));
    PAGODA_RETURN_IF_ERROR(get_bool("use_dora", dora));
    PAGODA_RETURN_IF_ERROR(get_bool("lora_bias", lora_bias));
    PAGODA_RETURN_IF_ERROR(get_bool("fan_in_fan_out", fan_in_fan_out));
    if (dora) return refuse("use_dora is true; DoRA adapters are not supported");
    if (lora_bias) return refuse("lora_bias is true; LoRA biases are not supported");
    if (it = root.find("bias"); it != root.end() && !it->is_null()) {
        if (!it->is_string()) return bad("bias must be a string, not " + json_type(*it));
        if (it->get<std::string>() != "none") {
            return refuse("bias is '" + printable(it->get<std::string>()) +
                          "'; adapters that train biases are not supported (only bias: \"none\")");
        }
    }
    if (it = root.find("modules_to_save"); it != root.end() && !is_empty_or_null(*it)) {
        return refuse("modules_to_save " + printable(it->dump(), 80) +
                      " replaces whole modules (e.g. resized embeddings); Pagoda applies LoRA deltas only");
    }
    for (const char* key :
         {"trainable_token_indices", "alora_invocation_tokens", "target_parameters", "layer_replication"}) {
        if (it = root.find(key); it != root.end() && !is_empty_or_null(*it)) {
            return refuse(std::string(key) + " is set; Pagoda does not support it");
        }
    }
    if (it = root.find("target_modules"); it != root.end() && !it->is_null()) {
        if (it->is_array()) {
            for (const auto& t : *it) {
                if (!t.is_string()) return bad("target_modules holds " + json_type(t) + ", not a string");
                if (t.get<std::string>() == "all-linear") {
                    c.target_list.clear();
                    break;
                }
                c.target_list.push_back(t.get<std::string>());
            }
            c.targets_all = c.target_list.empty();
        } else if (!it->is_string()) {
            return bad("target_modules must be a list or a string, not " + json_type(*it));
        }
    }
    if (it = root.find("rank_pattern"); it != root.end() && !it->is_null()) {
        if (!it->is_object()) return bad("rank_pattern must be an object, not " + json_type(*it));
        c.has_rank_pattern = !it->empty();
    }
    if (it = root.find("alpha_pattern"); it != root.end() && !it->is_null()) {
        if (!it->is_object()) return bad("alpha_pattern must be an object, not " + json_type(*it));
        for (const auto& [key, value] : it->items()) {
            if (!value.is_number() || !std::isfinite(value.get<double>())) {
                return bad("alpha_pattern['" + printable(key) + "'] must be a number");
            }
            if (key.find_first_of("*+?()[]{}|^$\\") != std::string::npos) {
                return refuse("alpha_pattern key '" + printable(key) +
                              "' is a regular expression; Pagoda matches plain module names only");
            }
            c.alpha_pattern.emplace_back(key, static_cast<float>(value.get<double>()));
        }
    }
    return c;
}

// "model.layers.3.self_attn.q_proj" matches "q_proj", "self_attn.q_proj" or itself.
bool module_matches(const std::string& module, const std::string& key) {
    if (module == key) return true;
    return module.size() > key.size() && module.compare(module.size() - key.size(), key.size(), key) == 0 &&
           module[module.size() - key.size() - 1] == '.';
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Parses "layers.{L}.{self_attn|mlp}.{x}_proj" (after the prefixes); nullopt if it is not one.
std::optional<lora_loader::ModuleKey> parse_module(std::string_view m) {
    if (m.rfind("model.", 0) == 0) m.remove_prefix(6);
    if (m.rfind("layers.", 0) != 0) return std::nullopt;
    m.remove_prefix(7);
    int32_t layer = 0;
    if (!lora_loader::take_layer_index(m, layer)) return std::nullopt;
    for (int t = 0; t < kLoraTargetCount; ++t) {
        const auto target = static_cast<LoraTarget>(t);
        const std::string group = t <= static_cast<int>(LoraTarget::o) ? "self_attn." : "mlp.";
        if (m == group + lora_target_peft_name(target)) return lora_loader::ModuleKey{layer, target};
    }
    return std::nullopt;
}

Result<std::string> read_small_file(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        return ec == std::errc::no_such_file_or_directory ? not_found(path + ": not found")
                                                          : io_error(path + ": " + ec.message());
    }
    if (size > kMaxConfigBytes) {
        return invalid_format(path + ": " + std::to_string(size) + " bytes, larger than an adapter config can be");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return io_error(path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof()) return io_error(path + ": read failed");
    return ss.str();
}

}  // namespace

Result<LoraAdapter> parse_peft_adapter(std::string_view config_json, const SafetensorsFile& weights,
                                       const std::string& config_name) {
    auto config = parse_config(config_json, config_name);
    if (!config) return config.status();
    const PeftConfig& c = config.value();
    const std::string& file = weights.path();
    constexpr std::string_view kPrefix = "base_model.model.";

    ModuleMap modules;
    for (const SafetensorsTensor& t : weights.tensors()) {
        const std::string tname = "tensor '" + printable(t.name) + "'";
        std::string_view n = t.name;
        if (n.find("lora_magnitude_vector") != std::string_view::npos) {
            return unsupported(file + ": " + tname + " is a DoRA magnitude vector; DoRA adapters are not supported");
        }
        if (n.find("lora_embedding_") != std::string_view::npos) {
            return unsupported(file + ": " + tname + " is an embedding LoRA; Pagoda adapts only linear projections");
        }
        bool is_a = false;
        if (ends_with(n, ".lora_A.weight")) {
            is_a = true;
        } else if (!ends_with(n, ".lora_B.weight")) {
            if (ends_with(n, ".lora_B.bias")) {
                return unsupported(file + ": " + tname + " is a LoRA bias; LoRA biases are not supported");
            }
            return unsupported(file + ": " + tname +
                               " is not a lora_A / lora_B weight (full module weights such as modules_to_save "
                               "are not supported)");
        }
        n.remove_suffix(std::string_view(".lora_A.weight").size());
        if (n.rfind(kPrefix, 0) != 0) {
            return unsupported(file + ": " + tname + " does not start with '" + std::string(kPrefix) +
                               "' (not a PEFT causal-LM adapter)");
        }
        n.remove_prefix(kPrefix.size());
        const std::string module(n);
        const auto key = parse_module(n);
        if (!key) {
            return unsupported(file + ": " + tname + " adapts module '" + printable(module) +
                               "'; Pagoda applies LoRA to the decoder layers' q/k/v/o/gate/up/down projections only");
        }
        if (!c.targets_all) {
            bool listed = false;
            for (const auto& target : c.target_list) listed = listed || module_matches(module, target);
            if (!listed) {
                return invalid_format(file + ": " + tname + " adapts '" + printable(module) + "', which " +
                                      config_name + " target_modules does not list");
            }
        }
        ModuleTensors& m = modules[*key];
        std::string& slot = is_a ? m.a_name : m.b_name;
        if (!slot.empty()) {
            return invalid_format(file + ": tensors '" + printable(slot) + "' and '" + printable(t.name) +
                                  "' are the same lora_" + (is_a ? "A" : "B") + " of " + printable(module));
        }
        slot = t.name;
        auto values = weights.to_f32(t);
        if (!values) return values.status();
        (is_a ? m.a_shape : m.b_shape) = t.shape;
        (is_a ? m.a : m.b) = std::move(values).value();
        m.alpha = c.alpha;
        for (const auto& [pattern, alpha] : c.alpha_pattern) {
            if (module_matches(module, pattern)) {
                m.alpha = alpha;
                break;
            }
        }
    }
    auto adapter = lora_loader::assemble_adapter(file, modules, c.alpha, c.rslora, c.has_rank_pattern ? 0 : c.r);
    if (!adapter) return adapter.status();
    adapter->source_path = file;
    return adapter;
}

Result<LoraAdapter> load_peft_adapter(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path dir(path);
    fs::path weights_path;
    if (fs::is_directory(dir, ec)) {
        weights_path = dir / "adapter_model.safetensors";
        if (!fs::exists(weights_path, ec)) {
            if (fs::exists(dir / "adapter_model.bin", ec)) {
                return unsupported(path +
                                   ": holds adapter_model.bin, a PyTorch pickle (unsafe to load); convert it "
                                   "to adapter_model.safetensors");
            }
            return not_found(path + ": no adapter_model.safetensors in this folder");
        }
    } else {
        weights_path = dir;
        dir = dir.parent_path();
        if (dir.empty()) dir = ".";
    }
    const std::string config_path = (dir / "adapter_config.json").string();
    auto config = read_small_file(config_path);
    if (!config) {
        if (config.status().code() == ErrorCode::not_found) {
            return not_found(config_path + ": not found (a PEFT adapter needs its adapter_config.json)");
        }
        return config.status();
    }
    auto weights = SafetensorsFile::open(weights_path.string());
    if (!weights) return weights.status();
    auto adapter = parse_peft_adapter(config.value(), *weights.value(), config_path);
    if (!adapter) return adapter.status();
    adapter->source_path = path;
    return adapter;
}

}  // namespace pagoda
