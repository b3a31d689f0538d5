// libFuzzer target: parse and render arbitrary template text against a fixed chat
// context, with small limits. Whatever the input, parse/render must return (output or a
// Status) without crashing, hanging, leaking or allocating without bound.
//
// Input: template source, optionally followed by "\0" and a JSON object of extra
// variables (so the fuzzer can vary the data as well as the code).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/json_input.h"
#include "tokenizer/jinja/template.h"

namespace {

const nlohmann::ordered_json& base_context() {
    static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Hi <think>x</think> é 😀"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call12345", "type": "function",
                 "function": {"name": "f", "arguments": {"a": 1, "b": [true, null, 2.5]}}}]},
            {"role": "tool", "tool_call_id": "call12345", "content": "{\"ok\": true}"},
            {"role": "user", "content": [{"type": "text", "text": "part"}, {"type": "image"}]}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "description": "d",
                   "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}],
        "add_generation_prompt": true,
        "bos_token": "<s>",
        "eos_token": "</s>"
    })");
    return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace pagoda::jinja;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view source = input;
    std::string_view extra;
    if (const size_t nul = input.find('\0'); nul != std::string_view::npos) {
        source = input.substr(0, nul);
        extra = input.substr(nul + 1);
    }

    Limits limits;
    limits.max_template_bytes = 64 << 10;
    limits.max_output_bytes = 256 << 10;
    limits.max_loop_iterations = 20'000;
    limits.max_steps = 200'000;
    limits.max_call_depth = 16;
    limits.max_nesting = 64;
    limits.max_eval_depth = 400;

    auto tpl = Template::parse(source, limits);
    if (!tpl.is_ok()) return 0;

    Object vars;
    const auto& ctx = base_context();
    for (auto it = ctx.begin(); it != ctx.end(); ++it) vars.set(it.key(), value_from_json(it.value()).value());
    if (!extra.empty()) {
        auto j = nlohmann::ordered_json::parse(extra, nullptr, /*allow_exceptions=*/false);
        if (j.is_object()) {
            for (auto it = j.begin(); it != j.end(); ++it) {
                if (auto v = value_from_json(it.value(), 64)) vars.set(it.key(), std::move(v).value());
            }
        }
    }
    RenderOptions options;
    options.limits = limits;
    std::tm fixed{};
    fixed.tm_year = 125;
    options.now = fixed;
    auto out = tpl->render(vars, options);
    if (out.is_ok() && out.value().size() > limits.max_output_bytes) __builtin_trap();
    return 0;
}
