// Which of the names `varargs` and `kwargs` a macro body reads: only then may a call
// pass it more positional or keyword arguments than it declares (Jinja's rule).
#include "tokenizer/jinja/ast.h"

namespace pagoda::jinja {

void reads_special_names(const Node* n, bool& varargs, bool& kwargs) {
    if (!n) return;
    auto list = [&](const NodeList& l) {
        for (const auto& c : l) reads_special_names(c.get(), varargs, kwargs);
    };
    switch (n->kind) {
        case NodeKind::identifier: {
            const auto& name = static_cast<const IdentifierNode*>(n)->name;
            varargs |= name == "varargs";
            kwargs |= name == "kwargs";
            return;
        }
        case NodeKind::output:
            return reads_special_names(static_cast<const OutputNode*>(n)->expr.get(), varargs, kwargs);
        case NodeKind::if_stmt: {
            auto* x = static_cast<const IfNode*>(n);
            reads_special_names(x->test.get(), varargs, kwargs);
            list(x->body);
            return list(x->alternate);
        }
        case NodeKind::for_stmt: {
            auto* x = static_cast<const ForNode*>(n);
            reads_special_names(x->iterable.get(), varargs, kwargs);
            list(x->body);
            return list(x->else_body);
        }
        case NodeKind::set_stmt: {
            auto* x = static_cast<const SetNode*>(n);
            reads_special_names(x->value.get(), varargs, kwargs);
            return list(x->body);
        }
        case NodeKind::call_block: {
            auto* x = static_cast<const CallBlockNode*>(n);
            reads_special_names(x->call.get(), varargs, kwargs);
            return list(x->body);
        }
        case NodeKind::filter_block: {
            auto* x = static_cast<const FilterBlockNode*>(n);
            reads_special_names(x->filter.get(), varargs, kwargs);
            return list(x->body);
        }
        case NodeKind::list_literal:
        case NodeKind::tuple_literal: return list(static_cast<const ListNode*>(n)->items);
        case NodeKind::dict_literal:
            for (const auto& [k, v] : static_cast<const DictNode*>(n)->items) {
                reads_special_names(k.get(), varargs, kwargs);
                reads_special_names(v.get(), varargs, kwargs);
            }
            return;
        case NodeKind::member: {
            auto* x = static_cast<const MemberNode*>(n);
            reads_special_names(x->object.get(), varargs, kwargs);
            if (x->computed) reads_special_names(x->property.get(), varargs, kwargs);
            return;
        }
        case NodeKind::slice: {
            auto* x = static_cast<const SliceNode*>(n);
            reads_special_names(x->start.get(), varargs, kwargs);
            reads_special_names(x->stop.get(), varargs, kwargs);
            return reads_special_names(x->step.get(), varargs, kwargs);
        }
        case NodeKind::call: {
            auto* x = static_cast<const CallNode*>(n);
            reads_special_names(x->callee.get(), varargs, kwargs);
            return list(x->args);
        }
        case NodeKind::filter: {
            auto* x = static_cast<const FilterNode*>(n);
            reads_special_names(x->operand.get(), varargs, kwargs);
            return list(x->args);
        }
        case NodeKind::test: {
            auto* x = static_cast<const TestNode*>(n);
            reads_special_names(x->operand.get(), varargs, kwargs);
            return list(x->args);
        }
        case NodeKind::unary:
            return reads_special_names(static_cast<const UnaryNode*>(n)->operand.get(), varargs, kwargs);
        case NodeKind::binary: {
            auto* x = static_cast<const BinaryNode*>(n);
            reads_special_names(x->left.get(), varargs, kwargs);
            return reads_special_names(x->right.get(), varargs, kwargs);
        }
        case NodeKind::ternary: {
            auto* x = static_cast<const TernaryNode*>(n);
            reads_special_names(x->condition.get(), varargs, kwargs);
            reads_special_names(x->if_true.get(), varargs, kwargs);
            return reads_special_names(x->if_false.get(), varargs, kwargs);
        }
        case NodeKind::select: {
            auto* x = static_cast<const SelectNode*>(n);
            reads_special_names(x->value.get(), varargs, kwargs);
            return reads_special_names(x->test.get(), varargs, kwargs);
        }
        case NodeKind::keyword_arg:
            return reads_special_names(static_cast<const KeywordArgNode*>(n)->value.get(), varargs, kwargs);
        case NodeKind::spread:
        case NodeKind::keyword_spread:
            return reads_special_names(static_cast<const SpreadNode*>(n)->value.get(), varargs, kwargs);
        default: return;  // nested macros keep their own varargs/kwargs
    }
}

}  // namespace pagoda::jinja
