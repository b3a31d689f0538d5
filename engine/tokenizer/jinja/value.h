// Runtime values of the Jinja interpreter. Templates see data only: strings, numbers,
// booleans, none/undefined, lists, dicts, namespaces and functions the interpreter
// itself provides (builtins, macros). Copies are cheap (strings and containers are
// shared), which matters because every variable lookup returns a Value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pagoda::jinja {

class Value;
class Interpreter;
class Scope;

enum class ValueKind : uint8_t {
    undefined,  // a missing variable or attribute
    none,
    boolean,
    integer,
    floating,
    string,
    array,   // lists and tuples
    object,  // dicts (insertion-ordered, string keys)
    ns,      // namespace(): an object whose attributes `set` may assign
    function,
};
const char* value_kind_name(ValueKind kind);

using Array = std::vector<Value>;
class Object;
struct Function;

class Value {
public:
    Value() = default;  // undefined
    static Value undefined() { return {}; }
    static Value none();
    static Value boolean(bool b);
    static Value integer(int64_t i);
    static Value floating(double d);
    static Value string(std::string s);
    static Value string(std::shared_ptr<const std::string> s);
    static Value array(std::shared_ptr<Array> a);
    static Value object(std::shared_ptr<Object> o);
    static Value ns(std::shared_ptr<Object> o);
    static Value function(std::shared_ptr<Function> f);

    ValueKind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == ValueKind::undefined; }
    bool is_none() const { return kind_ == ValueKind::none; }
    bool is_bool() const { return kind_ == ValueKind::boolean; }
    bool is_int() const { return kind_ == ValueKind::integer; }
    bool is_float() const { return kind_ == ValueKind::floating; }
    bool is_number() const { return is_int() || is_float(); }
    bool is_string() const { return kind_ == ValueKind::string; }
    bool is_array() const { return kind_ == ValueKind::array; }
    bool is_object() const { return kind_ == ValueKind::object; }
    bool is_ns() const { return kind_ == ValueKind::ns; }
    // Dicts and namespaces: things with named entries.
    bool is_mapping_like() const { return is_object() || is_ns(); }
    bool is_function() const { return kind_ == ValueKind::function; }

    bool as_bool() const { return scalar_.b; }
    int64_t as_int() const { return scalar_.i; }
    double as_float() const { return scalar_.d; }
    // int, float or bool as a double
    double as_number() const;
    const std::string& str() const { return *static_cast<const std::string*>(ptr_.get()); }
    Array& arr() const { return *static_cast<Array*>(ptr_.get()); }
    Object& obj() const { return *static_cast<Object*>(ptr_.get()); }
    Function& fn() const { return *static_cast<Function*>(ptr_.get()); }
    // Identity of a container or function (for `==` on containers, as the reference does).
    const void* identity() const { return ptr_.get(); }
    const std::shared_ptr<void>& shared() const { return ptr_; }

    // Python/Jinja truthiness as the reference implements it.
    bool truthy() const;

private:
    ValueKind kind_ = ValueKind::undefined;
    union {
        bool b;
        int64_t i;
        double d;
    } scalar_{};
    std::shared_ptr<void> ptr_;
};

// An insertion-ordered map with string keys; lookups use a hash index once it grows.
class Object {
public:
    const Value* find(std::string_view key) const;
    Value* find(std::string_view key);
    void set(const std::string& key, Value value);
    size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
    void clear();

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    void build_index() const;
    std::vector<std::pair<std::string, Value>> items_;
    // Built once the object is big enough for linear search to hurt.
    mutable std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;
};

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
    const Value* kwarg(std::string_view name) const;
    // The n-th positional argument, else the keyword one, else nullptr.
    const Value* get(size_t n, std::string_view name) const;
};

// What a function sees of the call: the interpreter, the calling scope (macros resolve
// free variables there, as the reference does) and the call's template offset.
struct CallSite {
    Interpreter& interp;
    Scope& scope;
    uint32_t offset;
};

struct Function {
    std::string name;
    std::function<Value(CallArgs& args, CallSite& site)> call;
};

// JavaScript `a == b` on the underlying values (the reference's `==` and `!=`):
// numbers by value, strings by content, bool/number/string coerced, none == undefined,
// containers by identity.
bool loose_equals(const Value& a, const Value& b);
// JavaScript `a === b` (the reference's `in`, `equalto`, `unique`).
bool strict_equals(const Value& a, const Value& b);

}  // namespace pagoda::jinja
