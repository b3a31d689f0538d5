#include <algorithm>

#include "tokenizer/jinja/filters_internal.h"
#include "tokenizer/jinja/string_ops.h"
#include "tokenizer/jinja/value_convert.h"

namespace pagoda::jinja {

namespace {

// "a.b.0": dict keys and list indices, undefined when any step is missing (the
// reference's attribute paths for sort/map).
Value attribute_path(const Value& item, const std::string& path) {
    Value v = item;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (v.is_mapping_like()) {
            const Value* found = v.obj().find(part);
            v = found ? *found : Value::undefined();
        } else if (v.is_array()) {
            size_t idx = 0;
            bool digits = !part.empty() && part.size() < 10;
            for (char c : part) {
                digits = digits && c >= '0' && c <= '9';
                if (digits) idx = idx * 10 + static_cast<size_t>(c - '0');
            }
            if (!digits || idx >= v.arr().size()) return Value::undefined();
            v = v.arr()[idx];
        } else {
            return Value::undefined();
        }
        if (dot == std::string::npos) return v;
        start = dot + 1;
    }
}

const Array& expect_list(std::string_view name, const Value& v) {
    if (!v.is_array()) filter_type_error(name, v);
    return v.arr();
}

// Test name and its arguments from a filter's positional arguments starting at `from`.
bool item_passes(Interpreter& in, const CallArgs& args, size_t from, const Value& item, uint32_t offset) {
    if (args.positional.size() <= from) return item.truthy();
    const Value& test_name = args.positional[from];
    if (!test_name.is_string()) fail("the test name must be a string");
    CallArgs test_args;
    test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(from) + 1, args.positional.end());
    return run_test(in, test_name.str(), item, test_args, offset);
}

Value sort_filter(Interpreter& in, const Value& v, const CallArgs& args) {
    const Array& items = expect_list("sort", v);
    const Value* reverse = args.get(0, "reverse");
    const Value* case_sensitive = args.get(1, "case_sensitive");
    const Value* attribute = args.get(2, "attribute");
    if (reverse && !reverse->is_bool()) fail("sort: reverse must be a boolean");
    if (case_sensitive && !case_sensitive->is_bool()) fail("sort: case_sensitive must be a boolean");
    std::optional<std::string> path;
    if (attribute && !attribute->is_none()) {
        if (attribute->is_string()) {
            path = attribute->str();
        } else if (attribute->is_int()) {
            path = std::to_string(attribute->as_int());
        } else {
            fail("sort: attribute must be a string or an integer");
        }
    }
    const bool rev = reverse && reverse->as_bool();
    const bool cs = case_sensitive && case_sensitive->as_bool();
    in.charge(items.size() * 8);
    Array sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(), [&](const Value& a, const Value& b) {
        const int c =
            path ? compare_values(attribute_path(a, *path), attribute_path(b, *path), cs) : compare_values(a, b, cs);
        return rev ? c > 0 : c < 0;
    });
    return in.make_array(std::move(sorted));
}

Value map_filter(Interpreter& in, const Value& v, CallArgs& args, Scope& scope, uint32_t offset) {
    const Array& items = expect_list("map", v);
    Array out;
    out.reserve(items.size());
    if (const Value* attr = args.kwarg("attribute")) {
        if (!attr->is_string()) fail("map: attribute must be a string");
        const Value* def = args.kwarg("default");
        for (const Value& item : items) {
            if (!item.is_mapping_like()) fail("map: items must be dicts when mapping an attribute");
            Value x = attribute_path(item, attr->str());
            out.push_back(x.is_undefined() && def ? *def : x);
        }
        return in.make_array(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].is_string()) {
        fail("map needs attribute=... or a filter name");
    }
    const std::string filter = args.positional[0].str();
    CallArgs filter_args;
    filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
    filter_args.keyword = args.keyword;
    for (const Value& item : items) {
        in.charge(1);
        CallArgs a = filter_args;
        out.push_back(run_filter(in, filter, item, a, scope, offset));
    }
    return in.make_array(std::move(out));
}

Value join_filter(Interpreter& in, const Value& v, const CallArgs& args) {
    const Value* sep_v = args.get(0, "d");
    if (!sep_v) sep_v = args.kwarg("separator");
    if (sep_v && !sep_v->is_string()) fail("join: the separator must be a string");
    const std::string sep = sep_v ? sep_v->str() : "";
    const size_t max_bytes = in.limits().max_output_bytes;
    std::string out;
    if (v.is_string()) {
        bool first = true;
        for (std::string_view c : code_points(v.str())) {
            if (!first) out += sep;
            first = false;
            out += c;
            if (out.size() > max_bytes) fail_limit(kNoOffset, "join: result too long");
        }
        return in.make_string(std::move(out));
    }
    const Array& items = expect_list("join", v);
    const Value* attribute = args.kwarg("attribute");
    bool first = true;
    for (const Value& raw : items) {
        const Value item = attribute && attribute->is_string() ? attribute_path(raw, attribute->str()) : raw;
        if (!first) out += sep;
        first = false;
        // Array.prototype.join: none and undefined are empty, the rest as String(x).
        if (!item.is_none() && !item.is_undefined()) out += to_js_string(item, max_bytes);
        if (out.size() > max_bytes) fail_limit(kNoOffset, "join: result too long");
    }
    return in.make_string(std::move(out));
}

}  // namespace

