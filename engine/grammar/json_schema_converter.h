// The converter behind json_schema_to_gbnf(), shared by json_schema_grammar.cpp (schema
// dispatch, $ref, allOf/anyOf, enum, rule bookkeeping) and json_schema_values.cpp (the
// grammar of strings, integers, objects and arrays).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "grammar/json_schema_grammar.h"
#include "grammar/json_schema_keywords.h"
#include "grammar/json_schema_rules.h"

namespace pagoda::grammar::json_schema_detail {

// A grammar expression for one schema: a rule name or a short sequence, plus the $ref
// rules that can come first in it (to find left recursion such as {"$ref": "#"}).
struct Expr {
    std::string text;
    std::vector<std::string> heads;
};

#define JS_TRY(var, expr)                                    \
    auto var##_result = (expr);                              \
    if (!var##_result.is_ok()) return var##_result.status(); \
    auto var = std::move(var##_result).value()

inline bool is_simple_name(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    });
}

inline std::string opt(const std::string& x) { return is_simple_name(x) ? x + "?" : "( " + x + " )?"; }

// GBNF repetition suffix for a..b (b empty: unbounded).
inline std::string repetition(uint64_t a, std::optional<uint64_t> b) {
    if (!b && a <= 1) return a == 0 ? "*" : "+";
    if (b && a == 0 && *b == 1) return "?";
    if (b && a == *b && a == 1) return "";
    // Appends, not operator+ chains: GCC 12 warns (-Wrestrict) wrongly on "{" + to_string().
    std::string out = "{";
    out += std::to_string(a);
    if (!b || *b != a) {
        out += ',';
        if (b) out += std::to_string(*b);
    }
    out += '}';
    return out;
}

class Converter {
public:
    Converter(const Json& root, const JsonSchemaLimits& limits) : root_(root), limits_(limits) {
        for (const auto& rule : builtin_rules()) used_names_.insert(std::string(rule.name));
    }

    Result<std::string> run();

private:
    Status step(const std::string& ptr, int depth);
    Result<Expr> convert(const Json& s, const std::string& ptr, int depth, const std::string& hint);
    Result<Expr> convert_merged(const Json& s, const std::string& ptr, int depth, const std::string& hint);
    Result<Expr> convert_any_of(const Json& s, const std::string& ptr, int depth, const std::string& hint);
    Result<Expr> convert_enum(const Json& s, const std::string& ptr, const std::string& hint);
    Result<Expr> convert_typed(const Json& s, const std::string& ptr, int depth, const std::string& hint);
    Result<std::string> integer_expr(const Json& s, const std::string& ptr, const std::string& hint);
    Result<std::string> string_expr(const Json& s, const std::string& ptr, const std::string& hint);
    Result<std::string> object_expr(const Json& s, const std::string& ptr, int depth, const std::string& hint);
    Result<std::string> array_expr(const Json& s, const std::string& ptr, int depth, const std::string& hint);
    Result<Expr> ref_expr(const Json& ref, const std::string& ptr);
    Status collect_parts(const Json& s, const std::string& ptr, int depth, std::vector<SchemaPart>& out);
    Status charge(const std::string& ptr, size_t nodes);
    // A min/max pair used as a repetition: each within max_repeat; the larger is charged.
    Status charge_repeat(const std::string& lo_ptr, std::optional<uint64_t> lo, const std::string& hi_ptr,
                         std::optional<uint64_t> hi);

    std::string use(std::string_view builtin);
    std::string new_name(const std::string& hint);
    Result<std::string> add_rule(const std::string& hint, const std::string& body);
    Status check_ref_cycles() const;

    const Json& root_;
    JsonSchemaLimits limits_;
    size_t steps_ = 0;
    size_t repeat_total_ = 0;

    std::vector<std::pair<std::string, std::string>> rules_;  // name, body; [0] is root
    std::unordered_map<std::string, std::string> body_names_;
    std::unordered_set<std::string> used_names_;
    std::set<std::string> builtins_used_;

    struct RefRule {
        const Json* target;
        std::string ptr;  // JSON pointer of the target
        size_t rule;      // index in rules_
        std::vector<std::string> heads;
    };
    std::unordered_map<std::string, std::string> ref_names_;  // target pointer -> rule name
    std::unordered_map<std::string, RefRule> ref_rules_;      // rule name -> target
    std::deque<std::string> pending_;                         // ref rule names to generate
};

}  // namespace pagoda::grammar::json_schema_detail
