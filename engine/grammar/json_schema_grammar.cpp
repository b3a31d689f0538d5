// JSON Schema -> GBNF. One pass over the schema from the root; every $ref target becomes
// one named rule generated once (queued, so recursion never loops), allOf parts are merged
// into one schema before conversion, and every step is counted so that hostile schemas
// (deep nesting, allOf of anyOfs multiplying out) are refused instead of blowing up.
#include "grammar/json_schema_grammar.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "grammar/json_schema_converter.h"

namespace pagoda::grammar {
namespace json_schema_detail {
namespace {

std::string sanitize_name(std::string_view hint) {
    std::string out;
    for (char c : hint) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (ok)
            out += c;
        else if (!out.empty() && out.back() != '-')
            out += '-';
        if (out.size() >= 32) break;
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out.empty() ? "schema" : out;
}

// minimum/maximum/exclusive* (numbers, or draft-4 booleans) for enum/const values.
bool number_in_bounds(const Json& s, double x) {
    auto num = [&](const char* key) -> std::optional<double> {
        auto it = s.find(key);
        if (it == s.end() || !it->is_number()) return std::nullopt;
        return it->get<double>();
    };
    auto flag = [&](const char* key) {
        auto it = s.find(key);
        return it != s.end() && it->is_boolean() && it->get<bool>();
    };
    if (auto lo = num("minimum"); lo && (flag("exclusiveMinimum") ? x <= *lo : x < *lo)) return false;
    if (auto hi = num("maximum"); hi && (flag("exclusiveMaximum") ? x >= *hi : x > *hi)) return false;
    if (auto lo = num("exclusiveMinimum"); lo && x <= *lo) return false;
    if (auto hi = num("exclusiveMaximum"); hi && x >= *hi) return false;
    return true;
}

}  // namespace

Status Converter::step(const std::string& ptr, int depth) {
    if (depth > limits_.max_depth)
        return refuse(ptr, "schema nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    if (++steps_ > limits_.max_steps)
        return refuse(ptr, "schema too complex (more than " + std::to_string(limits_.max_steps) +
                               " schema nodes visited or copied by allOf/anyOf combinations)");
    return Status::ok();
}

Status Converter::charge(const std::string& ptr, size_t nodes) {
    steps_ += nodes;
    if (steps_ > limits_.max_steps)
        return refuse(ptr, "schema too complex (more than " + std::to_string(limits_.max_steps) +
                               " schema nodes visited or copied by allOf/anyOf combinations)");
    return Status::ok();
}

Status Converter::charge_repeat(const std::string& lo_ptr, std::optional<uint64_t> lo, const std::string& hi_ptr,
                                std::optional<uint64_t> hi) {
    const uint64_t limit = static_cast<uint64_t>(limits_.max_repeat);
    if (lo && *lo > limit)
        return refuse(lo_ptr, std::to_string(*lo) + " is above the supported bound " + std::to_string(limit));
    if (hi && *hi > limit)
        return refuse(hi_ptr, std::to_string(*hi) + " is above the supported bound " + std::to_string(limit));
    repeat_total_ += std::max(lo.value_or(0), hi.value_or(0));
    if (repeat_total_ > limits_.max_repeat_total)
        return refuse(hi ? hi_ptr : lo_ptr, "the length bounds of the schema add up to more than " +
                                                std::to_string(limits_.max_repeat_total));
    return Status::ok();
}

std::string Converter::use(std::string_view builtin) {
    if (builtins_used_.insert(std::string(builtin)).second) {
        const BuiltinRule* rule = find_builtin(builtin);
        assert(rule != nullptr);
        for (auto dep : rule->deps) use(dep);
    }
    return std::string(builtin);
}

std::string Converter::new_name(const std::string& hint) {
    std::string base = sanitize_name(hint);
    std::string name = base;
    for (size_t n = 2; used_names_.count(name); ++n) name = base + "-" + std::to_string(n);
    used_names_.insert(name);
    return name;
}

Result<std::string> Converter::add_rule(const std::string& hint, const std::string& body) {
    auto it = body_names_.find(body);
    if (it != body_names_.end()) return it->second;
    if (rules_.size() + 1 > limits_.max_rules)
        return invalid_argument("schema needs more than " + std::to_string(limits_.max_rules) + " grammar rules");
    std::string name = new_name(hint);
    rules_.emplace_back(name, body);
    body_names_.emplace(body, name);
    return name;
}

Result<Expr> Converter::ref_expr(const Json& ref, const std::string& ptr) {
    JS_TRY(target, resolve_ref(root_, ref, ptr));
    auto it = ref_names_.find(target.second);
    if (it != ref_names_.end()) return Expr{it->second, {it->second}};
    if (rules_.size() + 1 > limits_.max_rules)
        return invalid_argument("schema needs more than " + std::to_string(limits_.max_rules) + " grammar rules");
    std::string hint = target.second.substr(target.second.rfind('/') + 1);
    std::string name = new_name(hint.empty() ? "ref" : hint);
    rules_.emplace_back(name, "");
    ref_names_.emplace(target.second, name);
    ref_rules_.emplace(name, RefRule{target.first, target.second, rules_.size() - 1, {}});
    pending_.push_back(name);
    return Expr{name, {name}};
}

Result<Expr> Converter::convert(const Json& s, const std::string& ptr, int depth, const std::string& hint) {
    PAGODA_RETURN_IF_ERROR(step(ptr, depth));
    if (s.is_boolean()) {
        if (s.get<bool>()) return Expr{use("value"), {}};
        return refuse(ptr, "schema false matches no value");
    }
    if (!s.is_object()) return refuse(ptr, "a schema must be an object or a boolean");
    PAGODA_RETURN_IF_ERROR(check_schema_keywords(s, ptr));

    if (s.contains("$ref")) {
        // Draft 2019+: a $ref with sibling keywords is the allOf of both.
        if (has_validation_keywords(s, {"$ref"})) return convert_merged(s, ptr, depth, hint);
        return ref_expr(s["$ref"], ptr + "/$ref");
    }
    if (s.contains("allOf") || (s.contains("anyOf") && s.contains("oneOf"))) return convert_merged(s, ptr, depth, hint);
    if (s.contains("anyOf") || s.contains("oneOf")) return convert_any_of(s, ptr, depth, hint);
    if (s.contains("enum") || s.contains("const")) return convert_enum(s, ptr, hint);
    return convert_typed(s, ptr, depth, hint);
}

Status Converter::collect_parts(const Json& s, const std::string& ptr, int depth, std::vector<SchemaPart>& out) {
    PAGODA_RETURN_IF_ERROR(step(ptr, depth));
    if (s.is_boolean()) {
        if (s.get<bool>()) return Status::ok();
        return refuse(ptr, "schema false matches no value");
    }
    if (!s.is_object()) return refuse(ptr, "a schema must be an object or a boolean");
    PAGODA_RETURN_IF_ERROR(check_schema_keywords(s, ptr));
    if (s.contains("$ref")) {
        JS_TRY(target, resolve_ref(root_, s["$ref"], ptr + "/$ref"));
        PAGODA_RETURN_IF_ERROR(collect_parts(*target.first, target.second, depth + 1, out));
    }
    if (s.contains("allOf")) {
        const Json& parts = s["allOf"];
        for (size_t i = 0; i < parts.size(); ++i)
            PAGODA_RETURN_IF_ERROR(collect_parts(parts[i], ptr + "/allOf/" + std::to_string(i), depth + 1, out));
    }
    Json own = Json::object();
    for (const auto& [key, value] : s.items())
        if (key != "$ref" && key != "allOf") own[key] = value;
    PAGODA_RETURN_IF_ERROR(charge(ptr, json_node_count(own, limits_.max_steps)));
    out.push_back({std::move(own), ptr});
    return Status::ok();
}

Result<Expr> Converter::convert_merged(const Json& s, const std::string& ptr, int depth, const std::string& hint) {
    std::vector<SchemaPart> parts;
    PAGODA_RETURN_IF_ERROR(collect_parts(s, ptr, depth, parts));
    JS_TRY(merged, merge_schema_parts(parts, ptr, steps_, limits_.max_steps));
    return convert(merged, ptr, depth + 1, hint);
}

Result<Expr> Converter::convert_any_of(const Json& s, const std::string& ptr, int depth, const std::string& hint) {
    const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
    const Json& branches = s[key];
    Json siblings = Json::object();
    for (const auto& [k, v] : s.items())
        if (k != key) siblings[k] = v;
    bool merge_siblings = has_validation_keywords(siblings, {});

    std::vector<std::string> alternatives;
    std::vector<std::string> heads;
    for (size_t i = 0; i < branches.size(); ++i) {
        const Json& branch = branches[i];
        if (branch.is_boolean() && !branch.get<bool>()) continue;  // matches nothing: not an alternative
        std::string bptr = ptr + "/" + key + "/" + std::to_string(i);
        Result<Expr> e = Expr{};
        bool combined = branch.is_object() && (branch.contains("allOf") || (branch.contains("$ref") &&
                                                                            has_validation_keywords(branch, {"$ref"})));
        if (merge_siblings || combined) {
            // Keywords next to anyOf hold for every branch: convert allOf(siblings, branch). A
            // combination that nothing satisfies is no alternative rather than an error.
            std::vector<SchemaPart> parts;
            if (merge_siblings) {
                PAGODA_RETURN_IF_ERROR(charge(bptr, json_node_count(siblings, limits_.max_steps)));
                parts.push_back({siblings, ptr});
            }
            PAGODA_RETURN_IF_ERROR(collect_parts(branch, bptr, depth + 1, parts));
            bool unsatisfiable = false;
            Result<Json> merged = merge_schema_parts(parts, bptr, steps_, limits_.max_steps, &unsatisfiable);
            if (unsatisfiable) continue;
            if (!merged.is_ok()) return merged.status();
            e = convert(merged.value(), bptr, depth + 1, hint);
        } else {
            e = convert(branch, bptr, depth + 1, hint);
        }
        if (!e.is_ok()) return e.status();
        if (std::find(alternatives.begin(), alternatives.end(), e->text) == alternatives.end())
            alternatives.push_back(e->text);
        heads.insert(heads.end(), e->heads.begin(), e->heads.end());
    }
    if (alternatives.empty()) return refuse(ptr + "/" + key, "no branch can match a value");
    if (alternatives.size() == 1) return Expr{alternatives[0], heads};
    std::string body;
    for (const auto& a : alternatives) body += (body.empty() ? "" : " | ") + a;
    JS_TRY(name, add_rule(hint, body));
    return Expr{name, heads};
}

Result<Expr> Converter::convert_enum(const Json& s, const std::string& ptr, const std::string& hint) {
    for (const auto& [key, value] : s.items()) {
        // Keywords checked on each value below; anything else next to enum/const is refused.
        static const std::set<std::string> kWith = {
            "enum",      "const",   "type",    "nullable",         "minLength",
            "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
        bool ignored_format = key == "format" && !find_format(value.get<std::string>());
        if (!kWith.count(key) && !ignored_format && is_validation_keyword(key))
            return refuse(ptr + "/" + escape_pointer_token(key),
                          "'" + key + "' together with 'enum'/'const' is not supported");
    }
    std::vector<const Json*> values;
    if (s.contains("const")) {
        values.push_back(&s["const"]);
        if (s.contains("enum")) {
            const Json& e = s["enum"];
            if (std::find(e.begin(), e.end(), s["const"]) == e.end()) values.clear();
        }
    } else {
        for (const auto& v : s["enum"]) values.push_back(&v);
    }
    unsigned types = schema_type_bits(s);
    std::optional<uint64_t> min_len, max_len;
    min_len = count_keyword(s, "minLength");
    max_len = count_keyword(s, "maxLength");
    std::vector<std::string> literals;
    for (const Json* v : values) {
        if (!(value_type_bits(*v) & types)) continue;
        if (v->is_string()) {
            size_t n = utf8_length(v->get_ref<const std::string&>());
            if ((min_len && n < *min_len) || (max_len && n > *max_len)) continue;
        }
        if (v->is_number() && !number_in_bounds(s, v->get<double>())) continue;
        std::string lit = gbnf_literal(compact_json(*v));
        if (std::find(literals.begin(), literals.end(), lit) == literals.end()) literals.push_back(lit);
    }
    if (literals.empty())
        return refuse(ptr + (s.contains("const") ? "/const" : "/enum"), "no 'enum'/'const' value satisfies the schema");
    std::string body;
    for (const auto& l : literals) body += (body.empty() ? "" : " | ") + l;
    if (body.size() > limits_.max_gbnf_bytes) return refuse(ptr, "'enum'/'const' values are too long for a grammar");
    JS_TRY(name, add_rule(hint, body));
    return Expr{name, {}};
}

Result<Expr> Converter::convert_typed(const Json& s, const std::string& ptr, int depth, const std::string& hint) {
    unsigned types = schema_type_bits(s);
    if (!s.contains("type")) {
        unsigned inferred = inferred_type_bits(s);
        if (inferred) types = inferred | (s.value("nullable", false) ? kTypeNull : 0u);
    }
    if (types == kTypeAll && !s.contains("type") && !inferred_type_bits(s)) return Expr{use("value"), {}};
    std::vector<std::string> alternatives;
    if (types & kTypeObject) {
        JS_TRY(e, object_expr(s, ptr, depth, hint));
        alternatives.push_back(e);
    }
    if (types & kTypeArray) {
        JS_TRY(e, array_expr(s, ptr, depth, hint));
        alternatives.push_back(e);
    }
    if (types & kTypeString) {
        JS_TRY(e, string_expr(s, ptr, hint));
        alternatives.push_back(e);
    }
    if ((types & kTypeNumber) == kTypeNumber)
        alternatives.push_back(use("number"));
    else if (types & kTypeInteger) {
        JS_TRY(e, integer_expr(s, ptr, hint));
        alternatives.push_back(e);
    }
    if (types & kTypeBoolean) alternatives.push_back(use("boolean"));
    if (types & kTypeNull) alternatives.push_back(use("null"));
    if (alternatives.empty()) return refuse(ptr + "/type", "no type can match a value");
    if (alternatives.size() == 1) return Expr{alternatives[0], {}};
    std::string body;
    for (const auto& a : alternatives) body += (body.empty() ? "" : " | ") + a;
    JS_TRY(name, add_rule(hint, body));
    return Expr{name, {}};
}

Status Converter::check_ref_cycles() const {
    // Left recursion through $ref rules (e.g. {"$ref": "#"} or anyOf [{"$ref": "#"}, ...])
    // would never consume input: find a cycle in "can start with" edges.
    std::unordered_map<std::string, int> state;  // 1 visiting, 2 done
    std::function<std::optional<std::string>(const std::string&)> visit =
        [&](const std::string& name) -> std::optional<std::string> {
        int& st = state[name];
        if (st == 2) return std::nullopt;
        if (st == 1) return name;
        st = 1;
        for (const auto& h : ref_rules_.at(name).heads)
            if (auto c = visit(h)) return c;
        state[name] = 2;
        return std::nullopt;
    };
    for (const auto& [name, rule] : ref_rules_)
        if (auto c = visit(name))
            return refuse(ref_rules_.at(*c).ptr,
                          "'$ref' recursion that can start a value with itself (no finite value)");
    return Status::ok();
}

Result<std::string> Converter::run() {
    rules_.emplace_back("root", "");
    used_names_.insert("root");
    ref_names_.emplace("", "root");
    ref_rules_.emplace("root", RefRule{&root_, "", 0, {}});
    pending_.push_back("root");
    while (!pending_.empty()) {
        std::string name = pending_.front();
        pending_.pop_front();
        RefRule& rule = ref_rules_.at(name);
        const Json* target = rule.target;
        std::string ptr = rule.ptr;
        size_t index = rule.rule;
        JS_TRY(e, convert(*target, ptr, 0, name == "root" ? "root" : name));
        rules_[index].second = e.text;
        ref_rules_.at(name).heads = e.heads;
    }
    PAGODA_RETURN_IF_ERROR(check_ref_cycles());
    std::string out;
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    for (const auto& rule : builtin_rules())
        if (builtins_used_.count(std::string(rule.name)))
            out += std::string(rule.name) + " ::= " + std::string(rule.body) + "\n";
    if (out.size() > limits_.max_gbnf_bytes)
        return invalid_argument("the grammar for this schema is larger than " + std::to_string(limits_.max_gbnf_bytes) +
                                " bytes");
    return out;
}

}  // namespace json_schema_detail

using namespace json_schema_detail;

Result<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema, const JsonSchemaLimits& limits) {
    try {
        Converter converter(schema, limits);
        return converter.run();
    } catch (const nlohmann::json::exception& e) {
        // Not expected (keywords are checked before use); a malformed schema, never a crash.
        return invalid_argument(std::string("malformed schema: ") + e.what());
    }
}

std::string json_object_gbnf() {
    std::string out = "root ::= object\n";
    std::set<std::string_view> needed;
    std::function<void(std::string_view)> add = [&](std::string_view name) {
        if (!needed.insert(name).second) return;
        for (auto dep : find_builtin(name)->deps) add(dep);
    };
    add("object");
    for (const auto& rule : builtin_rules())
        if (needed.count(rule.name)) out += std::string(rule.name) + " ::= " + std::string(rule.body) + "\n";
    return out;
}

}  // namespace pagoda::grammar