bool run_list_filter(Interpreter& in, std::string_view name, const Value& v, CallArgs& args, Scope& scope,
                     uint32_t offset, Value& out) {
    if (name == "join") {
        out = join_filter(in, v, args);
    } else if (name == "first" || name == "last") {
        if (v.is_string()) {
            const auto chars = code_points(v.str());
            if (chars.empty()) return out = Value::undefined(), true;
            out = Value::string(std::string(name == "first" ? chars.front() : chars.back()));
            return true;
        }
        const Array& items = expect_list(name, v);
        out = items.empty() ? Value::undefined() : (name == "first" ? items.front() : items.back());
    } else if (name == "list") {
        if (v.is_array()) {
            out = v;
        } else if (v.is_string()) {
            Array chars;
            for (std::string_view c : code_points(v.str())) chars.push_back(Value::string(std::string(c)));
            out = in.make_array(std::move(chars));
        } else if (v.is_object()) {
            Array keys;
            for (const auto& kv : v.obj().items()) keys.push_back(Value::string(kv.first));
            out = in.make_array(std::move(keys));
        } else {
            filter_type_error(name, v);
        }
    } else if (name == "reverse") {
        if (v.is_string()) {
            auto chars = code_points(v.str());
            std::string s;
            for (auto it = chars.rbegin(); it != chars.rend(); ++it) s.append(*it);
            out = in.make_string(std::move(s));
            return true;
        }
        Array items = expect_list(name, v);
        std::reverse(items.begin(), items.end());
        out = in.make_array(std::move(items));
    } else if (name == "sort") {
        out = sort_filter(in, v, args);
    } else if (name == "unique") {
        const Array& items = expect_list(name, v);
        Array kept;
        for (const Value& item : items) {
            in.charge(kept.size() + 1);
            bool seen = false;
            for (const Value& k : kept) seen = seen || strict_equals(k, item);
            if (!seen) kept.push_back(item);
        }
        out = in.make_array(std::move(kept));
    } else if (name == "map") {
        out = map_filter(in, v, args, scope, offset);
    } else if (name == "select" || name == "reject") {
        const bool keep = name == "select";
        Array kept;
        for (const Value& item : expect_list(name, v)) {
            in.charge(1);
            if (item_passes(in, args, 0, item, offset) == keep) kept.push_back(item);
        }
        out = in.make_array(std::move(kept));
    } else if (name == "selectattr" || name == "rejectattr") {
        const bool keep = name == "selectattr";
        const Array& items = expect_list(name, v);
        if (args.positional.empty() || !args.positional[0].is_string())
            fail(std::string(name) + " needs an attribute name");
        const std::string& attr = args.positional[0].str();
        Array kept;
        for (const Value& item : items) {
            in.charge(1);
            if (!item.is_mapping_like()) fail(std::string(name) + " works on a list of dicts");
            // As the reference: a missing attribute never passes the test.
            const Value* direct = item.obj().find(attr);
            const Value a = direct ? *direct : attribute_path(item, attr);
            const bool passes = !a.is_undefined() && item_passes(in, args, 1, a, offset);
            if (passes == keep) kept.push_back(item);
        }
        out = in.make_array(std::move(kept));
    } else if (name == "min" || name == "max") {
        const Array& items = expect_list(name, v);
        const bool cs = arg_truthy(args, 0, "case_sensitive", false);
        in.charge(items.size());
        out = Value::undefined();
        for (const Value& item : items) {
            if (out.is_undefined()) {
                out = item;
                continue;
            }
            const int c = compare_values(item, out, cs);
            if ((name == "min" && c < 0) || (name == "max" && c > 0)) out = item;
        }
    } else if (name == "sum") {
        const Array& items = expect_list(name, v);
        const Value* attribute = args.get(0, "attribute");
        const Value* start = args.get(1, "start");
        Value total = start ? *start : Value::integer(0);
        for (const Value& raw : items) {
            const Value item = attribute && attribute->is_string() ? attribute_path(raw, attribute->str()) : raw;
            if (!item.is_number() || !total.is_number()) fail("sum: items must be numbers");
            if (item.is_int() && total.is_int()) {
                int64_t r = 0;
                if (__builtin_add_overflow(total.as_int(), item.as_int(), &r)) fail("integer overflow");
                total = Value::integer(r);
            } else {
                total = Value::floating(total.as_number() + item.as_number());
            }
        }
        out = total;
    } else {
        return false;
    }
    return true;
}

}  // namespace pagoda::jinja
