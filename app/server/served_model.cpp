#include "server/served_model.h"

#include "model/gguf_file.h"

namespace pagoda::server {

namespace {

TokenId token_key(const GgufFile& gguf, std::string_view a, std::string_view b) {
    std::optional<int64_t> v = gguf.get_int(a);
    if (!v) v = gguf.get_int(b);
    if (!v || *v < 0 || *v > INT32_MAX) return -1;
    return static_cast<TokenId>(*v);
}

}  // namespace

ModelTraits read_model_traits(const GgufFile& gguf) {
    ModelTraits t;
    auto tpl = ChatTemplate::from_gguf(gguf);
    if (tpl) {
        t.chat_template = std::move(tpl.value());
        t.tool_format = detect_tool_call_format(t.chat_template->source());
    } else {
        // A template that does not parse: chat requests fail with this reason, completions still work.
        t.template_error = tpl.status().message();
    }
    // llama.cpp's keys; older files use prefix/suffix/middle.
    t.fim.prefix = token_key(gguf, "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id");
    t.fim.suffix = token_key(gguf, "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id");
    t.fim.middle = token_key(gguf, "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id");
    return t;
}

}  // namespace pagoda::server
