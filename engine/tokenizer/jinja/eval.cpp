// Expression evaluation. Operator semantics follow @huggingface/jinja (which follows
// JavaScript where Python and JavaScript differ, e.g. `%` keeps the dividend's sign);
// where the reference fails on something Python's Jinja accepts (string comparisons,
// `x is divisibleby(3)`), we accept it as Jinja would.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text.h"
#include "tokenizer/jinja/value_convert.h"

namespace pagoda::jinja {

namespace {

const char* op_spelling(BinaryOp op) {
    switch (op) {
        case BinaryOp::and_: return "and";
        case BinaryOp::or_: return "or";
        case BinaryOp::eq: return "==";
        case BinaryOp::ne: return "!=";
        case BinaryOp::lt: return "<";
        case BinaryOp::gt: return ">";
        case BinaryOp::le: return "<=";
        case BinaryOp::ge: return ">=";
        case BinaryOp::in: return "in";
        case BinaryOp::not_in: return "not in";
        case BinaryOp::add: return "+";
        case BinaryOp::sub: return "-";
        case BinaryOp::concat: return "~";
        case BinaryOp::mul: return "*";
        case BinaryOp::div: return "/";
        case BinaryOp::floordiv: return "//";
        case BinaryOp::mod: return "%";
        case BinaryOp::pow: return "**";
    }
    return "?";
}

[[noreturn]] void integer_overflow() { fail("integer overflow"); }

Value int_pow(int64_t base, int64_t exp) {
    int64_t result = 1;
    while (exp > 0) {
        if (exp & 1) {
            if (__builtin_mul_overflow(result, base, &result)) integer_overflow();
        }
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base)) integer_overflow();
    }
    return Value::integer(result);
}

Value arithmetic(BinaryOp op, const Value& l, const Value& r) {
    if (l.is_int() && r.is_int()) {
        const int64_t a = l.as_int(), b = r.as_int();
        int64_t res = 0;
        switch (op) {
            case BinaryOp::add:
                if (__builtin_add_overflow(a, b, &res)) integer_overflow();
                return Value::integer(res);
            case BinaryOp::sub:
                if (__builtin_sub_overflow(a, b, &res)) integer_overflow();
                return Value::integer(res);
            case BinaryOp::mul:
                if (__builtin_mul_overflow(a, b, &res)) integer_overflow();
                return Value::integer(res);
            case BinaryOp::div:
                if (b == 0) fail("division by zero");
                return Value::floating(static_cast<double>(a) / static_cast<double>(b));
            case BinaryOp::floordiv: {
                if (b == 0) fail("division by zero");
                if (a == std::numeric_limits<int64_t>::min() && b == -1) integer_overflow();
                int64_t q = a / b;
                if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
                return Value::integer(q);
            }
            case BinaryOp::mod:
                if (b == 0) fail("division by zero");
                if (b == -1) return Value::integer(0);
                return Value::integer(a % b);  // sign of the dividend, as the reference
            case BinaryOp::lt: return Value::boolean(a < b);
            case BinaryOp::gt: return Value::boolean(a > b);
            case BinaryOp::le: return Value::boolean(a <= b);
            case BinaryOp::ge: return Value::boolean(a >= b);
            default: break;
        }
    }
    const double a = l.as_number(), b = r.as_number();
    switch (op) {
        case BinaryOp::add: return Value::floating(a + b);
        case BinaryOp::sub: return Value::floating(a - b);
        case BinaryOp::mul: return Value::floating(a * b);
        case BinaryOp::div:
            if (b == 0) fail("division by zero");
            return Value::floating(a / b);
        case BinaryOp::floordiv:
            if (b == 0) fail("division by zero");
            return Value::floating(std::floor(a / b));
        case BinaryOp::mod:
            if (b == 0) fail("division by zero");
            return Value::floating(std::fmod(a, b));
        case BinaryOp::lt: return Value::boolean(a < b);
        case BinaryOp::gt: return Value::boolean(a > b);
        case BinaryOp::le: return Value::boolean(a <= b);
        case BinaryOp::ge: return Value::boolean(a >= b);
        default: break;
    }
    fail("internal error: not an arithmetic operator");
}

