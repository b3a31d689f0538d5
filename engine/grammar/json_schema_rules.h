// Building blocks of json_schema_grammar.cpp: the fixed GBNF rules every JSON grammar
// uses (whitespace, strings, numbers, any value, formats) and GBNF literal escaping.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::grammar::json_schema_detail {

// A GBNF literal "..." matching exactly the UTF-8 text `utf8` (quotes, backslashes and
// control characters escaped, non-ASCII as \uHHHH / \UHHHHHHHH).
std::string gbnf_literal(std::string_view utf8);
// The compact JSON text of a value (what an enum/const value or a key is emitted as).
std::string compact_json(const nlohmann::ordered_json& value);
// Characters in a UTF-8 string (code points; what minLength/maxLength count).
size_t utf8_length(std::string_view utf8);

// A fixed rule: its name, its body, and the fixed rules the body refers to.
struct BuiltinRule {
    std::string_view name;
    std::string_view body;
    std::vector<std::string_view> deps;
};
// nullptr when `name` is not a fixed rule.
const BuiltinRule* find_builtin(std::string_view name);
// All fixed rule names in emission order (reserved: generated rules never take them).
const std::vector<BuiltinRule>& builtin_rules();

// String formats enforced as grammar: the quoted rule for `format`, nullptr when unknown.
struct FormatRule {
    std::string_view format;
    std::string_view rule;  // a builtin matching the quoted string
    size_t min_chars, max_chars;
};
const FormatRule* find_format(std::string_view format);

// GBNF alternatives matching the JSON integers in [lo, hi] (no bound: up to 19 digits, as
// the "integer" rule), without leading zeros or "-0". Requires lo <= hi when both are given;
// bounds lie within +-(10^19 - 1).
std::string integer_range_gbnf(std::optional<__int128> lo, std::optional<__int128> hi);

}  // namespace pagoda::grammar::json_schema_detail
