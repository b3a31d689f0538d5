// Tool calls in a model's output, for the common template families:
//   hermes  (Hermes 2 Pro, Qwen 2.5 / Qwen 3): <tool_call>{"name": .., "arguments": {..}}</tool_call>
//   llama3_json (Llama 3.1 / 3.2):  {"name": .., "parameters": {..}}  (after <|python_tag|>, if any)
//   mistral: [TOOL_CALLS][{"name": .., "arguments": {..}}, ...]  or  [TOOL_CALLS]name[ARGS]{..}
// Control tokens ([TOOL_CALLS], <|python_tag|>) may be invisible in the decoded text, so
// the JSON shapes are also recognized without them when they open the output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::server {

enum class ToolCallFormat { none, hermes, llama3_json, mistral };
const char* tool_call_format_name(ToolCallFormat format);

// From a chat template's source text: which spelling the template teaches the model.
ToolCallFormat detect_tool_call_format(std::string_view template_source);

struct ParsedToolCall {
    std::string name;
    std::string arguments;  // JSON text (an object), as OpenAI sends it
};

struct ToolParse {
    std::string content;  // the text outside tool calls (trimmed when calls were found)
    std::vector<ParsedToolCall> calls;
};

// The whole output of one choice. Text that does not parse as a tool call stays content.
ToolParse parse_tool_calls(ToolCallFormat format, std::string_view text);

// Streaming: how many leading bytes of `text` (the output so far) can go out as content
// now without risking that they start a tool call. The rest is held back until more
// text (or the end) decides.
size_t streamable_content_prefix(ToolCallFormat format, std::string_view text);

}  // namespace pagoda::server