Value power(const Value& l, const Value& r) {
    const double a = l.as_number(), b = r.as_number();
    if (a == 0 && b < 0) fail("0 cannot be raised to a negative power");
    const bool is_float = l.is_float() || r.is_float() || b < 0;
    if (!is_float) return int_pow(l.is_bool() ? l.as_bool() : l.as_int(), r.is_bool() ? r.as_bool() : r.as_int());
    const double res = std::pow(a, b);
    if (!std::isfinite(res)) fail("exponentiation result is not a finite real number");
    return Value::floating(res);
}

bool array_contains(const Array& items, const Value& v) {
    for (const Value& item : items) {
        if (strict_equals(item, v)) return true;
    }
    return false;
}

// Slicing as the reference does it (Python-like bounds; step 0 gives nothing).
template <typename T>
std::vector<T> slice_items(const std::vector<T>& items, std::optional<int64_t> start, std::optional<int64_t> stop,
                           int64_t step) {
    const int64_t len = static_cast<int64_t>(items.size());
    const int64_t dir = step > 0 ? 1 : (step < 0 ? -1 : 0);
    int64_t s, e;
    if (dir >= 0) {
        s = start.value_or(0);
        s = s < 0 ? std::max<int64_t>(len + s, 0) : std::min(s, len);
        e = stop.value_or(len);
        e = e < 0 ? std::max<int64_t>(len + e, 0) : std::min(e, len);
    } else {
        s = start.value_or(len - 1);
        s = s < 0 ? std::max<int64_t>(len + s, -1) : std::min(s, len - 1);
        e = stop.value_or(-1);
        e = e < -1 ? std::max<int64_t>(len + e, -1) : std::min(e, len - 1);
    }
    std::vector<T> out;
    for (int64_t i = s; dir * i < dir * e; i += step) out.push_back(items[static_cast<size_t>(i)]);
    return out;
}

}  // namespace

Value Interpreter::eval(const Node& node, Scope& scope) {
    DepthGuard guard(*this, node.offset);
    charge(1);
    try {
        return eval_expr(node, scope);
    } catch (TemplateError& e) {
        if (e.offset() == kNoOffset) e.set_offset(node.offset);
        throw;
    }
}

CallArgs Interpreter::eval_args(const NodeList& args, Scope& scope) {
    CallArgs out;
    // Positional arguments (spreads included) are evaluated before keyword ones, as in Python.
    for (const auto& a : args) {
        if (a->kind == NodeKind::spread) {
            const Value v = eval(*static_cast<const SpreadNode&>(*a).value, scope);
            if (!v.is_array())
                fail(a->offset, std::string("cannot unpack a value of type ") + value_kind_name(v.kind()));
            for (const Value& item : v.arr()) out.positional.push_back(item);
        } else if (a->kind != NodeKind::keyword_arg && a->kind != NodeKind::keyword_spread) {
            out.positional.push_back(eval(*a, scope));
        }
    }
    auto add_keyword = [&](const std::string& name, Value v, uint32_t offset) {
        if (out.kwarg(name)) fail(offset, "got multiple values for keyword argument '" + name + "'");
        out.keyword.emplace_back(name, std::move(v));
    };
    for (const auto& a : args) {
        if (a->kind == NodeKind::keyword_arg) {
            const auto& k = static_cast<const KeywordArgNode&>(*a);
            add_keyword(k.name, eval(*k.value, scope), a->offset);
        } else if (a->kind == NodeKind::keyword_spread) {
            const Value v = eval(*static_cast<const SpreadNode&>(*a).value, scope);
            if (!v.is_object()) fail(a->offset, "argument after ** must be a dict");
            for (const auto& [key, value] : v.obj().items()) add_keyword(key, value, a->offset);
        }
    }
    charge(out.positional.size() + out.keyword.size());
    return out;
}

