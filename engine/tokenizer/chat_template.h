// A model's chat template: turns a conversation (OpenAI-style messages, optional tools)
// into the prompt text the model was trained on, with the Jinja subset in jinja/.
//
// Variables a template sees, as transformers passes them: messages, tools (none when
// absent), documents (none), add_generation_prompt, bos_token / eos_token (when the
// model has them), plus any extra ones (enable_thinking, date_string, ...).
//
// Message content may be a string or a list of content parts
// ([{"type": "text", "text": ...}, {"type": "image", ...}]). Templates that handle parts
// get them as they are; for the others the text parts are joined with "\n" (and other
// parts are an error), which is what llama.cpp does.
//
// render() is const and thread-safe; object keys keep their order (ordered_json), which
// matters for tools rendered with tojson.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pagoda/status.h"
#include "tokenizer/jinja/template.h"

namespace pagoda {

class GgufFile;

struct ChatTemplateInputs {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    nlohmann::ordered_json tools;  // null, or a list of tool definitions
    bool add_generation_prompt = true;
    // Extra template variables (an object), e.g. {"enable_thinking": false}.
    nlohmann::ordered_json variables = nlohmann::ordered_json::object();
};

class ChatTemplate {
public:
    // From template text (tokenizer.chat_template / tokenizer_config.json). Fails with
    // the template's line and column when it does not parse.
    static Result<ChatTemplate> create(std::string_view source, std::optional<std::string> bos_token = std::nullopt,
                                       std::optional<std::string> eos_token = std::nullopt,
                                       const jinja::Limits& limits = {});
    // The ChatML fallback for models that ship no template (is_fallback() is true).
    static ChatTemplate chatml(std::optional<std::string> bos_token = std::nullopt,
                               std::optional<std::string> eos_token = std::nullopt);
    // The GGUF's tokenizer.chat_template (or tokenizer.chat_template.<name>), with BOS/EOS
    // text from its vocabulary; ChatML when the model has no template.
    static Result<ChatTemplate> from_gguf(const GgufFile& gguf, std::string_view name = {});
    // tokenizer_config.json text: chat_template (a string, or a list of {name, template}
    // from which `name` or "default" is taken), bos_token and eos_token (strings or
    // {"content": ...} objects). ChatML when there is no chat_template.
    static Result<ChatTemplate> from_tokenizer_config(std::string_view json_text, std::string_view name = {});

    Result<std::string> render(const ChatTemplateInputs& inputs, const jinja::RenderOptions& options = {}) const;

    bool is_fallback() const { return fallback_; }
    // Whether the template reads list-of-parts content itself (probed once at creation).
    bool supports_content_parts() const { return content_parts_; }
    const std::string& source() const { return template_.source(); }
    const std::optional<std::string>& bos_token() const { return bos_; }
    const std::optional<std::string>& eos_token() const { return eos_; }
    // One line for logs and `pagoda info`: where the template came from.
    const std::string& origin() const { return origin_; }

private:
    ChatTemplate(jinja::Template tpl, std::optional<std::string> bos, std::optional<std::string> eos);
    void probe_content_parts();

    jinja::Template template_;
    std::optional<std::string> bos_, eos_;
    bool fallback_ = false;
    bool content_parts_ = false;
    std::string origin_;
};

// The ChatML template text the fallback uses.
std::string_view chatml_template_source();

}  // namespace pagoda
