// `x is name(args)` tests. The reference's set (defined, none, string, mapping, ...) with
// its semantics (e.g. `iterable` is true for lists and strings, not dicts), plus Jinja's
// comparison tests (eq, ne, lt, in, divisibleby, sameas, ...).
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text.h"
#include "tokenizer/jinja/value_convert.h"

namespace pagoda::jinja {

namespace {

const Value& arg0(const CallArgs& args, std::string_view test) {
    if (args.positional.empty()) fail("test '" + std::string(test) + "' needs an argument");
    return args.positional[0];
}

bool compare_test(std::string_view name, const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        const double x = a.as_number(), y = b.as_number();
        if (name == "lt" || name == "lessthan") return x < y;
        if (name == "gt" || name == "greaterthan") return x > y;
        if (name == "le") return x <= y;
        return x >= y;
    }
    if (a.is_string() && b.is_string()) {
        const int c = a.str().compare(b.str());
        if (name == "lt" || name == "lessthan") return c < 0;
        if (name == "gt" || name == "greaterthan") return c > 0;
        if (name == "le") return c <= 0;
        return c >= 0;
    }
    fail(std::string("cannot compare ") + value_kind_name(a.kind()) + " with " + value_kind_name(b.kind()));
}

}  // namespace

bool run_test(Interpreter& in, std::string_view name, const Value& v, const CallArgs& args, uint32_t offset) {
    try {
        if (name == "defined") return !v.is_undefined();
        if (name == "undefined") return v.is_undefined();
        if (name == "none") return v.is_none();
        if (name == "boolean") return v.is_bool();
        if (name == "true") return v.is_bool() && v.as_bool();
        if (name == "false") return v.is_bool() && !v.as_bool();
        if (name == "string") return v.is_string();
        if (name == "number") return v.is_number();
        if (name == "integer") return v.is_int();
        if (name == "float") return v.is_float();
        if (name == "mapping") return v.is_object();
        if (name == "iterable") return v.is_array() || v.is_string();
        if (name == "sequence") return v.is_array() || v.is_object() || v.is_string();
        if (name == "callable") return v.is_function();
        if (name == "odd" || name == "even") {
            if (!v.is_int())
                fail(std::string("cannot test ") + value_kind_name(v.kind()) + " for " + std::string(name));
            return (v.as_int() % 2 != 0) == (name == "odd");
        }
        if (name == "lower") return v.is_string() && text::to_lower(v.str()) == v.str();
        if (name == "upper") return v.is_string() && text::to_upper(v.str()) == v.str();
        if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
            return strict_equals(v, arg0(args, name));
        }
        if (name == "ne" || name == "!=") return !strict_equals(v, arg0(args, name));
        if (name == "lt" || name == "gt" || name == "le" || name == "ge" || name == "lessthan" ||
            name == "greaterthan") {
            return compare_test(name, v, arg0(args, name));
        }
        if (name == "in") {
            const Value& container = arg0(args, name);
            if (container.is_array()) {
                in.charge(container.arr().size());
                for (const Value& item : container.arr()) {
                    if (strict_equals(item, v)) return true;
                }
                return false;
            }
            if (container.is_string() && v.is_string()) return container.str().find(v.str()) != std::string::npos;
            if (container.is_mapping_like() && v.is_string()) return container.obj().find(v.str()) != nullptr;
            fail(std::string("cannot test membership in ") + value_kind_name(container.kind()));
        }
        if (name == "divisibleby") {
            const Value& d = arg0(args, name);
            if (!v.is_int() || !d.is_int()) fail("divisibleby works on integers");
            if (d.as_int() == 0) fail("division by zero");
            return d.as_int() == -1 || v.as_int() % d.as_int() == 0;
        }
        fail("unknown test '" + std::string(name) + "'");
    } catch (TemplateError& e) {
        if (e.offset() == kNoOffset) e.set_offset(offset);
        throw;
    }
}

}  // namespace pagoda::jinja
