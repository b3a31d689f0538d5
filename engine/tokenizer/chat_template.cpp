#include "tokenizer/chat_template.h"

#include "model/gguf_file.h"
#include "tokenizer/jinja/json_input.h"

namespace pagoda {

namespace {

constexpr std::string_view kChatml =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] if message['content'] is string else '') "
    "+ '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

// Text parts joined with "\n" for templates that only take string content.
Status flatten_content_parts(nlohmann::ordered_json& messages) {
    for (size_t i = 0; i < messages.size(); ++i) {
        auto& m = messages[i];
        if (!m.is_object()) continue;
        auto it = m.find("content");
        if (it == m.end() || !it->is_array()) continue;
        std::string text;
        bool first = true;
        for (const auto& part : *it) {
            std::string type = "text";
            if (part.is_object()) {
                auto t = part.find("type");
                if (t != part.end() && t->is_string()) type = t->get<std::string>();
            }
            if (type != "text" || !part.is_object() || !part.contains("text") || !part["text"].is_string()) {
                return invalid_argument("message " + std::to_string(i) +
                                        ": this model's chat template takes text only, not a '" + type +
                                        "' content part");
            }
            if (!first) text += '\n';
            first = false;
            text += part["text"].get<std::string>();
        }
        *it = text;
    }
    return Status::ok();
}

std::optional<std::string> gguf_token_text(const GgufFile& gguf, std::string_view id_key) {
    const auto id = gguf.get_int(id_key);
    const GgufValue::Array* tokens = gguf.get_array("tokenizer.ggml.tokens");
    if (!id || !tokens || *id < 0 || static_cast<uint64_t>(*id) >= tokens->items.size()) return std::nullopt;
    const std::string* text = tokens->items[static_cast<size_t>(*id)].as_string();
    if (!text) return std::nullopt;
    return *text;
}

// tokenizer_config.json spells special tokens as "text" or {"content": "text", ...}.
std::optional<std::string> config_token(const nlohmann::ordered_json& config, const char* key) {
    auto it = config.find(key);
    if (it == config.end()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object()) {
        auto c = it->find("content");
        if (c != it->end() && c->is_string()) return c->get<std::string>();
    }
    return std::nullopt;
}

}  // namespace

std::string_view chatml_template_source() { return kChatml; }

ChatTemplate::ChatTemplate(jinja::Template tpl, std::optional<std::string> bos, std::optional<std::string> eos)
    : template_(std::move(tpl)), bos_(std::move(bos)), eos_(std::move(eos)) {}

Result<ChatTemplate> ChatTemplate::create(std::string_view source, std::optional<std::string> bos_token,
                                          std::optional<std::string> eos_token, const jinja::Limits& limits) {
    auto tpl = jinja::Template::parse(source, limits);
    if (!tpl) return Status::error(tpl.status().code(), "chat template: " + tpl.status().message());
    ChatTemplate ct(std::move(tpl).value(), std::move(bos_token), std::move(eos_token));
    ct.origin_ = "chat template (" + std::to_string(source.size()) + " bytes)";
    ct.probe_content_parts();
    return ct;
}

ChatTemplate ChatTemplate::chatml(std::optional<std::string> bos_token, std::optional<std::string> eos_token) {
    auto tpl = jinja::Template::parse(kChatml);
    assert(tpl.is_ok());
    ChatTemplate ct(std::move(tpl).value(), std::move(bos_token), std::move(eos_token));
    ct.fallback_ = true;
    ct.origin_ = "no chat template in the model: using ChatML (<|im_start|>role ... <|im_end|>)";
    return ct;
}

Result<ChatTemplate> ChatTemplate::from_gguf(const GgufFile& gguf, std::string_view name) {
    const std::string key = name.empty() ? "tokenizer.chat_template" : "tokenizer.chat_template." + std::string(name);
    auto bos = gguf_token_text(gguf, "tokenizer.ggml.bos_token_id");
    auto eos = gguf_token_text(gguf, "tokenizer.ggml.eos_token_id");
    const std::string* source = gguf.get_string(key);
    if (!source) {
        if (gguf.find(key)) return invalid_format(gguf.path() + ": " + key + " is not a string");
        if (!name.empty()) return not_found(gguf.path() + ": no chat template named '" + std::string(name) + "'");
        return chatml(std::move(bos), std::move(eos));
    }
    auto ct = create(*source, std::move(bos), std::move(eos));
    if (!ct) return Status::error(ct.status().code(), gguf.path() + ": " + ct.status().message());
    ct->origin_ = "chat template from " + key + " (" + std::to_string(source->size()) + " bytes)";
    return ct;
}

