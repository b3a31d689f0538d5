// The OpenAI request bodies this server accepts, parsed and validated by pure functions:
// bytes in, a typed request or an ApiError naming the parameter out. Nothing here
// touches a model, so the same code is unit-tested and fuzzed on its own.
//
// Rules, as OpenAI (and vLLM / llama-server) apply them: unknown fields are ignored; a
// field set to null counts as absent; a wrong type or an out-of-range value is a 400
// whose `param` names the field ("messages[1].content[0].text"). The body is untrusted:
// its size and nesting depth are bounded before any JSON is built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pagoda/types.h"
#include "server/api_error.h"

namespace pagoda::grammar {
class Grammar;
}

namespace pagoda::server {

struct ParseLimits {
    size_t max_body_bytes = 16u << 20;
    int max_depth = 64;            // nested arrays/objects
    int max_messages = 4096;
    int max_n = 128;               // choices per prompt
    int max_prompts = 64;          // /v1/completions prompt arrays
    int max_stop = 16;             // stop strings
    size_t max_stop_bytes = 256;   // each
    int max_logit_bias = 4096;
    int max_tools = 256;
    size_t max_prompt_token_ids = 1u << 20;
};

// Sampling and length fields shared by /v1/chat/completions and /v1/completions.
// Unset optionals take the server's defaults (OpenAI's: temperature 1, top_p 1).
struct SamplingFields {
    std::optional<float> temperature;
    std::optional<float> top_p;
    std::optional<int32_t> top_k;                // extension (vLLM, llama-server)
    std::optional<float> min_p;                  // extension
    std::optional<float> repetition_penalty;     // extension
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::vector<std::pair<TokenId, float>> logit_bias;
    std::optional<uint64_t> seed;
    std::optional<int32_t> max_tokens;           // max_completion_tokens wins over max_tokens
    std::vector<std::string> stop;
    std::vector<TokenId> stop_token_ids;         // extension (vLLM)
    bool ignore_eos = false;                     // extension (vLLM)
    int32_t n = 1;
    bool stream = false;
    bool include_usage = false;                  // stream_options.include_usage
    // Compiled from response_format json_object / json_schema or the `grammar` extension
    // (llama-server's GBNF); null: free text.
    std::shared_ptr<const grammar::Grammar> grammar;
};

enum class ToolChoiceMode { auto_, none, required, function };

struct ToolChoice {
    ToolChoiceMode mode = ToolChoiceMode::auto_;
    std::string function;  // mode == function
};

struct ChatCompletionRequest {
    std::string model;  // "" when absent (the server's default model)
    // Normalized for the chat template: role, content (string, list of text parts, or
    // null for an assistant turn with tool calls), name, tool_calls (arguments as JSON
    // when the string parses), tool_call_id. "developer" becomes "system".
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    SamplingFields sampling;
    bool logprobs = false;
    int32_t top_logprobs = 0;
    nlohmann::ordered_json tools;  // null, or the tool definitions as sent
    ToolChoice tool_choice;
    bool parallel_tool_calls = true;
    // Extra chat-template variables (vLLM's chat_template_kwargs), an object.
    nlohmann::ordered_json template_variables = nlohmann::ordered_json::object();
    // Extension: continue the last assistant message instead of opening a new one.
    bool add_generation_prompt = true;
};

// One /v1/completions prompt: text, or token ids used exactly as given.
struct PromptInput {
    bool is_tokens = false;
    std::string text;
    std::vector<TokenId> tokens;
};

struct CompletionRequest {
    std::string model;
    std::vector<PromptInput> prompts;  // one choice group of n per prompt
    std::optional<std::string> suffix;  // fill-in-the-middle
    bool echo = false;
    std::optional<int32_t> logprobs;    // number of top alternatives (0..20); unset: none
    SamplingFields sampling;
};

struct TokenizeRequest {
    std::string model;
    // "content"/"prompt": text; or "messages" (rendered with the chat template).
    std::optional<std::string> text;
    nlohmann::ordered_json messages;  // null unless given
    bool add_special = true;
    bool with_pieces = false;
};

struct DetokenizeRequest {
    std::string model;
    std::vector<TokenId> tokens;
};

// Checks the size and the nesting depth of a JSON text without building it, so a
// 10 MB run of '[' is refused before a parser sees it.
ApiResult<nlohmann::ordered_json> parse_json_body(std::string_view body, const ParseLimits& limits = {});

ApiResult<ChatCompletionRequest> parse_chat_completion_request(std::string_view body, const ParseLimits& limits = {});
ApiResult<CompletionRequest> parse_completion_request(std::string_view body, const ParseLimits& limits = {});
ApiResult<TokenizeRequest> parse_tokenize_request(std::string_view body, const ParseLimits& limits = {});
ApiResult<DetokenizeRequest> parse_detokenize_request(std::string_view body, const ParseLimits& limits = {});

// The same on an already parsed body (a JSON object).
ApiResult<ChatCompletionRequest> chat_completion_request_from_json(const nlohmann::ordered_json& body,
                                                                   const ParseLimits& limits = {});
ApiResult<CompletionRequest> completion_request_from_json(const nlohmann::ordered_json& body,
                                                          const ParseLimits& limits = {});

}  // namespace pagoda::server
