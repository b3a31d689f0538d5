#include "tokenizer/jinja/interpreter.h"

#include "tokenizer/jinja/text.h"
#include "tokenizer/jinja/value_convert.h"

namespace pagoda::jinja {

const Value* Scope::lookup(std::string_view name) const {
    for (const Scope* s = this; s; s = s->parent_) {
        if (const Value* v = s->vars_.find(name)) return v;
    }
    return nullptr;
}

Interpreter::Interpreter(const RenderOptions& options) : options_(options) {}

Interpreter::~Interpreter() {
    for (Value& v : mutable_containers_) {
        if (v.is_array()) v.arr().clear();
        if (v.is_mapping_like()) v.obj().clear();
    }
}

void Interpreter::step_limit_exceeded() const {
    fail_limit(kNoOffset, "template exceeded its work budget (" + std::to_string(options_.limits.max_steps) +
                              " evaluation steps)");
}

void Interpreter::charge_iterations(uint64_t n) {
    iterations_ += n;
    if (iterations_ > options_.limits.max_loop_iterations) {
        fail_limit(kNoOffset, "template exceeded the loop iteration limit (" +
                                  std::to_string(options_.limits.max_loop_iterations) + ")");
    }
    charge(n);
}

Value Interpreter::make_string(std::string s) {
    if (s.size() > options_.limits.max_output_bytes) {
        fail_limit(kNoOffset, "string grew past the output size limit (" +
                                  std::to_string(options_.limits.max_output_bytes) + " bytes)");
    }
    charge_bytes(s.size());
    return Value::string(std::move(s));
}

Value Interpreter::make_array(Array items) {
    charge(items.size());
    return Value::array(std::make_shared<Array>(std::move(items)));
}

void Interpreter::track_mutable(const Value& container) {
    if (tracked_.insert(container.identity()).second) mutable_containers_.push_back(container);
}

std::string Interpreter::run(const Program& program, Scope& globals) {
    std::string out;
    if (exec_block(program.body, globals, out) != Flow::normal) {
        fail(kNoOffset, "'break' or 'continue' outside of a loop");
    }
    return out;
}

void Interpreter::append_output(std::string& out, std::string_view text, uint32_t offset) {
    if (out.size() + text.size() > options_.limits.max_output_bytes) {
        fail_limit(offset, "rendered text exceeds the output size limit (" +
                               std::to_string(options_.limits.max_output_bytes) + " bytes)");
    }
    charge_bytes(text.size());
    out.append(text);
}

Interpreter::Flow Interpreter::exec_block(const NodeList& body, Scope& scope, std::string& out) {
    for (const auto& node : body) {
        const Flow f = exec(*node, scope, out);
        if (f != Flow::normal) return f;
    }
    return Flow::normal;
}

std::string Interpreter::render_body(const NodeList& body, Scope& scope, uint32_t offset) {
    std::string out;
    if (exec_block(body, scope, out) != Flow::normal) fail(offset, "'break' or 'continue' outside of a loop");
    return out;
}

Interpreter::Flow Interpreter::exec(const Node& node, Scope& scope, std::string& out) {
    DepthGuard guard(*this, node.offset);
    charge(1);
    try {
        switch (node.kind) {
            case NodeKind::text: append_output(out, static_cast<const TextNode&>(node).text, node.offset); break;
            case NodeKind::output: {
                const Value v = eval(*static_cast<const OutputNode&>(node).expr, scope);
                if (!v.is_none() && !v.is_undefined()) {
                    if (v.is_string()) {
                        append_output(out, v.str(), node.offset);
                    } else {
                        append_output(out, to_output_string(v, options_.limits.max_output_bytes), node.offset);
                    }
                }
                break;
            }
            case NodeKind::if_stmt: {
                const auto& n = static_cast<const IfNode&>(node);
                return exec_block(eval(*n.test, scope).truthy() ? n.body : n.alternate, scope, out);
            }
            case NodeKind::for_stmt: return exec_for(static_cast<const ForNode&>(node), scope, out);
            case NodeKind::set_stmt: exec_set(static_cast<const SetNode&>(node), scope); break;
            case NodeKind::macro_stmt: exec_macro(static_cast<const MacroNode&>(node), scope); break;
            case NodeKind::call_block: exec_call_block(static_cast<const CallBlockNode&>(node), scope, out); break;
            case NodeKind::filter_block: {
                const auto& n = static_cast<const FilterBlockNode&>(node);
                const Value body = make_string(render_body(n.body, scope, node.offset));
                const auto& f = static_cast<const FilterNode&>(*n.filter);
                CallArgs args = eval_args(f.args, scope);
                const Value v = apply_filter(f.name, body, args, scope, f.offset);
                if (!v.is_none() && !v.is_undefined()) {
                    append_output(out, to_output_string(v, options_.limits.max_output_bytes), node.offset);
                }
                break;
            }
            case NodeKind::break_stmt: return Flow::break_loop;
            case NodeKind::continue_stmt: return Flow::continue_loop;
            default: fail(node.offset, "internal error: expression used as a statement");
        }
    } catch (TemplateError& e) {
        if (e.offset() == kNoOffset) e.set_offset(node.offset);
        throw;
    }
    return Flow::normal;
}

Interpreter::Flow Interpreter::exec_for(const ForNode& node, Scope& scope, std::string& out) {
    Scope loop_scope(&scope);
    const Node* filter = nullptr;
    Value iterable;
    if (node.iterable->kind == NodeKind::select) {
        const auto& sel = static_cast<const SelectNode&>(*node.iterable);
        iterable = eval(*sel.value, loop_scope);
        filter = sel.test.get();
    } else {
        iterable = eval(*node.iterable, loop_scope);
    }

    Array items;
    switch (iterable.kind()) {
        case ValueKind::array: items = iterable.arr(); break;  // a copy: the body may append
        case ValueKind::object:
            for (const auto& kv : iterable.obj().items()) items.push_back(Value::string(kv.first));
            break;
        case ValueKind::string: {
            // Python iterates a string's characters (the reference refuses strings).
            const std::string& s = iterable.str();
            size_t i = 0;
            while (i < s.size()) {
                const size_t start = i;
                text::decode(s, i);
                items.push_back(Value::string(s.substr(start, i - start)));
            }
            break;
        }
        case ValueKind::undefined: break;  // Jinja iterates an undefined value as empty
        default:
            fail(node.iterable->offset,
                 std::string("cannot loop over a value of type ") + value_kind_name(iterable.kind()));
    }
    charge(items.size());

    if (filter) {
        Array kept;
        for (Value& item : items) {
            charge_iterations(1);
            Scope item_scope(&loop_scope);
            assign(*node.target, item, item_scope);
            if (eval(*filter, item_scope).truthy()) kept.push_back(std::move(item));
        }
        items = std::move(kept);
    }

    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
        charge_iterations(1);
        auto loop = std::make_shared<Object>();
        loop->set("index", Value::integer(i + 1));
        loop->set("index0", Value::integer(i));
        loop->set("revindex", Value::integer(n - i));
        loop->set("revindex0", Value::integer(n - i - 1));
        loop->set("first", Value::boolean(i == 0));
        loop->set("last", Value::boolean(i == n - 1));
        loop->set("length", Value::integer(n));
        loop->set("previtem", i > 0 ? items[i - 1] : Value::undefined());
        loop->set("nextitem", i < n - 1 ? items[i + 1] : Value::undefined());
        loop_scope.set("loop", Value::object(std::move(loop)));
        assign(*node.target, items[i], loop_scope);
        const Flow f = exec_block(node.body, loop_scope, out);
        if (f == Flow::break_loop) break;
    }
    if (n == 0) return exec_block(node.else_body, loop_scope, out);
    return Flow::normal;
}

