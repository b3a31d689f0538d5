#include "tokenizer/jinja/json_input.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pagoda::jinja {

namespace {

// A canonical array index: "0" or digits without a leading zero, below 2^32 - 1.
bool is_array_index(const std::string& key, uint64_t& index) {
    if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
    index = 0;
    for (char c : key) {
        if (c < '0' || c > '9') return false;
        index = index * 10 + static_cast<uint64_t>(c - '0');
    }
    return index < 4294967295ull;
}

Value number(double d) {
    // JSON.parse gives doubles; the reference calls integral ones integers.
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) return Value::integer(static_cast<int64_t>(d));
    return Value::floating(d);
}

Value convert(const nlohmann::ordered_json& j, int depth, int max_depth) {
    if (depth > max_depth) throw std::length_error("JSON nests deeper than " + std::to_string(max_depth) + " levels");
    switch (j.type()) {
        case nlohmann::json::value_t::null: return Value::none();
        case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
        case nlohmann::json::value_t::number_integer: return Value::integer(j.get<int64_t>());
        case nlohmann::json::value_t::number_unsigned: {
            const uint64_t u = j.get<uint64_t>();
            if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::integer(static_cast<int64_t>(u));
            return Value::floating(static_cast<double>(u));
        }
        case nlohmann::json::value_t::number_float: return number(j.get<double>());
        case nlohmann::json::value_t::string: return Value::string(j.get<std::string>());
        case nlohmann::json::value_t::array: {
            auto arr = std::make_shared<Array>();
            arr->reserve(j.size());
            for (const auto& item : j) arr->push_back(convert(item, depth + 1, max_depth));
            return Value::array(std::move(arr));
        }
        case nlohmann::json::value_t::object: {
            auto obj = std::make_shared<Object>();
            std::vector<std::pair<uint64_t, const std::string*>> indices;
            for (auto it = j.begin(); it != j.end(); ++it) {
                uint64_t index = 0;
                if (is_array_index(it.key(), index)) indices.emplace_back(index, &it.key());
            }
            std::sort(indices.begin(), indices.end());
            for (const auto& [index, key] : indices) obj->set(*key, convert(j.at(*key), depth + 1, max_depth));
            for (auto it = j.begin(); it != j.end(); ++it) {
                uint64_t index = 0;
                if (!is_array_index(it.key(), index)) obj->set(it.key(), convert(it.value(), depth + 1, max_depth));
            }
            return Value::object(std::move(obj));
        }
        default: return Value::none();  // binary / discarded: not produced by the JSON parser
    }
}

}  // namespace

Result<Value> value_from_json(const nlohmann::ordered_json& json, int max_depth) {
    try {
        return convert(json, 0, max_depth);
    } catch (const std::length_error& e) {
        return invalid_argument(e.what());
    }
}

}  // namespace pagoda::jinja
