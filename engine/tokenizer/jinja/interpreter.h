// Tree-walking evaluator. Internal to the jinja folder: Template::render is the API.
// Errors are TemplateError exceptions carrying a source offset; render() converts them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/template.h"
#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

// Variables of one block level: the globals, a for loop, a macro call. Scopes live on
// the C++ stack of the evaluator; lookups walk to the parent.
class Scope {
public:
    explicit Scope(Scope* parent) : parent_(parent) {}
    const Value* lookup(std::string_view name) const;
    void set(const std::string& name, Value v) { vars_.set(name, std::move(v)); }
    Scope* parent() const { return parent_; }

private:
    Scope* parent_;
    Object vars_;
};

class Interpreter {
public:
    explicit Interpreter(const RenderOptions& options);
    ~Interpreter();

    // Renders the program with `globals` as the outermost scope.
    std::string run(const Program& program, Scope& globals);

    const Limits& limits() const { return options_.limits; }
    const RenderOptions& options() const { return options_; }

    // Work accounting: every evaluation step costs 1; building big strings and lists
    // costs in proportion to their size.
    void charge(uint64_t steps) {
        steps_ += steps;
        if (steps_ > options_.limits.max_steps) step_limit_exceeded();
    }
    void charge_bytes(size_t n) { charge(n / 64); }
    void charge_iterations(uint64_t n);
    // A string the template builds may not grow past the output limit.
    Value make_string(std::string s);
    Value make_array(Array items);
    // Containers the template may mutate (namespaces, lists it appends to) are emptied
    // when the render ends, which breaks any reference cycle the template made.
    void track_mutable(const Value& container);

    Value call(const Value& fn, CallArgs& args, Scope& scope, uint32_t offset);
    Value eval(const Node& node, Scope& scope);
    bool test(std::string_view name, const Value& v, CallArgs& args, Scope& scope, uint32_t offset);
    Value apply_filter(std::string_view name, const Value& v, CallArgs& args, Scope& scope, uint32_t offset);

    // Depth guard for anything that recurses (evaluation, macro calls).
    struct DepthGuard {
        DepthGuard(Interpreter& in, uint32_t offset) : in_(in) {
            if (++in_.depth_ > in_.options_.limits.max_eval_depth) {
                fail_limit(offset, "template evaluation nests too deeply");
            }
        }
        ~DepthGuard() { --in_.depth_; }
        Interpreter& in_;
    };

private:
    friend class MacroCaller;
    enum class Flow { normal, break_loop, continue_loop };

    Flow exec_block(const NodeList& body, Scope& scope, std::string& out);
    Flow exec(const Node& node, Scope& scope, std::string& out);
    // Renders a body that must not break out of its block (macro, set, filter, caller).
    std::string render_body(const NodeList& body, Scope& scope, uint32_t offset);
    void append_output(std::string& out, const std::string_view text, uint32_t offset);

    Flow exec_for(const ForNode& node, Scope& scope, std::string& out);
    void exec_set(const SetNode& node, Scope& scope);
    void exec_macro(const MacroNode& node, Scope& scope);
    void exec_call_block(const CallBlockNode& node, Scope& scope, std::string& out);
    void assign(const Node& target, const Value& value, Scope& scope);

    Value eval_expr(const Node& node, Scope& scope);
    Value eval_member(const MemberNode& node, Scope& scope);
    Value eval_slice(const Value& object, const SliceNode& node, Scope& scope);
    Value eval_call(const CallNode& node, Scope& scope);
    Value eval_unary(const UnaryNode& node, Scope& scope);
    Value eval_binary(const BinaryNode& node, Scope& scope);
    CallArgs eval_args(const NodeList& args, Scope& scope);

    [[noreturn]] void step_limit_exceeded() const;

    RenderOptions options_;
    uint64_t steps_ = 0;
    uint64_t iterations_ = 0;
    int depth_ = 0;
    int call_depth_ = 0;
    std::vector<Value> mutable_containers_;
    std::unordered_set<const void*> tracked_;
};

// Builtins, each in its own file.
Value get_attribute(Interpreter& in, const Value& object, const Value& property, uint32_t offset);
bool run_test(Interpreter& in, std::string_view name, const Value& v, const CallArgs& args, uint32_t offset);
Value run_filter(Interpreter& in, std::string_view name, const Value& v, CallArgs& args, Scope& scope, uint32_t offset);
void install_globals(Scope& globals);
// Binds a macro or call block's parameters in `scope` (Jinja's rules: positional, then by
// name, then defaults evaluated in the new scope; varargs/kwargs when the body uses them).
void bind_parameters(Interpreter& in, const std::string& display_name, const std::vector<Parameter>& params,
                     bool uses_varargs, bool uses_kwargs, CallArgs& args, Scope& scope, uint32_t offset);

}  // namespace pagoda::jinja
