// JSON output for OpenAI's response_format: a JSON Schema (or "any JSON object") as GBNF
// text for compile_gbnf(). The grammar emits compact JSON with optional single spaces
// and newlines kept short, so a model cannot pad forever with whitespace.
//
// Supported: type (string, number, integer, boolean, null, object, array, and lists of
// them; without "type" the kind is inferred from the keywords present, e.g. "properties"
// -> object), properties (in schema order) + required, additionalProperties (false, true,
// or a schema; extra keys only when no properties are declared: with properties the output
// holds declared keys only), min/maxProperties (free-form maps; with declared properties
// only when trivially met), items, prefixItems (and draft-7 items arrays + additionalItems),
// minItems/maxItems, enum, const, anyOf/oneOf (both as plain alternatives: an instance
// matching two oneOf branches is not excluded), allOf (parts merged: properties, required,
// type intersected, enum intersected, min/max bounds tightened; anyOf siblings are merged
// into each branch), $ref to "#", "#/$defs/x", "#/definitions/x" or any local JSON pointer
// (recursion allowed; a $ref with sibling keywords means allOf of both), OpenAPI's
// "nullable": true, string minLength/maxLength and the formats date, time, date-time (RFC
// 3339, upper-case T/Z, offset required), uuid, ipv4. Other formats are ignored (JSON Schema
// treats format as an annotation by default). Integer bounds (minimum, maximum, exclusive*,
// draft-4 boolean exclusives too) are enforced as digit ranges; bounds on "number" are NOT.
//
// Apart from number bounds and oneOf, the output is a subset of the valid instances, never a
// superset: keys in schema order,
// enum/const values and keys in their compact JSON spelling, at most 19 integer digits, 20
// fraction digits and 3 exponent digits, and minLength/maxLength counting a JSON escape as
// one character. minItems/maxItems/minLength/maxLength above max_repeat are refused, not
// treated as unbounded.
//
// Refused (invalid_argument, "<JSON pointer>: ...", e.g. "/properties/a/pattern: 'pattern'
// is not supported"; the caller prefixes its parameter name): anything
// that would change what is valid and is not supported: pattern, patternProperties, not,
// if/then/else, dependentRequired/dependentSchemas/dependencies, uniqueItems true,
// contains, propertyNames, unevaluated*, multipleOf, $dynamicRef, an unknown type, a
// non-local $ref, malformed keywords, unsatisfiable schemas (false, empty enum, minItems >
// maxItems), bounds above max_repeat, and schemas beyond the limits below. So a client
// never receives output that silently ignores its schema. Annotations (title,
// description, examples, default, $schema, $id, $comment, deprecated, readOnly, strict,
// ...) and unknown keywords are ignored.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "pagoda/status.h"

namespace pagoda::grammar {

struct JsonSchemaLimits {
    int max_depth = 64;                // nested schemas (inline; each $ref target starts again at 0)
    size_t max_rules = 10'000;         // generated GBNF rules
    int max_repeat = 1'000;            // minItems/maxItems/minLength/maxLength used as bounds
    size_t max_repeat_total = 20'000;  // sum of those bounds (each expands into grammar elements)
    size_t max_steps = 1'000'000;      // schema nodes visited + copied by allOf/anyOf merges (no blow-up)
    size_t max_gbnf_bytes = 1 << 20;   // generated text (compile_gbnf's default max_text_bytes)
};

// GBNF whose root rule matches exactly the JSON texts valid under `schema` (within the
// limits documented above). ordered_json: properties come out in the schema's order.
Result<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema, const JsonSchemaLimits& limits = {});
// GBNF for response_format {"type": "json_object"}: any JSON object.
std::string json_object_gbnf();

}  // namespace pagoda::grammar
