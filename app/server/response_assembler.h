// Turns a Generation's engine events into OpenAI responses: chat.completion /
// text_completion bodies, or their streamed chunks as SSE ("data: {...}\n\n" ...
// "data: [DONE]\n\n"). Knows the choice layout (prompt p, sample s -> choice p * n + s),
// usage, logprobs in both API shapes, echo, and tool calls held back from the stream
// until they can be told apart from content.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pagoda/request.h"
#include "server/api_error.h"
#include "server/generation.h"
#include "server/tool_calls.h"

namespace pagoda {
class Tokenizer;
}

namespace pagoda::server {

enum class ApiKind { chat, completion };

struct AssemblerOptions {
    ApiKind kind = ApiKind::chat;
    bool stream = false;
    bool include_usage = false;
    int32_t n = 1;          // choices per prompt
    int32_t n_prompts = 1;
    bool logprobs = false;
    int32_t top_logprobs = 0;
    std::vector<std::string> echo;  // completions with echo: each prompt's text
    ToolCallFormat tool_format = ToolCallFormat::none;  // none: tools not in play
    std::string id;          // "chatcmpl-..." / "cmpl-..."
    std::string model;
    int64_t created = 0;
};

class ResponseAssembler {
public:
    ResponseAssembler(AssemblerOptions options, const Tokenizer* tokenizer);

    // Streaming: the chunks that open the stream (assistant role; echoed prompts).
    std::string stream_start();
    // Records the event; in streaming mode returns the SSE text it produces.
    std::string on_event(const GenerationEvent& event);
    // Streaming: final chunks (finish reasons, tool calls, usage) and [DONE].
    // cut_short: the server ended the request early (shutdown).
    std::string stream_end(bool cut_short);
    // Non-streaming: the whole response body.
    nlohmann::ordered_json final_body(bool cut_short);

    // A request that failed in the engine (finish reason error).
    std::optional<ApiError> failure() const { return failure_; }
    RequestUsage usage() const { return usage_; }

private:
    struct Choice {
        std::string text;
        size_t streamed = 0;  // bytes of text already sent as content
        int32_t n_tokens = 0;
        std::vector<SampledLogprobs> logprobs;
        std::optional<FinishReason> finish;
        bool final_sent = false;
        int64_t text_offset = 0;  // completions logprobs: offset of the next token
        nlohmann::ordered_json completion_logprobs;  // completions: accumulated legacy logprobs
    };

    nlohmann::ordered_json chunk_base() const;
    std::string sse(const nlohmann::ordered_json& j) const;
    nlohmann::ordered_json chat_logprobs(const std::vector<SampledLogprobs>& lps) const;
    nlohmann::ordered_json completion_logprobs(Choice& c, const std::vector<SampledLogprobs>& lps);
    nlohmann::ordered_json usage_json() const;
    std::string finish_reason_text(const Choice& c, bool has_tool_calls, bool cut_short) const;
    nlohmann::ordered_json tool_calls_json(const std::vector<ParsedToolCall>& calls, bool with_index);
    std::string piece(TokenId id) const;

    AssemblerOptions opt_;
    const Tokenizer* tok_;
    std::vector<Choice> choices_;
    RequestUsage usage_;
    std::optional<ApiError> failure_;
    int32_t tool_call_counter_ = 0;
};

// "chatcmpl-" + 24 random alphanumerics, etc.
std::string random_id(const std::string& prefix);

}  // namespace pagoda::server
