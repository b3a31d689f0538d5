// libFuzzer entry for the OpenAI request parsers (app/server/openai_request.h): request
// bodies are untrusted input. Every input must end in a typed request or a 4xx ApiError
// whose body serializes, never a crash, hang or giant allocation. The same bytes also go
// through the tool-call parsers, since model output is untrusted too.
//
// Run from a fuzz build (cmake --preset fuzz; pagoda_server is linked in by
// app/server/CMakeLists.txt):
//   bin/fuzz_openai_request -max_total_time=300 -rss_limit_mb=2048 corpus/openai_request
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/openai_request.h"
#include "server/tool_calls.h"

namespace {

using namespace pagoda::server;

void check_error(const ApiError& e) {
    if (e.status < 400 || e.status >= 500) std::abort();
    if (e.message.empty()) std::abort();
    (void)e.body();
}

template <class T>
void check(const ApiResult<T>& r) {
    if (!r.ok()) check_error(r.error());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    ParseLimits limits;
    limits.max_body_bytes = 1u << 20;

    auto chat = parse_chat_completion_request(body, limits);
    check(chat);
    if (chat.ok()) {
        const auto& c = chat.value();
        if (!c.messages.is_array() || c.messages.empty()) std::abort();
        if (c.sampling.n < 1 || c.sampling.n > limits.max_n) std::abort();
        if (c.sampling.max_tokens && *c.sampling.max_tokens < 1) std::abort();
        (void)c.messages.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    auto completion = parse_completion_request(body, limits);
    check(completion);
    if (completion.ok() && completion.value().prompts.empty()) std::abort();
    check(parse_tokenize_request(body, limits));
    check(parse_detokenize_request(body, limits));

    for (ToolCallFormat f : {ToolCallFormat::hermes, ToolCallFormat::llama3_json, ToolCallFormat::mistral}) {
        const ToolParse p = parse_tool_calls(f, body);
        for (const ParsedToolCall& call : p.calls) {
            if (call.name.empty()) std::abort();
        }
        if (streamable_content_prefix(f, body) > body.size()) std::abort();
    }
    return 0;
}
