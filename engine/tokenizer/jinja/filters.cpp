// `x | name(args)` filters on scalars and strings. Semantics follow @huggingface/jinja
// for every filter it has (tojson spelling, join of numbers, int("12abc") == 12, ...);
// the other Jinja filters (round, escape, select, ...) behave as in Jinja.
// List filters live in filters_list.cpp.
#include <cmath>
#include <limits>

#include "tokenizer/jinja/filters_internal.h"
#include "tokenizer/jinja/number_format.h"
#include "tokenizer/jinja/string_ops.h"
#include "tokenizer/jinja/text.h"
#include "tokenizer/jinja/value_convert.h"

namespace pagoda::jinja {

Value dict_method_call(Interpreter& in, const Value& self, const std::string& name, CallArgs& args);

[[noreturn]] void filter_type_error(std::string_view name, const Value& v) {
    fail("filter '" + std::string(name) + "' cannot be applied to a value of type " + value_kind_name(v.kind()));
}

bool arg_truthy(const CallArgs& args, size_t n, std::string_view name, bool def) {
    const Value* v = args.get(n, name);
    return v ? v->truthy() : def;
}

namespace {

Value tojson(Interpreter& in, const Value& v, const CallArgs& args) {
    JsonOptions opt;
    if (const Value* indent = args.kwarg("indent"); indent && !indent->is_none()) {
        if (!indent->is_int()) fail("tojson: indent must be an integer");
        opt.indent = indent->as_int();
        if (*opt.indent > 64) fail("tojson: indent is too large");
    }
    if (const Value* a = args.kwarg("ensure_ascii")) {
        if (!a->is_bool()) fail("tojson: ensure_ascii must be a boolean");
        opt.ensure_ascii = a->as_bool();
    }
    if (const Value* s = args.kwarg("sort_keys")) {
        if (!s->is_bool()) fail("tojson: sort_keys must be a boolean");
        opt.sort_keys = s->as_bool();
    }
    if (const Value* sep = args.kwarg("separators"); sep && !sep->is_none()) {
        if (!sep->is_array() || sep->arr().size() != 2 || !sep->arr()[0].is_string() || !sep->arr()[1].is_string()) {
            fail("tojson: separators must be a pair of strings");
        }
        opt.separators = std::make_pair(sep->arr()[0].str(), sep->arr()[1].str());
    }
    std::string out;
    append_json(out, v, opt, /*undefined_as_null=*/true, in.limits().max_output_bytes);
    return in.make_string(std::move(out));
}

Value to_int(Interpreter& in, const Value& v, const CallArgs& args) {
    const Value* def = args.get(0, "default");
    const Value fallback = def ? *def : Value::integer(0);
    auto from_double = [](double d) {
        if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18)) fail("int: value out of range");
        return Value::integer(static_cast<int64_t>(d));
    };
    switch (v.kind()) {
        case ValueKind::string: {
            const auto parsed = js_parse_int(v.str());
            return parsed ? from_double(*parsed) : fallback;
        }
        case ValueKind::integer: return v;
        case ValueKind::floating: return from_double(std::floor(v.as_float()));
        case ValueKind::boolean: return Value::integer(v.as_bool() ? 1 : 0);
        case ValueKind::none:
        case ValueKind::undefined: return fallback;
        default: filter_type_error("int", v);
    }
    (void)in;
}

Value to_float(const Value& v, const CallArgs& args) {
    const Value* def = args.get(0, "default");
    const Value fallback = def ? *def : Value::floating(0.0);
    switch (v.kind()) {
        case ValueKind::string: {
            const auto parsed = js_parse_float(v.str());
            return parsed ? Value::floating(*parsed) : fallback;
        }
        case ValueKind::integer:
        case ValueKind::floating:
        case ValueKind::boolean: return Value::floating(v.as_number());
        case ValueKind::none:
        case ValueKind::undefined: return fallback;
        default: filter_type_error("float", v);
    }
}

Value round_filter(const Value& v, const CallArgs& args) {
    if (!v.is_number() && !v.is_bool()) filter_type_error("round", v);
    const Value* precision = args.get(0, "precision");
    const Value* method = args.get(1, "method");
    const int64_t p = precision && precision->is_int() ? precision->as_int() : 0;
    if (p < -15 || p > 15) fail("round: precision out of range");
    const std::string m = method && method->is_string() ? method->str() : "common";
    const double scale = std::pow(10.0, static_cast<double>(p));
    const double x = v.as_number() * scale;
    double r;
    if (m == "common") {
        r = std::nearbyint(x);  // Python's round(): halves to even
    } else if (m == "ceil") {
        r = std::ceil(x);
    } else if (m == "floor") {
        r = std::floor(x);
    } else {
        fail("round: method must be 'common', 'ceil' or 'floor'");
    }
    return Value::floating(r / scale);
}

