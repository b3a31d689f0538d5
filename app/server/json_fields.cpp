#include "server/json_fields.h"

#include <cmath>

namespace pagoda::server::fields {

const char* type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return "null";
        case Json::value_t::boolean: return "a boolean";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return "an integer";
        case Json::value_t::number_float: return "a decimal";
        case Json::value_t::string: return "a string";
        case Json::value_t::array: return "an array";
        case Json::value_t::object: return "an object";
        default: return "an unsupported value";
    }
}

ApiError wrong_type(const std::string& param, const char* expected, const Json& got) {
    return invalid_param(param, "Invalid type for '" + param + "': expected " + expected + ", but got " +
                                    type_name(got) + " instead.");
}

ApiError bad_value(const std::string& param, const std::string& what) {
    return invalid_param(param, "Invalid value for '" + param + "': " + what);
}

const Json* find(const Json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

namespace {
std::string name_of(const char* key, const std::string& param) { return param.empty() ? std::string(key) : param; }

std::string format_bound(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
    std::string s = std::to_string(v);
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s;
}
}  // namespace

Err read_bool(const Json& obj, const char* key, bool& out, const std::string& param) {
    const Json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) return wrong_type(name_of(key, param), "a boolean", *v);
    out = v->get<bool>();
    return std::nullopt;
}

Err read_string(const Json& obj, const char* key, std::string& out, const std::string& param) {
    const Json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return wrong_type(name_of(key, param), "a string", *v);
    out = v->get<std::string>();
    return std::nullopt;
}

Err read_string(const Json& obj, const char* key, std::optional<std::string>& out, const std::string& param) {
    const Json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return wrong_type(name_of(key, param), "a string", *v);
    out = v->get<std::string>();
    return std::nullopt;
}

Err read_float(const Json& obj, const char* key, double lo, double hi, std::optional<float>& out,
               const std::string& param) {
    const Json* v = find(obj, key);
    if (!v) return std::nullopt;
    const std::string p = name_of(key, param);
    if (!v->is_number()) return wrong_type(p, "a number", *v);
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) {
        return bad_value(p, "expected a number between " + format_bound(lo) + " and " + format_bound(hi) + ".");
    }
    out = static_cast<float>(d);
    return std::nullopt;
}

Err read_float(const Json& obj, const char* key, double lo, double hi, float& out, const std::string& param) {
    std::optional<float> v;
    if (auto e = read_float(obj, key, lo, hi, v, param)) return e;
    if (v) out = *v;
    return std::nullopt;
}

Err as_int(const Json& v, const std::string& param, int64_t lo, int64_t hi, int64_t& out) {
    int64_t value = 0;
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(INT64_MAX)) {
            return bad_value(param, "expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi) +
                                        ".");
        }
        value = static_cast<int64_t>(u);
    } else if (v.is_number_integer()) {
        value = v.get<int64_t>();
    } else if (v.is_number_float()) {
        const double d = v.get<double>();
        // 3.0 is an integer to Python-based servers too; 3.5 is not.
        if (!std::isfinite(d) || d != std::floor(d)) return wrong_type(param, "an integer", v);
        if (d < -9.2e18 || d > 9.2e18) {
            return bad_value(param, "expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi) +
                                        ".");
        }
        value = static_cast<int64_t>(d);
    } else {
        return wrong_type(param, "an integer", v);
    }
    if (value < lo || value > hi) {
        return bad_value(param,
                         "expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi) + ".");
    }
    out = value;
    return std::nullopt;
}

Err read_int(const Json& obj, const char* key, int64_t lo, int64_t hi, std::optional<int64_t>& out,
             const std::string& param) {
    const Json* v = find(obj, key);
    if (!v) return std::nullopt;
    int64_t value = 0;
    if (auto e = as_int(*v, name_of(key, param), lo, hi, value)) return e;
    out = value;
    return std::nullopt;
}

}  // namespace pagoda::server::fields
