#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

const char* value_kind_name(ValueKind kind) {
    switch (kind) {
        case ValueKind::undefined: return "undefined";
        case ValueKind::none: return "none";
        case ValueKind::boolean: return "boolean";
        case ValueKind::integer: return "integer";
        case ValueKind::floating: return "float";
        case ValueKind::string: return "string";
        case ValueKind::array: return "list";
        case ValueKind::object: return "dict";
        case ValueKind::ns: return "namespace";
        case ValueKind::function: return "function";
    }
    return "?";
}

namespace {
constexpr size_t kIndexThreshold = 8;
}  // namespace

void Object::build_index() const {
    if (items_.size() < kIndexThreshold || index_.size() == items_.size()) return;
    index_.clear();
    index_.reserve(items_.size());
    for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
}

const Value* Object::find(std::string_view key) const {
    if (items_.size() < kIndexThreshold) {
        for (const auto& [k, v] : items_) {
            if (k == key) return &v;
        }
        return nullptr;
    }
    build_index();
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
}

Value* Object::find(std::string_view key) { return const_cast<Value*>(std::as_const(*this).find(key)); }

void Object::set(const std::string& key, Value value) {
    if (Value* existing = find(key)) {
        *existing = std::move(value);
        return;
    }
    items_.emplace_back(key, std::move(value));
    if (!index_.empty()) index_.emplace(key, items_.size() - 1);
}

void Object::clear() {
    items_.clear();
    index_.clear();
}

const Value* CallArgs::kwarg(std::string_view name) const {
    for (const auto& [k, v] : keyword) {
        if (k == name) return &v;
    }
    return nullptr;
}

const Value* CallArgs::get(size_t n, std::string_view name) const {
    if (n < positional.size()) return &positional[n];
    return kwarg(name);
}

Value Value::none() {
    Value v;
    v.kind_ = ValueKind::none;
    return v;
}

Value Value::boolean(bool b) {
    Value v;
    v.kind_ = ValueKind::boolean;
    v.scalar_.b = b;
    return v;
}

Value Value::integer(int64_t i) {
    Value v;
    v.kind_ = ValueKind::integer;
    v.scalar_.i = i;
    return v;
}

Value Value::floating(double d) {
    Value v;
    v.kind_ = ValueKind::floating;
    v.scalar_.d = d;
    return v;
}

Value Value::string(std::string s) { return string(std::make_shared<const std::string>(std::move(s))); }

Value Value::string(std::shared_ptr<const std::string> s) {
    Value v;
    v.kind_ = ValueKind::string;
    v.ptr_ = std::const_pointer_cast<std::string>(std::move(s));
    return v;
}

Value Value::array(std::shared_ptr<Array> a) {
    Value v;
    v.kind_ = ValueKind::array;
    v.ptr_ = std::move(a);
    return v;
}

Value Value::object(std::shared_ptr<Object> o) {
    Value v;
    v.kind_ = ValueKind::object;
    v.ptr_ = std::move(o);
    return v;
}

Value Value::ns(std::shared_ptr<Object> o) {
    Value v;
    v.kind_ = ValueKind::ns;
    v.ptr_ = std::move(o);
    return v;
}

Value Value::function(std::shared_ptr<Function> f) {
    Value v;
    v.kind_ = ValueKind::function;
    v.ptr_ = std::move(f);
    return v;
}

double Value::as_number() const {
    switch (kind_) {
        case ValueKind::integer: return static_cast<double>(scalar_.i);
        case ValueKind::floating: return scalar_.d;
        case ValueKind::boolean: return scalar_.b ? 1.0 : 0.0;
        default: return 0.0;
    }
}

bool Value::truthy() const {
    switch (kind_) {
        case ValueKind::undefined:
        case ValueKind::none: return false;
        case ValueKind::boolean: return scalar_.b;
        case ValueKind::integer: return scalar_.i != 0;
        case ValueKind::floating: return scalar_.d != 0 && scalar_.d == scalar_.d;  // NaN is falsy
        case ValueKind::string: return !str().empty();
        case ValueKind::array: return !arr().empty();
        case ValueKind::object: return !obj().empty();
        case ValueKind::ns:  // the reference never looks inside a namespace here
        case ValueKind::function: return true;
    }
    return false;
}

bool strict_equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return a.as_number() == b.as_number();
    if (a.kind() != b.kind()) {
        // dicts and namespaces are both objects to JavaScript, but never the same one
        return false;
    }
    switch (a.kind()) {
        case ValueKind::undefined:
        case ValueKind::none: return true;
        case ValueKind::boolean: return a.as_bool() == b.as_bool();
        case ValueKind::string: return a.str() == b.str();
        default: return a.identity() == b.identity();
    }
}

}  // namespace pagoda::jinja
