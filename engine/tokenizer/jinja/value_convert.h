// Values to text: how `{{ x }}` prints, how `~`/`+`/join stringify, and `tojson`,
// each spelled as the reference (@huggingface/jinja) spells it. All of them stop with a
// limit error once the text passes max_bytes, so a value that shares one big list many
// times over cannot explode into a giant string.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

// `{{ x }}`: "true"/"false", integral floats as "3.0", lists and dicts as JSON.
std::string to_output_string(const Value& v, size_t max_bytes);
void append_output_string(std::string& out, const Value& v, size_t max_bytes);
// JavaScript String(x) of the underlying value (used by `~`, `+` and join): floats in
// shortest form ("1" for 1.0), lists joined by ",", dicts as "[object Map]".
std::string to_js_string(const Value& v, size_t max_bytes);

struct JsonOptions {
    std::optional<int64_t> indent;  // spaces; none or 0 means single-line
    bool ensure_ascii = false;
    bool sort_keys = false;
    std::optional<std::pair<std::string, std::string>> separators;  // item, key
};
// Python json.dumps spelling as the reference produces it: ", " and ": " separators
// ("," when indenting), non-ASCII kept unless ensure_ascii, floats in JavaScript form.
// undefined_as_null: the `tojson` filter writes undefined as null; printing a list
// writes "undefined".
void append_json(std::string& out, const Value& v, const JsonOptions& options, bool undefined_as_null,
                 size_t max_bytes);
// A JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s, bool ensure_ascii);

// The reference's ordering for sort/dictsort: numbers (and booleans) by value, strings
// by code point (lowercased unless case_sensitive), none with none; anything else is an
// error. Returns <0, 0, >0.
int compare_values(const Value& a, const Value& b, bool case_sensitive);

}  // namespace pagoda::jinja