void Interpreter::assign(const Node& target, const Value& value, Scope& scope) {
    switch (target.kind) {
        case NodeKind::identifier: scope.set(static_cast<const IdentifierNode&>(target).name, value); return;
        case NodeKind::tuple_literal: {
            const auto& names = static_cast<const ListNode&>(target).items;
            if (!value.is_array()) {
                fail(target.offset, std::string("cannot unpack a value of type ") + value_kind_name(value.kind()));
            }
            const Array& items = value.arr();
            if (items.size() != names.size()) {
                fail(target.offset, std::string("too ") + (names.size() > items.size() ? "few" : "many") +
                                        " values to unpack (expected " + std::to_string(names.size()) + ", got " +
                                        std::to_string(items.size()) + ")");
            }
            for (size_t k = 0; k < names.size(); ++k) {
                if (names[k]->kind != NodeKind::identifier) fail(names[k]->offset, "can only unpack into names");
                scope.set(static_cast<const IdentifierNode&>(*names[k]).name, items[k]);
            }
            return;
        }
        case NodeKind::member: {
            const auto& m = static_cast<const MemberNode&>(target);
            const Value object = eval(*m.object, scope);
            if (!object.is_ns()) fail(target.offset, "can only assign attributes of a namespace() object");
            if (m.computed || m.property->kind != NodeKind::identifier) {
                fail(target.offset, "namespace attributes are assigned by name (ns.name = ...)");
            }
            object.obj().set(static_cast<const IdentifierNode&>(*m.property).name, value);
            return;
        }
        default: fail(target.offset, "cannot assign to this expression");
    }
}