Result<ChatTemplate> ChatTemplate::from_tokenizer_config(std::string_view json_text, std::string_view name) {
    nlohmann::ordered_json config = nlohmann::ordered_json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded() || !config.is_object()) {
        return invalid_format("tokenizer_config.json: not a JSON object");
    }
    auto bos = config_token(config, "bos_token");
    auto eos = config_token(config, "eos_token");
    auto it = config.find("chat_template");
    if (it == config.end() || it->is_null()) {
        if (!name.empty())
            return not_found("tokenizer_config.json: no chat template named '" + std::string(name) + "'");
        return chatml(std::move(bos), std::move(eos));
    }
    std::string source;
    if (it->is_string()) {
        if (!name.empty() && name != "default") {
            return not_found("tokenizer_config.json: no chat template named '" + std::string(name) + "'");
        }
        source = it->get<std::string>();
    } else if (it->is_array()) {
        const std::string wanted = name.empty() ? "default" : std::string(name);
        bool found = false;
        for (const auto& entry : *it) {
            if (!entry.is_object()) continue;
            auto n = entry.find("name");
            auto t = entry.find("template");
            if (n != entry.end() && n->is_string() && n->get<std::string>() == wanted && t != entry.end() &&
                t->is_string()) {
                source = t->get<std::string>();
                found = true;
                break;
            }
        }
        if (!found) return not_found("tokenizer_config.json: no chat template named '" + wanted + "'");
    } else {
        return invalid_format("tokenizer_config.json: chat_template must be a string or a list");
    }
    auto ct = create(source, std::move(bos), std::move(eos));
    if (!ct) return Status::error(ct.status().code(), "tokenizer_config.json: " + ct.status().message());
    ct->origin_ = "chat template from tokenizer_config.json (" + std::to_string(source.size()) + " bytes)";
    return ct;
}

void ChatTemplate::probe_content_parts() {
    // A template handles content parts when a message given as [{"type": "text", ...}]
    // renders exactly as the same message given as a string.
    static constexpr const char* kProbe = "Pagoda content probe";
    ChatTemplateInputs plain;
    plain.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", kProbe}}});
    ChatTemplateInputs parts;
    parts.messages = nlohmann::ordered_json::array(
        {{{"role", "user"}, {"content", nlohmann::ordered_json::array({{{"type", "text"}, {"text", kProbe}}})}}});
    content_parts_ = true;  // render the probe without flattening
    auto a = render(plain);
    auto b = render(parts);
    content_parts_ = a.is_ok() && b.is_ok() && a.value() == b.value() && a.value().find(kProbe) != std::string::npos;
}

Result<std::string> ChatTemplate::render(const ChatTemplateInputs& inputs, const jinja::RenderOptions& options) const {
    if (!inputs.messages.is_array()) return invalid_argument("chat template: messages must be a list");
    if (!inputs.tools.is_null() && !inputs.tools.is_array()) {
        return invalid_argument("chat template: tools must be a list");
    }
    if (!inputs.variables.is_object()) return invalid_argument("chat template: variables must be an object");

    const nlohmann::ordered_json* messages = &inputs.messages;
    nlohmann::ordered_json flattened;
    if (!content_parts_) {
        flattened = inputs.messages;
        PAGODA_RETURN_IF_ERROR(flatten_content_parts(flattened));
        messages = &flattened;
    }

    jinja::Object vars;
    auto add = [&](const std::string& name, const nlohmann::ordered_json& json) -> Status {
        auto v = jinja::value_from_json(json);
        if (!v) return Status::error(v.status().code(), "chat template: " + name + ": " + v.status().message());
        vars.set(name, std::move(v).value());
        return Status::ok();
    };
    PAGODA_RETURN_IF_ERROR(add("messages", *messages));
    PAGODA_RETURN_IF_ERROR(add("tools", inputs.tools));
    vars.set("documents", jinja::Value::none());
    vars.set("add_generation_prompt", jinja::Value::boolean(inputs.add_generation_prompt));
    if (bos_) vars.set("bos_token", jinja::Value::string(*bos_));
    if (eos_) vars.set("eos_token", jinja::Value::string(*eos_));
    for (auto it = inputs.variables.begin(); it != inputs.variables.end(); ++it) {
        PAGODA_RETURN_IF_ERROR(add(it.key(), it.value()));
    }
    auto out = template_.render(vars, options);
    if (!out) return Status::error(out.status().code(), "chat template: " + out.status().message());
    return out;
}

}  // namespace pagoda
