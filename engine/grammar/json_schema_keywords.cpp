#include "grammar/json_schema_keywords.h"

#include <algorithm>
#include <cmath>

namespace pagoda::grammar::json_schema_detail {
namespace {

// clang-format off
// Supported keywords that constrain instances.
constexpr std::string_view kSupported[] = {
    "type", "enum", "const", "properties", "required", "additionalProperties", "minProperties", "maxProperties",
    "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength",
    "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref",
    "nullable",
};
// Keywords that would change what is valid and that the grammar cannot express.
constexpr std::string_view kRefused[] = {
    "pattern", "patternProperties", "not", "if", "then", "else", "dependentRequired", "dependentSchemas",
    "dependencies", "contains", "minContains", "maxContains", "propertyNames", "unevaluatedItems",
    "unevaluatedProperties", "multipleOf", "$dynamicRef", "$recursiveRef",
};
// clang-format on

bool contains_key(const auto& list, std::string_view key) {
    return std::find(std::begin(list), std::end(list), key) != std::end(list);
}

bool is_schema(const Json& v) { return v.is_object() || v.is_boolean(); }
bool is_trivial_schema(const Json& v) { return (v.is_boolean() && v.get<bool>()) || (v.is_object() && v.empty()); }

bool is_count(const Json& v) {
    if (v.is_number_unsigned()) return true;
    if (v.is_number_integer()) return v.get<int64_t>() >= 0;
    if (v.is_number_float()) {
        double d = v.get<double>();
        return std::isfinite(d) && d >= 0 && std::floor(d) == d;
    }
    return false;
}

unsigned type_name_bits(const std::string& name) {
    if (name == "null") return kTypeNull;
    if (name == "boolean") return kTypeBoolean;
    if (name == "integer") return kTypeInteger;
    if (name == "number") return kTypeNumber;
    if (name == "string") return kTypeString;
    if (name == "array") return kTypeArray;
    if (name == "object") return kTypeObject;
    return 0;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

double number_of(const Json& v) { return v.get<double>(); }

}  // namespace

Status refuse(const std::string& ptr, const std::string& what) {
    return invalid_argument((ptr.empty() ? "(root)" : ptr) + ": " + what);
}

std::string escape_pointer_token(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

unsigned schema_type_bits(const Json& s) {
    auto it = s.find("type");
    if (it == s.end()) return kTypeAll;
    unsigned bits = 0;
    if (it->is_string()) {
        bits = type_name_bits(it->get<std::string>());
    } else if (it->is_array()) {
        for (const auto& t : *it)
            if (t.is_string()) bits |= type_name_bits(t.get<std::string>());
    }
    auto nullable = s.find("nullable");
    if (nullable != s.end() && nullable->is_boolean() && nullable->get<bool>()) bits |= kTypeNull;
    return bits;
}

unsigned inferred_type_bits(const Json& s) {
    unsigned bits = 0;
    for (const auto& [key, value] : s.items()) {
        if (key == "properties" || key == "required" || key == "additionalProperties" || key == "minProperties" ||
            key == "maxProperties")
            bits |= kTypeObject;
        else if (key == "items" || key == "prefixItems" || key == "additionalItems" || key == "minItems" ||
                 key == "maxItems")
            bits |= kTypeArray;
        else if (key == "minLength" || key == "maxLength" || key == "format")
            bits |= kTypeString;
        else if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" || key == "exclusiveMaximum")
            bits |= kTypeNumber;
    }
    return bits;
}

unsigned value_type_bits(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return kTypeNull;
        case Json::value_t::boolean: return kTypeBoolean;
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return kTypeNumber;
        case Json::value_t::number_float: {
            double d = v.get<double>();
            return std::isfinite(d) && std::floor(d) == d ? kTypeNumber : (kTypeNumber & ~kTypeInteger);
        }
        case Json::value_t::string: return kTypeString;
        case Json::value_t::array: return kTypeArray;
        case Json::value_t::object: return kTypeObject;
        default: return 0;
    }
}

bool is_validation_keyword(std::string_view key) {
    return contains_key(kSupported, key) || contains_key(kRefused, key);
}

bool has_validation_keywords(const Json& s, std::initializer_list<std::string_view> except) {
    for (const auto& [key, value] : s.items())
        if (is_validation_keyword(key) && std::find(except.begin(), except.end(), key) == except.end()) return true;
    return false;
}

std::optional<uint64_t> count_keyword(const Json& s, const char* key) {
    auto it = s.find(key);
    if (it == s.end() || !is_count(*it)) return std::nullopt;
    if (it->is_number_unsigned()) return it->get<uint64_t>();
    double d = it->get<double>();
    return d > 1e15 ? (UINT64_C(1) << 50) : static_cast<uint64_t>(d);
}

Status check_schema_keywords(const Json& s, const std::string& ptr) {
    for (const auto& [key, value] : s.items()) {
        std::string kptr = ptr + "/" + escape_pointer_token(key);
        auto schema_error = [](const std::string& p) { return refuse(p, "a schema must be an object or a boolean"); };
        if (contains_key(kRefused, key)) {
            bool harmless = ((key == "propertyNames" || key == "unevaluatedItems" || key == "unevaluatedProperties") &&
                             is_trivial_schema(value));
            if (!harmless) return refuse(kptr, "'" + key + "' is not supported");
        } else if (key == "type") {
            auto bad = [&] { return refuse(kptr, "'type' must be a type name or a list of type names"); };
            if (value.is_string()) {
                if (!type_name_bits(value.get<std::string>()))
                    return refuse(kptr, "unknown type '" + value.get<std::string>() + "'");
            } else if (value.is_array() && !value.empty()) {
                for (const auto& t : value) {
                    if (!t.is_string()) return bad();
                    if (!type_name_bits(t.get<std::string>()))
                        return refuse(kptr, "unknown type '" + t.get<std::string>() + "'");
                }
            } else {
                return bad();
            }
        } else if (key == "properties") {
            if (!value.is_object()) return refuse(kptr, "'properties' must be an object");
            for (const auto& [name, sub] : value.items())
                if (!is_schema(sub)) return schema_error(kptr + "/" + escape_pointer_token(name));
        } else if (key == "required") {
            if (!value.is_array()) return refuse(kptr, "'required' must be an array of property names");
            for (const auto& r : value)
                if (!r.is_string()) return refuse(kptr, "'required' must be an array of property names");
        } else if (key == "additionalProperties" || key == "additionalItems") {
            if (!is_schema(value)) return schema_error(kptr);
        } else if (key == "items") {
            if (value.is_array()) {
                for (size_t i = 0; i < value.size(); ++i)
                    if (!is_schema(value[i])) return schema_error(kptr + "/" + std::to_string(i));
            } else if (!is_schema(value)) {
                return schema_error(kptr);
            }
        } else if (key == "prefixItems" || key == "anyOf" || key == "oneOf" || key == "allOf") {
            if (!value.is_array() || (key != "prefixItems" && value.empty()))
                return refuse(kptr, "'" + key + "' must be a non-empty array of schemas");
            for (size_t i = 0; i < value.size(); ++i)
                if (!is_schema(value[i])) return schema_error(kptr + "/" + std::to_string(i));
        } else if (key == "enum") {
            if (!value.is_array()) return refuse(kptr, "'enum' must be an array");
            if (value.empty()) return refuse(kptr, "'enum' is empty: no value is valid");
        } else if (key == "minItems" || key == "maxItems" || key == "minLength" || key == "maxLength" ||
                   key == "minProperties" || key == "maxProperties") {
            if (!is_count(value)) return refuse(kptr, "'" + key + "' must be a non-negative integer");
        } else if (key == "minimum" || key == "maximum") {
            if (!value.is_number()) return refuse(kptr, "'" + key + "' must be a number");
        } else if (key == "exclusiveMinimum" || key == "exclusiveMaximum") {
            if (!value.is_number() && !value.is_boolean()) return refuse(kptr, "'" + key + "' must be a number");
        } else if (key == "format" || key == "$ref") {
            if (!value.is_string()) return refuse(kptr, "'" + key + "' must be a string");
        } else if (key == "nullable") {
            if (!value.is_boolean()) return refuse(kptr, "'nullable' must be a boolean");
        } else if (key == "uniqueItems") {
            if (!value.is_boolean()) return refuse(kptr, "'uniqueItems' must be a boolean");
            if (value.get<bool>()) {
                auto max_items = count_keyword(s, "maxItems");
                if (!max_items || *max_items > 1) return refuse(kptr, "'uniqueItems' true is not supported");
            }
        } else if (key == "$defs" || key == "definitions") {
            if (!value.is_object()) return refuse(kptr, "'" + key + "' must be an object");
        }
    }
    return Status::ok();
}

Result<std::pair<const Json*, std::string>> resolve_ref(const Json& root, const Json& ref, const std::string& ptr) {
    if (!ref.is_string()) return refuse(ptr, "'$ref' must be a string");
    const std::string& text = ref.get_ref<const std::string&>();
    if (text == "#") return std::pair<const Json*, std::string>{&root, ""};
    if (text.rfind("#/", 0) != 0)
        return refuse(
            ptr, "only local references ('#', '#/$defs/name', '#/definitions/name') are supported, not '" + text + "'");
    try {
        Json::json_pointer pointer(percent_decode(std::string_view(text).substr(1)));
        if (!root.contains(pointer)) return refuse(ptr, "'" + text + "' does not name a part of the schema");
        return std::pair<const Json*, std::string>{&root.at(pointer), pointer.to_string()};
    } catch (const nlohmann::json::exception&) {
        return refuse(ptr, "'" + text + "' is not a valid JSON pointer");
    }
}

size_t json_node_count(const Json& v, size_t cap) {
    size_t n = 0;
    std::vector<const Json*> todo = {&v};
    while (!todo.empty() && n <= cap) {
        const Json* x = todo.back();
        todo.pop_back();
        ++n;
        if (x->is_structured())
            for (const auto& child : *x) todo.push_back(&child);
    }
    return n;
}

Result<Json> merge_schema_parts(const std::vector<SchemaPart>& parts, const std::string& ptr, size_t& steps,
                                size_t max_steps, bool* unsatisfiable) {
    auto unsat = [&](const std::string& what) {
        if (unsatisfiable) *unsatisfiable = true;
        return refuse(ptr, what);
    };
    Json merged = Json::object();
    unsigned types = kTypeAll;
    Json props = Json::object();
    std::vector<std::string> required;
    std::optional<std::vector<std::string>> allowed;  // keys left by additionalProperties false
    std::optional<std::vector<Json>> values;          // enum/const intersection
    std::optional<Json> any_of;

    for (const auto& part : parts) {
        const Json& s = part.schema;
        types &= schema_type_bits(s);
        for (const auto& [key, value] : s.items()) {
            std::string kptr = part.ptr + "/" + escape_pointer_token(key);
            if (key == "type" || key == "nullable" || key == "$defs" || key == "definitions") continue;
            if (key == "properties") {
                for (const auto& [name, sub] : value.items()) {
                    if (props.contains(name))
                        props[name] = Json{{"allOf", Json::array({props[name], sub})}};
                    else
                        props[name] = sub;
                }
            } else if (key == "required") {
                for (const auto& r : value)
                    if (std::find(required.begin(), required.end(), r.get<std::string>()) == required.end())
                        required.push_back(r.get<std::string>());
            } else if (key == "additionalProperties") {
                if (is_trivial_schema(value)) continue;
                if (!value.is_boolean())
                    return refuse(kptr, "'additionalProperties' with a schema cannot be combined with other schemas");
                std::vector<std::string> names;
                if (s.contains("properties"))
                    for (const auto& [name, sub] : s["properties"].items()) names.push_back(name);
                if (allowed) {
                    std::erase_if(*allowed, [&](const std::string& n) {
                        return std::find(names.begin(), names.end(), n) == names.end();
                    });
                } else {
                    allowed = std::move(names);
                }
            } else if (key == "anyOf" || key == "oneOf") {
                if (!any_of) {
                    any_of = value;
                    continue;
                }
                // Every pair is copied: charge the nodes before building anything.
                size_t left = 0, right = 0;
                for (const auto& a : *any_of) left += json_node_count(a, max_steps);
                for (const auto& b : value) right += json_node_count(b, max_steps);
                steps += left * value.size() + right * any_of->size() + any_of->size() * value.size();
                if (steps > max_steps) return refuse(kptr, "too many combinations of anyOf/oneOf branches");
                Json product = Json::array();
                for (const auto& a : *any_of)
                    for (const auto& b : value) product.push_back(Json{{"allOf", Json::array({a, b})}});
                any_of = std::move(product);
            } else if (key == "enum" || key == "const") {
                std::vector<Json> these;
                if (key == "const")
                    these.push_back(value);
                else
                    these.assign(value.begin(), value.end());
                if (!values) {
                    values = std::move(these);
                } else {
                    std::erase_if(*values, [&](const Json& v) {
                        return std::find(these.begin(), these.end(), v) == these.end();
                    });
                }
            } else if ((key == "minItems" || key == "minLength" || key == "minProperties" || key == "minimum" ||
                        key == "maxItems" || key == "maxLength" || key == "maxProperties" || key == "maximum") &&
                       value.is_number()) {
                bool is_min = key.rfind("min", 0) == 0;
                if (!merged.contains(key) ||
                    (is_min ? number_of(value) > number_of(merged[key]) : number_of(value) < number_of(merged[key])))
                    merged[key] = value;
            } else if ((key == "items" || key == "additionalItems") && merged.contains(key) && merged[key] != value) {
                if (value.is_array() || merged[key].is_array())
                    return refuse(kptr, "conflicting '" + key + "' arrays in combined schemas are not supported");
                merged[key] = Json{{"allOf", Json::array({merged[key], value})}};
            } else if (is_validation_keyword(key)) {
                if (merged.contains(key) && merged[key] != value)
                    return refuse(kptr, "conflicting '" + key + "' values in combined schemas are not supported");
                merged[key] = value;
            }
        }
    }
    if (types == 0) return unsat("the combined schemas allow no type");
    if (types != kTypeAll) {
        Json list = Json::array();
        if (types & kTypeObject) list.push_back("object");
        if (types & kTypeArray) list.push_back("array");
        if (types & kTypeString) list.push_back("string");
        if ((types & kTypeNumber) == kTypeNumber)
            list.push_back("number");
        else if (types & kTypeInteger)
            list.push_back("integer");
        if (types & kTypeBoolean) list.push_back("boolean");
        if (types & kTypeNull) list.push_back("null");
        merged["type"] = list;
    }
    if (allowed) {
        Json kept = Json::object();
        for (const auto& [name, sub] : props.items())
            if (std::find(allowed->begin(), allowed->end(), name) != allowed->end()) kept[name] = sub;
        props = std::move(kept);
        for (const auto& r : required)
            if (std::find(allowed->begin(), allowed->end(), r) == allowed->end())
                return unsat("required property '" + r + "' is excluded by additionalProperties false");
        merged["additionalProperties"] = false;
    }
    if (!props.empty()) merged["properties"] = std::move(props);
    if (!required.empty()) merged["required"] = required;
    if (any_of) merged["anyOf"] = std::move(*any_of);
    if (values) {
        if (values->empty()) return unsat("no value satisfies every 'enum'/'const' of the combined schemas");
        merged["enum"] = Json(*values);
    }
    return merged;
}

}  // namespace pagoda::grammar::json_schema_detail
