#include "tokenizer/jinja/value_convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/number_format.h"
#include "tokenizer/jinja/text.h"

namespace pagoda::jinja {

namespace {

constexpr int kMaxDepth = 512;

void check_size(const std::string& out, size_t max_bytes) {
    if (out.size() > max_bytes) {
        throw TemplateError(TemplateErrorKind::limit, kNoOffset,
                            "text grew past the output size limit (" + std::to_string(max_bytes) + " bytes)");
    }
}

void check_depth(int depth) {
    if (depth > kMaxDepth) {
        throw TemplateError(TemplateErrorKind::limit, kNoOffset, "value nested too deeply to print");
    }
}

void append_js_string(std::string& out, const Value& v, size_t max_bytes, int depth);

void append_output(std::string& out, const Value& v, size_t max_bytes, int depth) {
    switch (v.kind()) {
        case ValueKind::undefined: out += "undefined"; break;
        case ValueKind::none: out += "null"; break;
        case ValueKind::boolean: out += v.as_bool() ? "true" : "false"; break;
        case ValueKind::integer: out += std::to_string(v.as_int()); break;
        case ValueKind::floating: out += float_to_string(v.as_float()); break;
        case ValueKind::string: out += v.str(); break;
        case ValueKind::array:
        case ValueKind::object:
        case ValueKind::ns: {
            check_depth(depth);
            append_json(out, v, JsonOptions{}, /*undefined_as_null=*/false, max_bytes);
            break;
        }
        case ValueKind::function: out += "<function " + v.fn().name + ">"; break;
    }
    check_size(out, max_bytes);
}

void append_js_string(std::string& out, const Value& v, size_t max_bytes, int depth) {
    switch (v.kind()) {
        case ValueKind::floating: out += js_number_to_string(v.as_float()); break;
        case ValueKind::array: {
            // Array.prototype.toString: elements' own toString joined by ","
            check_depth(depth);
            bool first = true;
            for (const Value& item : v.arr()) {
                if (!first) out += ',';
                first = false;
                append_output(out, item, max_bytes, depth + 1);
            }
            break;
        }
        case ValueKind::object:
        case ValueKind::ns: out += "[object Map]"; break;
        default: append_output(out, v, max_bytes, depth); break;
    }
    check_size(out, max_bytes);
}

// ICU root collation, roughly, for sort_keys (the reference sorts keys with
// String.prototype.localeCompare): blanks, then punctuation and symbols in CLDR order,
// then digits, then letters ignoring case; lower case first on ties.
int primary_weight(char32_t c) {
    static constexpr std::string_view kOrder = "\t\n\v\f\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789";
    if (c < 0x80) {
        if (c >= 'A' && c <= 'Z') c += 32;
        if (c >= 'a' && c <= 'z') return 200 + static_cast<int>(c - 'a');
        const size_t pos = kOrder.find(static_cast<char>(c));
        if (pos != std::string_view::npos) return 1 + static_cast<int>(pos);
        return 100 + static_cast<int>(c);  // other controls
    }
    return 1000 + static_cast<int>(text::lower_code_point(c));
}

int locale_compare(std::string_view a, std::string_view b) {
    size_t i = 0, j = 0;
    int tertiary = 0;
    while (i < a.size() && j < b.size()) {
        const char32_t ca = text::decode(a, i);
        const char32_t cb = text::decode(b, j);
        const int wa = primary_weight(ca), wb = primary_weight(cb);
        if (wa != wb) return wa < wb ? -1 : 1;
        if (tertiary == 0 && ca != cb) {
            const bool la = text::lower_code_point(ca) == ca, lb = text::lower_code_point(cb) == cb;
            tertiary = la && !lb ? -1 : (!la && lb ? 1 : (ca < cb ? -1 : 1));
        }
    }
    if (i < a.size()) return 1;
    if (j < b.size()) return -1;
    return tertiary;
}

void append_indent(std::string& out, int64_t indent, int depth) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
}

void append_json_impl(std::string& out, const Value& v, const JsonOptions& opt, bool undefined_as_null,
                      size_t max_bytes, int depth) {
    check_depth(depth);
    const int64_t indent = opt.indent.value_or(0);
    const std::string item_sep = opt.separators ? opt.separators->first : (indent ? "," : ", ");
    const std::string key_sep = opt.separators ? opt.separators->second : ": ";
    switch (v.kind()) {
        case ValueKind::undefined: out += undefined_as_null ? "null" : "undefined"; break;
        case ValueKind::none: out += "null"; break;
        case ValueKind::boolean: out += v.as_bool() ? "true" : "false"; break;
        case ValueKind::integer: out += std::to_string(v.as_int()); break;
        case ValueKind::floating:
            out += std::isfinite(v.as_float()) ? js_number_to_string(v.as_float()) : "null";
            break;
        case ValueKind::string: append_json_string(out, v.str(), opt.ensure_ascii); break;
        case ValueKind::array: {
            const Array& items = v.arr();
            out += '[';
            for (size_t k = 0; k < items.size(); ++k) {
                if (k > 0) out += item_sep;
                if (indent) append_indent(out, indent, depth + 1);
                append_json_impl(out, items[k], opt, undefined_as_null, max_bytes, depth + 1);
                check_size(out, max_bytes);
            }
            if (indent && !items.empty()) append_indent(out, indent, depth);
            out += ']';
            break;
        }
        case ValueKind::object:
        case ValueKind::ns: {
            std::vector<const std::pair<std::string, Value>*> entries;
            entries.reserve(v.obj().size());
            for (const auto& kv : v.obj().items()) entries.push_back(&kv);
            if (opt.sort_keys) {
                std::stable_sort(entries.begin(), entries.end(),
                                 [](const auto* a, const auto* b) { return locale_compare(a->first, b->first) < 0; });
            }
            out += '{';
            for (size_t k = 0; k < entries.size(); ++k) {
                if (k > 0) out += item_sep;
                if (indent) append_indent(out, indent, depth + 1);
                append_json_string(out, entries[k]->first, opt.ensure_ascii);
                out += key_sep;
                append_json_impl(out, entries[k]->second, opt, undefined_as_null, max_bytes, depth + 1);
                check_size(out, max_bytes);
            }
            if (indent && !entries.empty()) append_indent(out, indent, depth);
            out += '}';
            break;
        }
        case ValueKind::function: fail("cannot convert a function to JSON");
    }
    check_size(out, max_bytes);
}

}  // namespace

