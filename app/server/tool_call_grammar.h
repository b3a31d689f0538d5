// tool_choice "required" or a named function, enforced: the output is constrained to tool
// calls in the model's own spelling (tool_calls.h) whose "name" is one of the allowed
// functions and whose arguments are valid under that function's `parameters` schema
// (json_schema_grammar.h), so parse_tool_calls always finds them.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/tool_calls.h"

namespace pagoda::server {

// Null when nothing is forced: tool_choice auto/none, or a template without a known tool
// format (the tools then only reach the prompt). A parameters schema that cannot be
// enforced is a 400 naming tools[i].function.parameters.
ApiResult<std::shared_ptr<const grammar::Grammar>> tool_call_grammar(ToolCallFormat format,
                                                                     const nlohmann::ordered_json& tools,
                                                                     const ToolChoice& choice, bool parallel);

}  // namespace pagoda::server