Value indent_filter(Interpreter& in, const Value& v, const CallArgs& args) {
    if (!v.is_string()) filter_type_error("indent", v);
    std::string pad(4, ' ');
    if (const Value* width = args.get(0, "width")) {
        if (width->is_int()) {
            if (width->as_int() < 0 || width->as_int() > 1024) fail("indent: width out of range");
            pad.assign(static_cast<size_t>(width->as_int()), ' ');
        } else if (width->is_string()) {
            pad = width->str();
        } else {
            fail("indent: width must be an integer or a string");
        }
    }
    const bool first = arg_truthy(args, 1, "first", false);
    const bool blank = arg_truthy(args, 2, "blank", false);
    std::string out;
    const std::string& s = v.str();
    size_t start = 0;
    bool first_line = true;
    while (true) {
        const size_t nl = s.find('\n', start);
        const std::string_view line =
            std::string_view(s).substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!first_line) out += '\n';
        if ((first || !first_line) && (blank || !line.empty())) out += pad;
        out.append(line);
        if (out.size() > in.limits().max_output_bytes) fail_limit(kNoOffset, "indent: result too long");
        first_line = false;
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return in.make_string(std::move(out));
}

Value string_filter(Interpreter& in, const Value& v) {
    switch (v.kind()) {
        case ValueKind::string: return v;
        case ValueKind::none: return Value::string("None");
        case ValueKind::undefined: return Value::string("");
        default: return in.make_string(to_output_string(v, in.limits().max_output_bytes));
    }
}

}  // namespace

Value run_filter(Interpreter& in, std::string_view name, const Value& v, CallArgs& args, Scope& scope,
                 uint32_t offset) {
    try {
        if (name == "safe") return v;
        if (name == "tojson") return tojson(in, v, args);
        if (name == "default" || name == "d") {
            const Value* def = args.get(0, "default_value");
            const bool boolean = arg_truthy(args, 1, "boolean", false);
            if (v.is_undefined() || (boolean && !v.truthy())) return def ? *def : Value::string("");
            return v;
        }
        if (name == "string") return string_filter(in, v);
        if (name == "int") return to_int(in, v, args);
        if (name == "float") return to_float(v, args);
        if (name == "bool") return Value::boolean(v.truthy());
        if (name == "abs") {
            if (v.is_int()) {
                if (v.as_int() == std::numeric_limits<int64_t>::min()) fail("integer overflow");
                return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
            }
            if (v.is_float()) return Value::floating(std::fabs(v.as_float()));
            filter_type_error(name, v);
        }
        if (name == "round") return round_filter(v, args);
        if (name == "length" || name == "count") {
            if (v.is_array()) return Value::integer(static_cast<int64_t>(v.arr().size()));
            if (v.is_object()) return Value::integer(static_cast<int64_t>(v.obj().size()));
            if (v.is_string()) return Value::integer(static_cast<int64_t>(text::code_point_count(v.str())));
            filter_type_error(name, v);
        }
        if (name == "e" || name == "escape") {
            if (v.is_string()) return in.make_string(html_escape(v.str()));
            return in.make_string(html_escape(to_output_string(v, in.limits().max_output_bytes)));
        }
        if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "trim") {
            if (!v.is_string()) filter_type_error(name, v);
            const std::string& s = v.str();
            in.charge_bytes(s.size());
            if (name == "upper") return in.make_string(text::to_upper(s));
            if (name == "lower") return in.make_string(text::to_lower(s));
            if (name == "title") return in.make_string(title_case(s));
            if (name == "capitalize") return in.make_string(capitalize(s));
            if (const Value* chars = args.get(0, "chars"); chars && chars->is_string()) {
                return in.make_string(std::string(text::strip_chars(s, chars->str(), true, true)));
            }
            return in.make_string(std::string(text::trim(s)));
        }
        if (name == "indent") return indent_filter(in, v, args);
        if (name == "replace") {
            if (!v.is_string()) filter_type_error(name, v);
            const Value* old = args.get(0, "old");
            const Value* repl = args.get(1, "new");
            if (!old || !repl || !old->is_string() || !repl->is_string()) fail("replace: arguments must be strings");
            const Value* count = args.get(2, "count");
            if (count && !count->is_int() && !count->is_none()) fail("replace: count must be an integer or none");
            return in.make_string(
                str_replace(v.str(), old->str(), repl->str(), count && count->is_int() ? count->as_int() : -1));
        }
        if (Value out; run_list_filter(in, name, v, args, scope, offset, out)) return out;
        if (v.is_object() &&
            (name == "items" || name == "keys" || name == "values" || name == "dictsort" || name == "get")) {
            return dict_method_call(in, v, std::string(name), args);
        }
        if (name == "items") {
            if (v.is_undefined()) return in.make_array({});
            filter_type_error(name, v);
        }
        fail("unknown filter '" + std::string(name) + "'");
    } catch (TemplateError& e) {
        if (e.offset() == kNoOffset) e.set_offset(offset);
        throw;
    }
}

}  // namespace pagoda::jinja