std::string to_output_string(const Value& v, size_t max_bytes) {
    std::string out;
    append_output(out, v, max_bytes, 0);
    return out;
}

void append_output_string(std::string& out, const Value& v, size_t max_bytes) { append_output(out, v, max_bytes, 0); }

std::string to_js_string(const Value& v, size_t max_bytes) {
    std::string out;
    append_js_string(out, v, max_bytes, 0);
    return out;
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
    static constexpr char kHex[] = "0123456789abcdef";
    auto append_u = [&](uint32_t unit) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(unit >> shift) & 0xF];
    };
    out += '"';
    size_t i = 0;
    while (i < s.size()) {
        const size_t start = i;
        const char32_t c = text::decode(s, i);
        switch (c) {
            case '"': out += "\\\""; continue;
            case '\\': out += "\\\\"; continue;
            case '\b': out += "\\b"; continue;
            case '\f': out += "\\f"; continue;
            case '\n': out += "\\n"; continue;
            case '\r': out += "\\r"; continue;
            case '\t': out += "\\t"; continue;
            default: break;
        }
        if (c < 0x20) {
            append_u(c);
        } else if (ensure_ascii && c >= 0x7F) {
            // The reference escapes UTF-16 code units, so astral characters become pairs.
            if (c >= 0x10000) {
                const char32_t u = c - 0x10000;
                append_u(0xD800 + (u >> 10));
                append_u(0xDC00 + (u & 0x3FF));
            } else {
                append_u(c);
            }
        } else {
            out.append(s.substr(start, i - start));
        }
    }
    out += '"';
}

void append_json(std::string& out, const Value& v, const JsonOptions& options, bool undefined_as_null,
                 size_t max_bytes) {
    if (options.indent && *options.indent < 0) fail("tojson: indent must not be negative");
    append_json_impl(out, v, options, undefined_as_null, max_bytes, 0);
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
    if (a.is_none() && b.is_none()) return 0;
    if (a.is_none() || b.is_none() || a.is_undefined() || b.is_undefined()) {
        if (a.is_undefined() && b.is_undefined()) return 0;
        fail(std::string("cannot compare ") + value_kind_name(a.kind()) + " with " + value_kind_name(b.kind()));
    }
    const bool a_num = a.is_number() || a.is_bool();
    const bool b_num = b.is_number() || b.is_bool();
    if (a_num && b_num) {
        const double x = a.as_number(), y = b.as_number();
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (a.is_string() && b.is_string()) {
        if (case_sensitive) return a.str().compare(b.str()) < 0 ? -1 : (a.str() == b.str() ? 0 : 1);
        const std::string x = text::to_lower(a.str()), y = text::to_lower(b.str());
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    fail(std::string("cannot compare ") + value_kind_name(a.kind()) + " with " + value_kind_name(b.kind()));
}

bool loose_equals(const Value& a, const Value& b) {
    const auto nullish = [](const Value& v) { return v.is_none() || v.is_undefined(); };
    const auto is_ref = [](const Value& v) { return v.is_array() || v.is_mapping_like() || v.is_function(); };
    if (nullish(a) || nullish(b)) return nullish(a) && nullish(b);
    if (is_ref(a) && is_ref(b)) return a.identity() == b.identity();
    if (a.is_number() && b.is_number()) return a.as_number() == b.as_number();
    if (a.is_string() && b.is_string()) return a.str() == b.str();
    if (a.is_bool() && b.is_bool()) return a.as_bool() == b.as_bool();
    // Mixed kinds: JavaScript turns booleans into numbers, containers into strings, and
    // compares a string with a number numerically.
    if (a.is_bool()) return loose_equals(Value::integer(a.as_bool() ? 1 : 0), b);
    if (b.is_bool()) return loose_equals(a, Value::integer(b.as_bool() ? 1 : 0));
    constexpr size_t kPrimitiveLimit = 1 << 20;
    if (is_ref(a)) {
        if (a.is_function()) return false;
        return loose_equals(Value::string(to_js_string(a, kPrimitiveLimit)), b);
    }
    if (is_ref(b)) {
        if (b.is_function()) return false;
        return loose_equals(a, Value::string(to_js_string(b, kPrimitiveLimit)));
    }
    if (a.is_string()) return js_string_to_number(a.str()) == b.as_number();
    return a.as_number() == js_string_to_number(b.str());
}

}  // namespace pagoda::jinja
