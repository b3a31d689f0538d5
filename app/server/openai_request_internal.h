// Pieces shared by openai_request.cpp and chat_request.cpp.
#pragma once

#include <string>

#include "server/json_fields.h"
#include "server/openai_request.h"

namespace pagoda::server::detail {

using Json = nlohmann::ordered_json;

fields::Err read_sampling(const Json& body, const ParseLimits& limits, SamplingFields& s);
fields::Err read_model(const Json& body, std::string& model);
// response_format json_object / json_schema and the `grammar` extension -> s.grammar
// (output_grammar.cpp).
fields::Err read_output_grammar(const Json& body, SamplingFields& s);
// OpenAI messages -> what chat templates expect (see ChatCompletionRequest::messages).
ApiResult<Json> normalize_messages(const Json& messages, const ParseLimits& limits);

}  // namespace pagoda::server::detail
