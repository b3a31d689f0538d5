// JSON data (chat messages, tools, extra variables) -> template values, the way the
// reference sees the same data after JSON.parse: numbers with an integral value are
// integers, and keys that spell array indices ("0", "7") come first in ascending order,
// as JavaScript orders object keys. Nesting deeper than max_depth is refused.
#pragma once

#include <nlohmann/json.hpp>

#include "pagoda/status.h"
#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

Result<Value> value_from_json(const nlohmann::ordered_json& json, int max_depth = 256);

}  // namespace pagoda::jinja