Value Interpreter::eval_expr(const Node& node, Scope& scope) {
    switch (node.kind) {
        case NodeKind::int_literal: return Value::integer(static_cast<const IntLiteral&>(node).value);
        case NodeKind::float_literal: return Value::floating(static_cast<const FloatLiteral&>(node).value);
        case NodeKind::string_literal: return Value::string(static_cast<const StringLiteral&>(node).value);
        case NodeKind::list_literal:
        case NodeKind::tuple_literal: {
            Array items;
            for (const auto& item : static_cast<const ListNode&>(node).items) items.push_back(eval(*item, scope));
            return make_array(std::move(items));
        }
        case NodeKind::dict_literal: {
            auto obj = std::make_shared<Object>();
            for (const auto& [k, v] : static_cast<const DictNode&>(node).items) {
                const Value key = eval(*k, scope);
                if (!key.is_string()) {
                    fail(k->offset, std::string("dict keys must be strings, not ") + value_kind_name(key.kind()));
                }
                obj->set(key.str(), eval(*v, scope));
            }
            charge(obj->size());
            return Value::object(std::move(obj));
        }
        case NodeKind::identifier: {
            const Value* v = scope.lookup(static_cast<const IdentifierNode&>(node).name);
            return v ? *v : Value::undefined();
        }
        case NodeKind::member: return eval_member(static_cast<const MemberNode&>(node), scope);
        case NodeKind::call: return eval_call(static_cast<const CallNode&>(node), scope);
        case NodeKind::filter: {
            const auto& f = static_cast<const FilterNode&>(node);
            const Value operand = eval(*f.operand, scope);
            CallArgs args = eval_args(f.args, scope);
            return apply_filter(f.name, operand, args, scope, node.offset);
        }
        case NodeKind::test: {
            const auto& t = static_cast<const TestNode&>(node);
            const Value operand = eval(*t.operand, scope);
            CallArgs args = eval_args(t.args, scope);
            return Value::boolean(test(t.name, operand, args, scope, node.offset) != t.negate);
        }
        case NodeKind::unary: return eval_unary(static_cast<const UnaryNode&>(node), scope);
        case NodeKind::binary: return eval_binary(static_cast<const BinaryNode&>(node), scope);
        case NodeKind::ternary: {
            const auto& t = static_cast<const TernaryNode&>(node);
            return eval(eval(*t.condition, scope).truthy() ? *t.if_true : *t.if_false, scope);
        }
        case NodeKind::select: {
            const auto& s = static_cast<const SelectNode&>(node);
            return eval(*s.test, scope).truthy() ? eval(*s.value, scope) : Value::undefined();
        }
        default: fail(node.offset, "this is not an expression");
    }
}

Value Interpreter::eval_member(const MemberNode& node, Scope& scope) {
    const Value object = eval(*node.object, scope);
    Value property;
    if (node.computed) {
        if (node.property->kind == NodeKind::slice) {
            return eval_slice(object, static_cast<const SliceNode&>(*node.property), scope);
        }
        property = eval(*node.property, scope);
    } else if (node.property->kind == NodeKind::int_literal) {
        property = Value::integer(static_cast<const IntLiteral&>(*node.property).value);
    } else {
        property = Value::string(static_cast<const IdentifierNode&>(*node.property).name);
    }
    return get_attribute(*this, object, property, node.offset);
}

Value Interpreter::eval_slice(const Value& object, const SliceNode& node, Scope& scope) {
    if (!object.is_array() && !object.is_string()) fail(node.offset, "only lists and strings can be sliced");
    auto bound = [&](const NodePtr& n, const char* what) -> std::optional<int64_t> {
        if (!n) return std::nullopt;
        const Value v = eval(*n, scope);
        if (v.is_undefined() || v.is_none()) return std::nullopt;
        if (!v.is_int()) fail(n->offset, std::string("slice ") + what + " must be an integer");
        return v.as_int();
    };
    const auto start = bound(node.start, "start");
    const auto stop = bound(node.stop, "stop");
    const int64_t step = bound(node.step, "step").value_or(1);
    if (object.is_array()) {
        charge(object.arr().size());
        return make_array(slice_items(object.arr(), start, stop, step));
    }
    const std::string& s = object.str();
    std::vector<std::string_view> chars;
    size_t i = 0;
    while (i < s.size()) {
        const size_t begin = i;
        text::decode(s, i);
        chars.push_back(std::string_view(s).substr(begin, i - begin));
    }
    charge(chars.size());
    std::string out;
    for (std::string_view c : slice_items(chars, start, stop, step)) out.append(c);
    return make_string(std::move(out));
}

Value Interpreter::eval_call(const CallNode& node, Scope& scope) {
    CallArgs args = eval_args(node.args, scope);
    const Value fn = eval(*node.callee, scope);
    return call(fn, args, scope, node.offset);
}

