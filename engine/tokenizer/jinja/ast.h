// Syntax tree of a parsed template. Nodes are plain structs tagged with a kind; the
// interpreter switches on the kind. Every node keeps its source offset for errors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pagoda::jinja {

enum class NodeKind : uint8_t {
    // statements
    text,    // literal template text
    output,  // {{ expr }}
    if_stmt,
    for_stmt,
    set_stmt,
    macro_stmt,
    call_block,    // {% call(args) macro(...) %}...{% endcall %}
    filter_block,  // {% filter name %}...{% endfilter %}
    break_stmt,
    continue_stmt,
    // expressions
    int_literal,
    float_literal,
    string_literal,
    list_literal,
    tuple_literal,
    dict_literal,
    identifier,
    member,  // a.b, a[b]
    slice,   // only as a member's property: a[start:stop:step]
    call,
    filter,  // x | name(args)
    test,    // x is [not] name(args)
    unary,
    binary,
    ternary,         // a if cond else b
    select,          // a if cond   (undefined when cond is false)
    keyword_arg,     // name=value inside a call
    spread,          // *list inside a call
    keyword_spread,  // **dict inside a call
};

struct Node {
    Node(NodeKind k, uint32_t off) : kind(k), offset(off) {}
    virtual ~Node() = default;
    NodeKind kind;
    uint32_t offset;
};
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

struct TextNode : Node {
    TextNode(uint32_t off, std::string t) : Node(NodeKind::text, off), text(std::move(t)) {}
    std::string text;
};

struct OutputNode : Node {
    OutputNode(uint32_t off, NodePtr e) : Node(NodeKind::output, off), expr(std::move(e)) {}
    NodePtr expr;
};

struct IfNode : Node {
    explicit IfNode(uint32_t off) : Node(NodeKind::if_stmt, off) {}
    NodePtr test;
    NodeList body, alternate;  // elif is an IfNode alone in alternate
};

struct ForNode : Node {
    explicit ForNode(uint32_t off) : Node(NodeKind::for_stmt, off) {}
    NodePtr target;    // identifier or tuple of identifiers
    NodePtr iterable;  // may be a SelectNode: `for x in xs if cond`
    NodeList body, else_body;
};

struct SetNode : Node {
    explicit SetNode(uint32_t off) : Node(NodeKind::set_stmt, off) {}
    NodePtr target;  // identifier, tuple, or namespace attribute (member)
    NodePtr value;   // null for the block form
    NodeList body;
};

struct Parameter {
    std::string name;
    NodePtr default_value;  // may be null
};

struct MacroNode : Node {
    explicit MacroNode(uint32_t off) : Node(NodeKind::macro_stmt, off) {}
    std::string name;
    std::vector<Parameter> params;
    NodeList body;
    bool uses_varargs = false, uses_kwargs = false;  // body reads `varargs` / `kwargs`
};

struct CallBlockNode : Node {
    explicit CallBlockNode(uint32_t off) : Node(NodeKind::call_block, off) {}
    std::vector<Parameter> caller_params;
    NodePtr call;  // a CallNode
    NodeList body;
    bool uses_varargs = false, uses_kwargs = false;
};

struct FilterBlockNode : Node {
    explicit FilterBlockNode(uint32_t off) : Node(NodeKind::filter_block, off) {}
    NodePtr filter;  // a FilterNode whose operand is null (the rendered body goes there)
    NodeList body;
};

struct IntLiteral : Node {
    IntLiteral(uint32_t off, int64_t v) : Node(NodeKind::int_literal, off), value(v) {}
    int64_t value;
};

struct FloatLiteral : Node {
    FloatLiteral(uint32_t off, double v) : Node(NodeKind::float_literal, off), value(v) {}
    double value;
};

struct StringLiteral : Node {
    StringLiteral(uint32_t off, std::string v)
        : Node(NodeKind::string_literal, off), value(std::make_shared<const std::string>(std::move(v))) {}
    std::shared_ptr<const std::string> value;  // shared with every Value made from it
};

struct ListNode : Node {  // list and tuple literals
    ListNode(NodeKind k, uint32_t off) : Node(k, off) {}
    NodeList items;
};

struct DictNode : Node {
    explicit DictNode(uint32_t off) : Node(NodeKind::dict_literal, off) {}
    std::vector<std::pair<NodePtr, NodePtr>> items;
};

struct IdentifierNode : Node {
    IdentifierNode(uint32_t off, std::string n) : Node(NodeKind::identifier, off), name(std::move(n)) {}
    std::string name;
};

struct MemberNode : Node {
    explicit MemberNode(uint32_t off) : Node(NodeKind::member, off) {}
    NodePtr object;
    NodePtr property;  // computed: any expression or a SliceNode; dotted: identifier or int literal
    bool computed = false;
};

struct SliceNode : Node {
    explicit SliceNode(uint32_t off) : Node(NodeKind::slice, off) {}
    NodePtr start, stop, step;  // each may be null
};

struct CallNode : Node {
    explicit CallNode(uint32_t off) : Node(NodeKind::call, off) {}
    NodePtr callee;
    NodeList args;  // expressions, KeywordArgNode, SpreadNode, KeywordSpreadNode
};

struct FilterNode : Node {
    explicit FilterNode(uint32_t off) : Node(NodeKind::filter, off) {}
    NodePtr operand;
    std::string name;
    NodeList args;
};

struct TestNode : Node {
    explicit TestNode(uint32_t off) : Node(NodeKind::test, off) {}
    NodePtr operand;
    std::string name;
    NodeList args;
    bool negate = false;
};

enum class UnaryOp : uint8_t { not_, minus, plus };
struct UnaryNode : Node {
    UnaryNode(uint32_t off, UnaryOp o, NodePtr a) : Node(NodeKind::unary, off), op(o), operand(std::move(a)) {}
    UnaryOp op;
    NodePtr operand;
};

enum class BinaryOp : uint8_t {
    and_,
    or_,
    eq,
    ne,
    lt,
    gt,
    le,
    ge,
    in,
    not_in,
    add,
    sub,
    concat,
    mul,
    div,
    floordiv,
    mod,
    pow,
};
struct BinaryNode : Node {
    BinaryNode(uint32_t off, BinaryOp o, NodePtr l, NodePtr r)
        : Node(NodeKind::binary, off), op(o), left(std::move(l)), right(std::move(r)) {}
    BinaryOp op;
    NodePtr left, right;
};

struct TernaryNode : Node {
    explicit TernaryNode(uint32_t off) : Node(NodeKind::ternary, off) {}
    NodePtr condition, if_true, if_false;
};

struct SelectNode : Node {
    SelectNode(uint32_t off, NodePtr v, NodePtr t)
        : Node(NodeKind::select, off), value(std::move(v)), test(std::move(t)) {}
    NodePtr value, test;
};

struct KeywordArgNode : Node {
    KeywordArgNode(uint32_t off, std::string n, NodePtr v)
        : Node(NodeKind::keyword_arg, off), name(std::move(n)), value(std::move(v)) {}
    std::string name;
    NodePtr value;
};

struct SpreadNode : Node {  // spread and keyword_spread
    SpreadNode(NodeKind k, uint32_t off, NodePtr v) : Node(k, off), value(std::move(v)) {}
    NodePtr value;
};

struct Program {
    NodeList body;
};

// Sets varargs / kwargs when the subtree reads those names (nested macros excluded).
void reads_special_names(const Node* n, bool& varargs, bool& kwargs);

}  // namespace pagoda::jinja
