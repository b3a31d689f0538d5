// Shared between filters.cpp and filters_list.cpp.
#pragma once

#include <string_view>

#include "tokenizer/jinja/interpreter.h"

namespace pagoda::jinja {

[[noreturn]] void filter_type_error(std::string_view name, const Value& v);
// The n-th positional or the named argument's truthiness, def when absent.
bool arg_truthy(const CallArgs& args, size_t n, std::string_view name, bool def);
// Filters on lists (and their string/dict variants): join, first, last, list, reverse,
// sort, unique, map, select, reject, selectattr, rejectattr, min, max, sum. Returns
// false when `name` is not one of them.
bool run_list_filter(Interpreter& in, std::string_view name, const Value& v, CallArgs& args, Scope& scope,
                     uint32_t offset, Value& out);

}  // namespace pagoda::jinja