Value Interpreter::eval_unary(const UnaryNode& node, Scope& scope) {
    const Value v = eval(*node.operand, scope);
    if (node.op == UnaryOp::not_) return Value::boolean(!v.truthy());
    const bool minus = node.op == UnaryOp::minus;
    if (v.is_float()) return Value::floating(minus ? -v.as_float() : v.as_float());
    if (v.is_int() || v.is_bool()) {
        const int64_t i = v.is_bool() ? v.as_bool() : v.as_int();
        if (minus && i == std::numeric_limits<int64_t>::min()) integer_overflow();
        return Value::integer(minus ? -i : i);
    }
    fail(node.offset,
         std::string("bad operand type for unary ") + (minus ? "-" : "+") + ": " + value_kind_name(v.kind()));
}

Value Interpreter::eval_binary(const BinaryNode& node, Scope& scope) {
    const BinaryOp op = node.op;
    const Value l = eval(*node.left, scope);
    if (op == BinaryOp::and_) return l.truthy() ? eval(*node.right, scope) : l;
    if (op == BinaryOp::or_) return l.truthy() ? l : eval(*node.right, scope);
    const Value r = eval(*node.right, scope);
    if (op == BinaryOp::eq) return Value::boolean(loose_equals(l, r));
    if (op == BinaryOp::ne) return Value::boolean(!loose_equals(l, r));

    const bool membership = op == BinaryOp::in || op == BinaryOp::not_in;
    if (l.is_undefined() || r.is_undefined()) {
        // `x in undefined` is false (and `not in` true); anything else is an error.
        if (r.is_undefined() && membership) return Value::boolean(op == BinaryOp::not_in);
        fail(node.offset, std::string("cannot apply '") + op_spelling(op) + "' to an undefined value");
    }
    if (l.is_none() || r.is_none()) {
        fail(node.offset, std::string("cannot apply '") + op_spelling(op) + "' to none");
    }
    const size_t max_bytes = options_.limits.max_output_bytes;
    if (op == BinaryOp::concat) {
        std::string s = to_js_string(l, max_bytes);
        s += to_js_string(r, max_bytes);
        return make_string(std::move(s));
    }
    const bool l_num = l.is_number(), r_num = r.is_number();
    if (op == BinaryOp::pow && (l_num || l.is_bool()) && (r_num || r.is_bool())) return power(l, r);
    if (l_num && r_num && !membership) return arithmetic(op, l, r);
    if (l.is_array() && r.is_array() && op == BinaryOp::add) {
        Array items = l.arr();
        items.insert(items.end(), r.arr().begin(), r.arr().end());
        return make_array(std::move(items));
    }
    if (r.is_array() && membership) {
        charge(r.arr().size());
        return Value::boolean(array_contains(r.arr(), l) == (op == BinaryOp::in));
    }
    if ((l.is_string() || r.is_string()) && op == BinaryOp::add) {
        std::string s = to_js_string(l, max_bytes);
        s += to_js_string(r, max_bytes);
        return make_string(std::move(s));
    }
    if (l.is_string() && r.is_string()) {
        if (membership) {
            charge_bytes(r.str().size());
            return Value::boolean((r.str().find(l.str()) != std::string::npos) == (op == BinaryOp::in));
        }
        const int c = l.str().compare(r.str());  // byte order is code point order in UTF-8
        switch (op) {
            case BinaryOp::lt: return Value::boolean(c < 0);
            case BinaryOp::gt: return Value::boolean(c > 0);
            case BinaryOp::le: return Value::boolean(c <= 0);
            case BinaryOp::ge: return Value::boolean(c >= 0);
            default: break;
        }
    }
    if (l.is_string() && r.is_object() && membership) {
        return Value::boolean((r.obj().find(l.str()) != nullptr) == (op == BinaryOp::in));
    }
    if (op == BinaryOp::mul && ((l.is_string() && r.is_int()) || (l.is_int() && r.is_string()))) {
        // Python's string repetition
        const std::string& s = l.is_string() ? l.str() : r.str();
        const int64_t n = l.is_int() ? l.as_int() : r.as_int();
        std::string out;
        if (n > 0) {
            if (s.size() * static_cast<uint64_t>(n) > max_bytes) fail_limit(node.offset, "repeated string too long");
            out.reserve(s.size() * static_cast<size_t>(n));
            for (int64_t k = 0; k < n; ++k) out += s;
        }
        return make_string(std::move(out));
    }
    fail(node.offset, std::string("unsupported operand types for '") + op_spelling(op) +
                          "': " + value_kind_name(l.kind()) + " and " + value_kind_name(r.kind()));
}

}  // namespace pagoda::jinja
