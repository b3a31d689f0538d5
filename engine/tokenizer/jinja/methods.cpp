// Attribute access and the methods of data values ("s".split(), d.items(), ...).
// Templates can reach nothing but these: there are no Python objects behind a value.
#include <algorithm>

#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/string_ops.h"
#include "tokenizer/jinja/text.h"
#include "tokenizer/jinja/value_convert.h"

namespace pagoda::jinja {

namespace {

const std::string& expect_string(const Value* v, const char* what) {
    if (!v || !v->is_string()) fail(std::string(what) + " must be a string");
    return v->str();
}

std::optional<std::string_view> strip_chars_arg(const CallArgs& args) {
    const Value* chars = args.get(0, "chars");
    if (!chars || chars->is_none() || chars->is_undefined()) return std::nullopt;
    return expect_string(chars, "strip() argument");
}

bool affix_match(const std::string& s, const Value* arg, bool prefix, const char* name) {
    auto one = [&](const std::string& a) {
        if (a.size() > s.size()) return false;
        return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
    };
    if (!arg) fail(std::string(name) + "() takes one argument");
    if (arg->is_string()) return one(arg->str());
    if (arg->is_array()) {
        for (const Value& item : arg->arr()) {
            if (!item.is_string()) fail(std::string(name) + "() tuple elements must be strings");
            if (one(item.str())) return true;
        }
        return false;
    }
    fail(std::string(name) + "() argument must be a string or a tuple of strings");
}

// Letters as far as our case tables know them (cased letters), plus ASCII.
bool is_letter(char32_t c) {
    return ((c | 32) >= 'a' && (c | 32) <= 'z') || text::lower_code_point(c) != text::upper_code_point(c);
}

bool all_code_points(const std::string& s, bool (*pred)(char32_t)) {
    if (s.empty()) return false;
    size_t i = 0;
    while (i < s.size()) {
        if (!pred(text::decode(s, i))) return false;
    }
    return true;
}

// Python's str.format with {} / {0} / {name} fields (no format specs).
std::string format_string(Interpreter& in, const std::string& fmt, const CallArgs& args) {
    std::string out;
    size_t auto_index = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
            out += '}';
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        const size_t close = fmt.find('}', i);
        if (close == std::string::npos) fail("format(): unmatched '{'");
        const std::string field = fmt.substr(i + 1, close - i - 1);
        const Value* v = nullptr;
        if (field.empty()) {
            v = auto_index < args.positional.size() ? &args.positional[auto_index] : nullptr;
            ++auto_index;
        } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
            const size_t n = std::stoul(field.substr(0, 9));
            v = n < args.positional.size() ? &args.positional[n] : nullptr;
        } else {
            v = args.kwarg(field);
        }
        if (!v) fail("format(): no value for field '{" + field + "}'");
        append_output_string(out, *v, in.limits().max_output_bytes);
        i = close;
    }
    return out;
}

