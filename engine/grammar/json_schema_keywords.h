// Keyword rules of json_schema_grammar.cpp: which keywords are checked, refused or ignored,
// type sets, local $ref resolution, and the merge of allOf parts into one schema.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pagoda/status.h"

namespace pagoda::grammar::json_schema_detail {

using Json = nlohmann::ordered_json;

// invalid_argument "<ptr>: <what>" ("(root)" for ""); callers prefix the parameter name,
// e.g. "response_format.json_schema: /properties/a/pattern: 'pattern' is not supported".
Status refuse(const std::string& ptr, const std::string& what);
// A key as one JSON pointer token (~ -> ~0, / -> ~1).
std::string escape_pointer_token(std::string_view key);

// Type sets as bits; "number" includes integers, so number & integer = integer.
enum : unsigned {
    kTypeNull = 1,
    kTypeBoolean = 2,
    kTypeInteger = 4,
    kTypeNumber = 8 | kTypeInteger,
    kTypeString = 16,
    kTypeArray = 32,
    kTypeObject = 64,
    kTypeAll = 127,
};
// The types "type" allows (plus null with OpenAPI's "nullable": true); kTypeAll without "type".
unsigned schema_type_bits(const Json& s);
// The types implied by type-specific keywords (properties -> object, ...); 0 when none.
unsigned inferred_type_bits(const Json& s);
// The types a JSON value belongs to (1 and 1.0 are integers and numbers).
unsigned value_type_bits(const Json& v);

// Keywords that constrain instances (supported or refused), as opposed to annotations.
bool is_validation_keyword(std::string_view key);
bool has_validation_keywords(const Json& s, std::initializer_list<std::string_view> except);
// A count keyword (minItems, maxLength, ...) already checked to be a non-negative integer.
std::optional<uint64_t> count_keyword(const Json& s, const char* key);

// Checks the keywords of one schema object (not its subschemas): refuses unsupported
// ones and malformed values, naming the keyword's pointer.
Status check_schema_keywords(const Json& s, const std::string& ptr);

// "#", "#/$defs/x", any local JSON pointer -> the target and its normalized pointer.
Result<std::pair<const Json*, std::string>> resolve_ref(const Json& root, const Json& ref, const std::string& ptr);

// Nodes (values) in `v`, counting stops past `cap`: what copying `v` costs.
size_t json_node_count(const Json& v, size_t cap);

// One allOf part (its own keywords, without $ref/allOf) and where it came from.
struct SchemaPart {
    Json schema;
    std::string ptr;
};
// allOf semantics as one schema: types and enums intersected, properties united (a
// property in several parts becomes the allOf of its schemas), required united, bounds
// tightened, anyOf lists multiplied out (the nodes copied counted in `steps`),
// additionalProperties false limiting the keys to that part's properties. Conflicting other
// keywords are refused. When the parts cannot all hold (no common type or enum value, a
// required key excluded), the refusal also sets *unsatisfiable (an anyOf branch is dropped).
Result<Json> merge_schema_parts(const std::vector<SchemaPart>& parts, const std::string& ptr, size_t& steps,
                                size_t max_steps, bool* unsatisfiable = nullptr);

}  // namespace pagoda::grammar::json_schema_detail
