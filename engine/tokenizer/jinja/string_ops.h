// String operations shared by the string methods ("x".split(...)) and the filters
// (x|title). Semantics are the reference's (@huggingface/jinja), which follow Python's
// str methods except where noted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::jinja {

// Upper-cases every ASCII letter that starts a run of [A-Za-z0-9_] (the reference's
// title(); unlike Python it leaves the other letters alone).
std::string title_case(std::string_view s);
// First character upper-cased, the rest kept (the reference's capitalize()).
std::string capitalize(std::string_view s);
// Python str.split(sep=None, maxsplit=-1). nullopt sep: split on runs of blanks.
std::vector<std::string> str_split(std::string_view s, std::optional<std::string_view> sep, int64_t maxsplit);
// Python str.replace(old, new, count); count < 0 replaces all. An empty `old` inserts
// `repl` between characters.
std::string str_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
// Python str.find / rfind in code points; -1 when absent.
int64_t str_find(std::string_view s, std::string_view sub, bool reverse);
// Splits into code points.
std::vector<std::string_view> code_points(std::string_view s);
// HTML escaping as markupsafe does it (& < > " ').
std::string html_escape(std::string_view s);

}  // namespace pagoda::jinja