void Interpreter::exec_set(const SetNode& node, Scope& scope) {
    const Value v = node.value ? eval(*node.value, scope) : make_string(render_body(node.body, scope, node.offset));
    assign(*node.target, v, scope);
}

void Interpreter::exec_macro(const MacroNode& node, Scope& scope) {
    auto fn = std::make_shared<Function>();
    fn->name = node.name;
    const MacroNode* macro = &node;
    fn->call = [macro](CallArgs& args, CallSite& site) -> Value {
        Interpreter& in = site.interp;
        // Free variables resolve in the calling scope, as in the reference.
        Scope macro_scope(&site.scope);
        bind_parameters(in, "'" + macro->name + "'", macro->params, macro->uses_varargs, macro->uses_kwargs, args,
                        macro_scope, site.offset);
        return in.make_string(in.render_body(macro->body, macro_scope, macro->offset));
    };
    scope.set(node.name, Value::function(std::move(fn)));
}

void Interpreter::exec_call_block(const CallBlockNode& node, Scope& scope, std::string& out) {
    // caller() renders the block body in the scope of the call statement. The scope
    // lives on this stack frame, so a caller kept past the statement must not run.
    auto alive = std::make_shared<bool>(true);
    auto caller = std::make_shared<Function>();
    caller->name = "caller";
    const CallBlockNode* block = &node;
    Scope* definition_scope = &scope;
    caller->call = [block, definition_scope, alive](CallArgs& args, CallSite& site) -> Value {
        if (!*alive) fail(site.offset, "caller() used after its call block ended");
        Interpreter& in = site.interp;
        Scope body_scope(definition_scope);
        bind_parameters(in, "caller", block->caller_params, block->uses_varargs, block->uses_kwargs, args, body_scope,
                        site.offset);
        return in.make_string(in.render_body(block->body, body_scope, block->offset));
    };
    struct Expire {
        std::shared_ptr<bool> alive;
        ~Expire() { *alive = false; }
    } expire{alive};

    const auto& call = static_cast<const CallNode&>(*node.call);
    CallArgs args = eval_args(call.args, scope);
    const Value fn = eval(*call.callee, scope);
    Scope call_scope(&scope);
    call_scope.set("caller", Value::function(std::move(caller)));
    const Value v = this->call(fn, args, call_scope, call.offset);
    if (!v.is_none() && !v.is_undefined()) {
        append_output(out, to_output_string(v, options_.limits.max_output_bytes), node.offset);
    }
}

Value Interpreter::call(const Value& fn, CallArgs& args, Scope& scope, uint32_t offset) {
    if (!fn.is_function()) {
        fail(offset, std::string("cannot call a value of type ") + value_kind_name(fn.kind()));
    }
    if (++call_depth_ > options_.limits.max_call_depth) {
        --call_depth_;
        fail_limit(offset,
                   "macro calls nest too deeply (limit " + std::to_string(options_.limits.max_call_depth) + ")");
    }
    struct Unwind {
        int& depth;
        ~Unwind() { --depth; }
    } unwind{call_depth_};
    CallSite site{*this, scope, offset};
    return fn.fn().call(args, site);
}

bool Interpreter::test(std::string_view name, const Value& v, CallArgs& args, Scope&, uint32_t offset) {
    return run_test(*this, name, v, args, offset);
}

Value Interpreter::apply_filter(std::string_view name, const Value& v, CallArgs& args, Scope& scope, uint32_t offset) {
    return run_filter(*this, name, v, args, scope, offset);
}

}  // namespace pagoda::jinja