Value string_method(Interpreter& in, const Value& self, const std::string& name, CallArgs& args) {
    const std::string& s = self.str();
    in.charge_bytes(s.size());
    if (name == "upper") return in.make_string(text::to_upper(s));
    if (name == "lower") return in.make_string(text::to_lower(s));
    if (name == "title") return in.make_string(title_case(s));
    if (name == "capitalize") return in.make_string(capitalize(s));
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const bool left = name != "rstrip", right = name != "lstrip";
        const auto chars = strip_chars_arg(args);
        if (chars) return in.make_string(std::string(text::strip_chars(s, *chars, left, right)));
        std::string_view v = s;
        if (left) v = text::trim_start(v);
        if (right) v = text::trim_end(v);
        return in.make_string(std::string(v));
    }
    if (name == "startswith" || name == "endswith") {
        return Value::boolean(affix_match(s, args.get(0, "prefix"), name == "startswith", name.c_str()));
    }
    if (name == "split") {
        const Value* sep = args.get(0, "sep");
        std::optional<std::string_view> sep_view;
        if (sep && !sep->is_none() && !sep->is_undefined()) {
            sep_view = expect_string(sep, "split() separator");
            if (sep_view->empty()) fail("split(): empty separator");
        }
        const Value* maxsplit = args.get(1, "maxsplit");
        if (maxsplit && !maxsplit->is_int()) fail("split(): maxsplit must be an integer");
        Array parts;
        for (auto& part : str_split(s, sep_view, maxsplit ? maxsplit->as_int() : -1)) {
            parts.push_back(Value::string(std::move(part)));
        }
        return in.make_array(std::move(parts));
    }
    if (name == "replace") {
        const std::string& old = expect_string(args.get(0, "old"), "replace() arguments");
        const std::string& repl = expect_string(args.get(1, "new"), "replace() arguments");
        const Value* count = args.get(2, "count");
        if (count && !count->is_int() && !count->is_none()) fail("replace(): count must be an integer or none");
        return in.make_string(str_replace(s, old, repl, count && count->is_int() ? count->as_int() : -1));
    }
    if (name == "find" || name == "rfind" || name == "index") {
        const int64_t at = str_find(s, expect_string(args.get(0, "sub"), "find() argument"), name == "rfind");
        if (name == "index" && at < 0) fail("substring not found");
        return Value::integer(at);
    }
    if (name == "count") {
        const std::string& sub = expect_string(args.get(0, "sub"), "count() argument");
        if (sub.empty()) return Value::integer(static_cast<int64_t>(text::code_point_count(s)) + 1);
        int64_t n = 0;
        for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
        return Value::integer(n);
    }
    if (name == "join") {
        const Value* items = args.get(0, "iterable");
        if (!items || !items->is_array()) fail("join() argument must be a list");
        std::string out;
        bool first = true;
        for (const Value& item : items->arr()) {
            if (!first) out += s;
            first = false;
            if (!item.is_string()) fail("join() items must be strings");
            out += item.str();
            if (out.size() > in.limits().max_output_bytes) fail_limit(kNoOffset, "joined string too long");
        }
        return in.make_string(std::move(out));
    }
    if (name == "format") return in.make_string(format_string(in, s, args));
    if (name == "removeprefix" || name == "removesuffix") {
        const std::string& a = expect_string(args.get(0, "affix"), "argument");
        const bool prefix = name == "removeprefix";
        const Value arg = Value::string(a);
        if (!affix_match(s, &arg, prefix, name.c_str())) return self;
        return in.make_string(prefix ? s.substr(a.size()) : s.substr(0, s.size() - a.size()));
    }
    if (name == "splitlines") {
        Array lines;
        size_t start = 0;
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '\n' && s[i] != '\r') continue;
            lines.push_back(Value::string(s.substr(start, i - start)));
            if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
            start = i + 1;
        }
        if (start < s.size()) lines.push_back(Value::string(s.substr(start)));
        return in.make_array(std::move(lines));
    }
    if (name == "isdigit") return Value::boolean(all_code_points(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
    if (name == "isspace") return Value::boolean(all_code_points(s, text::is_space));
    if (name == "isalpha") return Value::boolean(all_code_points(s, is_letter));
    if (name == "isalnum") {
        return Value::boolean(all_code_points(s, [](char32_t c) { return is_letter(c) || (c >= '0' && c <= '9'); }));
    }
    if (name == "islower" || name == "isupper") {
        const std::string mapped = name == "islower" ? text::to_lower(s) : text::to_upper(s);
        const bool has_cased = text::to_lower(s) != text::to_upper(s);
        return Value::boolean(has_cased && mapped == s);
    }
    fail("strings have no method '" + name + "'");
}

Value dict_method(Interpreter& in, const Value& self, const std::string& name, CallArgs& args) {
    const Object& obj = self.obj();
    if (name == "get") {
        const Value* key = args.get(0, "key");
        if (!key || !key->is_string()) fail("get(): dict keys are strings");
        if (const Value* v = obj.find(key->str())) return *v;
        const Value* def = args.get(1, "default");
        return def ? *def : Value::none();
    }
    in.charge(obj.size());
    if (name == "items") {
        Array items;
        for (const auto& [k, v] : obj.items()) items.push_back(in.make_array({Value::string(k), v}));
        return in.make_array(std::move(items));
    }
    if (name == "keys") {
        Array items;
        for (const auto& kv : obj.items()) items.push_back(Value::string(kv.first));
        return in.make_array(std::move(items));
    }
    if (name == "values") {
        Array items;
        for (const auto& kv : obj.items()) items.push_back(kv.second);
        return in.make_array(std::move(items));
    }
    if (name == "dictsort") {
        const Value* case_sensitive = args.get(0, "case_sensitive");
        const Value* by = args.get(1, "by");
        const Value* reverse = args.get(2, "reverse");
        if (case_sensitive && !case_sensitive->is_bool()) fail("dictsort(): case_sensitive must be a boolean");
        if (reverse && !reverse->is_bool()) fail("dictsort(): reverse must be a boolean");
        if (by && (!by->is_string() || (by->str() != "key" && by->str() != "value"))) {
            fail("dictsort(): by must be 'key' or 'value'");
        }
        const size_t index = by && by->str() == "value" ? 1 : 0;
        const bool cs = case_sensitive && case_sensitive->as_bool();
        const bool rev = reverse && reverse->as_bool();
        Array items;
        for (const auto& [k, v] : obj.items()) items.push_back(in.make_array({Value::string(k), v}));
        std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
            const int c = compare_values(a.arr()[index], b.arr()[index], cs);
            return rev ? c > 0 : c < 0;
        });
        return in.make_array(std::move(items));
    }
    fail("dicts have no method '" + name + "'");
}

