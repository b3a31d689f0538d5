// The response cache's key: which requests may be cached at all (deterministic ones),
// and a canonical form of everything that decides the engine's output, hashed.
//
// The canonical form is taken after the prompt is built: the token ids the engine sees
// (messages, tools, template variables and the chat template already applied), so two
// bodies that differ only in field order, whitespace or spelled-out defaults give the
// same key, and a template change gives a new one. Beside the prompt: every sampling
// parameter (SamplingParams, all fields), n, logprobs, max_tokens, stops, the adapter,
// the endpoint kind, and the model's identity (model_cache_identity).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pagoda/request.h"

namespace pagoda::server {

struct ServedModel;

// Greedy (temperature <= 0) or an explicit seed: the same request gives the same tokens.
bool is_deterministic(const SamplingParams& sampling);

// Model id plus what tells two builds of the same name apart (file size, vocabulary,
// context length): replicas serving different files under one name do not share entries.
std::string model_cache_identity(const ServedModel& model);

// The canonical request (a JSON object, keys sorted), or nullopt when any of the
// engine requests is not cacheable. `kind`: "chat" or "completion". `adapters`: the
// adapters' names (the served adapter set), empty for the base model.
std::optional<nlohmann::json> canonical_cache_request(std::string_view kind, const std::string& model_identity,
                                                      const std::vector<std::string>& adapters,
                                                      const std::vector<Request>& requests);

// Lower-case hex SHA-256 of the canonical request's compact dump; "" when it cannot be
// dumped (stop strings that are not UTF-8): the request is then not cached.
std::string response_cache_key(const nlohmann::json& canonical);

std::string sha256_hex(std::string_view data);

}  // namespace pagoda::server
