// Number <-> text the way the reference interpreter (@huggingface/jinja, which runs on
// JavaScript numbers) spells them, so rendered prompts match it byte for byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pagoda::jinja {

// ECMAScript Number::toString: shortest round-trip digits, "1e+21", "1e-7", "NaN", "Infinity".
std::string js_number_to_string(double v);
// How the reference prints a float value: integral values keep one decimal ("3.0",
// "-0.0"), others as js_number_to_string.
std::string float_to_string(double v);
// ECMAScript ToNumber(string): "" and blanks are 0, hex/octal/binary prefixes, NaN on junk.
double js_string_to_number(std::string_view s);
// parseInt(s, 10) and parseFloat(s): the longest valid prefix after leading blanks;
// nullopt where JavaScript gives NaN.
std::optional<double> js_parse_int(std::string_view s);
std::optional<double> js_parse_float(std::string_view s);

}  // namespace pagoda::jinja