Value list_method(Interpreter& in, const Value& self, const std::string& name, CallArgs& args) {
    Array& items = self.arr();
    if (name == "append" || name == "extend") {
        const Value* v = args.get(0, "item");
        if (!v) fail(name + "() takes one argument");
        in.track_mutable(self);
        if (name == "append") {
            items.push_back(*v);
        } else {
            if (!v->is_array()) fail("extend() argument must be a list");
            const Array copy = v->arr();
            items.insert(items.end(), copy.begin(), copy.end());
        }
        in.charge(1);
        if (items.size() > in.limits().max_loop_iterations) fail_limit(kNoOffset, "list grew too long");
        return Value::none();
    }
    if (name == "pop") {
        if (items.empty()) fail("pop from an empty list");
        const Value* idx = args.get(0, "index");
        int64_t i = idx ? (idx->is_int() ? idx->as_int() : (fail("pop(): index must be an integer"), 0))
                        : static_cast<int64_t>(items.size()) - 1;
        if (i < 0) i += static_cast<int64_t>(items.size());
        if (i < 0 || i >= static_cast<int64_t>(items.size())) fail("pop index out of range");
        Value v = items[static_cast<size_t>(i)];
        items.erase(items.begin() + i);
        return v;
    }
    if (name == "index" || name == "count") {
        const Value* v = args.get(0, "value");
        if (!v) fail(name + "() takes one argument");
        in.charge(items.size());
        int64_t n = 0;
        for (size_t i = 0; i < items.size(); ++i) {
            if (!loose_equals(items[i], *v)) continue;
            if (name == "index") return Value::integer(static_cast<int64_t>(i));
            ++n;
        }
        if (name == "index") fail("value is not in the list");
        return Value::integer(n);
    }
    fail("lists have no method '" + name + "'");
}

bool is_string_method(std::string_view n) {
    static constexpr std::string_view kNames[] = {
        "upper",      "lower",    "title",   "capitalize",   "strip",        "lstrip",     "rstrip",
        "startswith", "endswith", "split",   "replace",      "find",         "rfind",      "index",
        "count",      "join",     "format",  "removeprefix", "removesuffix", "splitlines", "isdigit",
        "isspace",    "isalpha",  "isalnum", "islower",      "isupper",
    };
    return std::find(std::begin(kNames), std::end(kNames), n) != std::end(kNames);
}

bool is_dict_method(std::string_view n) {
    return n == "get" || n == "items" || n == "keys" || n == "values" || n == "dictsort";
}

bool is_list_method(std::string_view n) {
    return n == "append" || n == "extend" || n == "pop" || n == "index" || n == "count";
}

Value bind_method(const Value& self, const std::string& name) {
    auto fn = std::make_shared<Function>();
    fn->name = name;
    fn->call = [self, name](CallArgs& args, CallSite& site) -> Value {
        try {
            if (self.is_string()) return string_method(site.interp, self, name, args);
            if (self.is_object()) return dict_method(site.interp, self, name, args);
            return list_method(site.interp, self, name, args);
        } catch (TemplateError& e) {
            if (e.offset() == kNoOffset) e.set_offset(site.offset);
            throw;
        }
    };
    return Value::function(std::move(fn));
}

Value index_sequence(const Value& object, int64_t i) {
    if (object.is_array()) {
        const Array& items = object.arr();
        const int64_t n = static_cast<int64_t>(items.size());
        if (i < 0) i += n;
        return i >= 0 && i < n ? items[static_cast<size_t>(i)] : Value::undefined();
    }
    const auto chars = code_points(object.str());
    const int64_t n = static_cast<int64_t>(chars.size());
    if (i < 0) i += n;
    return i >= 0 && i < n ? Value::string(std::string(chars[static_cast<size_t>(i)])) : Value::undefined();
}

}  // namespace

Value dict_method_call(Interpreter& in, const Value& self, const std::string& name, CallArgs& args) {
    return dict_method(in, self, name, args);
}

Value get_attribute(Interpreter& in, const Value& object, const Value& property, uint32_t offset) {
    if (object.is_mapping_like()) {
        if (!property.is_string()) {
            fail(offset, std::string("dict keys are strings; cannot look up a ") + value_kind_name(property.kind()));
        }
        if (const Value* v = object.obj().find(property.str())) return *v;
        if (object.is_object() && is_dict_method(property.str())) return bind_method(object, property.str());
        return Value::undefined();
    }
    if (object.is_array() || object.is_string()) {
        if (property.is_int()) {
            in.charge(object.is_string() ? object.str().size() / 16 : 1);
            return index_sequence(object, property.as_int());
        }
        if (!property.is_string()) {
            fail(offset, std::string("list indices must be integers, not ") + value_kind_name(property.kind()));
        }
        const std::string& name = property.str();
        if (name == "length") {
            return Value::integer(
                static_cast<int64_t>(object.is_array() ? object.arr().size() : text::code_point_count(object.str())));
        }
        if (object.is_string() ? is_string_method(name) : is_list_method(name)) return bind_method(object, name);
        return Value::undefined();
    }
    if (!property.is_string()) {
        fail(offset, std::string("cannot index a value of type ") + value_kind_name(object.kind()));
    }
    return Value::undefined();
}

}  // namespace pagoda::jinja
