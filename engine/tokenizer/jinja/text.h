// UTF-8 helpers for the Jinja interpreter. Strings are UTF-8 bytes; where the
// reference (@huggingface/jinja, JavaScript) works on characters we work on code points,
// and "whitespace" means JavaScript's \s set (which includes U+00A0, U+2028, U+FEFF, ...).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pagoda::jinja::text {

// Decodes the code point at s[i] and advances i. Malformed bytes decode as U+FFFD
// and advance one byte, so loops always terminate.
char32_t decode(std::string_view s, size_t& i);
void append_utf8(std::string& out, char32_t cp);
// True when s is well-formed UTF-8 (no surrogates, no overlongs); otherwise sets
// bad_offset to the first offending byte.
bool is_valid_utf8(std::string_view s, size_t& bad_offset);

// JavaScript's /\s/ (WhiteSpace + LineTerminator).
bool is_space(char32_t cp);
// Bytes taken by a whitespace code point at s[i], 0 when s[i] does not start one.
size_t space_at(std::string_view s, size_t i);
// Bytes taken by a whitespace code point that ends at s[end), 0 when none.
size_t space_before(std::string_view s, size_t end);

std::string_view trim(std::string_view s);
std::string_view trim_start(std::string_view s);
std::string_view trim_end(std::string_view s);
// Python str.strip(chars): strips any code point that appears in chars.
std::string_view strip_chars(std::string_view s, std::string_view chars, bool left, bool right);

size_t code_point_count(std::string_view s);

// Case mapping for ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic, Armenian and
// fullwidth Latin (no ICU); other code points are kept.
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
char32_t upper_code_point(char32_t cp);
char32_t lower_code_point(char32_t cp);

}  // namespace pagoda::jinja::text
