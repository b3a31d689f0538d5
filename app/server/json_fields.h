// Typed reads of request fields with OpenAI-style errors. Each reader leaves `out`
// untouched when the field is absent or null and returns an ApiError naming the
// parameter when it has the wrong type or value. Internal to the request parsers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api_error.h"

namespace pagoda::server::fields {

using Json = nlohmann::ordered_json;
using Err = std::optional<ApiError>;

// "integer", "decimal", "string", ... as OpenAI's messages name JSON types.
const char* type_name(const Json& v);
ApiError wrong_type(const std::string& param, const char* expected, const Json& got);
ApiError bad_value(const std::string& param, const std::string& what);

// The field, or null when it is absent or JSON null.
const Json* find(const Json& obj, const char* key);

Err read_bool(const Json& obj, const char* key, bool& out, const std::string& param = {});
Err read_string(const Json& obj, const char* key, std::string& out, const std::string& param = {});
Err read_string(const Json& obj, const char* key, std::optional<std::string>& out, const std::string& param = {});
// A finite number in [lo, hi].
Err read_float(const Json& obj, const char* key, double lo, double hi, std::optional<float>& out,
               const std::string& param = {});
Err read_float(const Json& obj, const char* key, double lo, double hi, float& out, const std::string& param = {});
// An integer in [lo, hi]; a decimal with an integral value (3.0) is accepted.
Err read_int(const Json& obj, const char* key, int64_t lo, int64_t hi, std::optional<int64_t>& out,
             const std::string& param = {});
// The value itself (not a field of an object).
Err as_int(const Json& v, const std::string& param, int64_t lo, int64_t hi, int64_t& out);

}  // namespace pagoda::server::fields
