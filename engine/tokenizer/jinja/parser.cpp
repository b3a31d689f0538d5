#include "tokenizer/jinja/parser.h"

#include <charconv>
#include <initializer_list>
#include <set>

#include "tokenizer/jinja/error.h"

namespace pagoda::jinja {

namespace {

class Parser {
public:
    Parser(const std::vector<Token>& tokens, int max_nesting) : t_(tokens), max_nesting_(max_nesting) {}

    Program run() {
        Program program;
        while (cur_ < t_.size()) {
            if (NodePtr n = parse_any()) program.body.push_back(std::move(n));
        }
        return program;
    }

private:
    // --- token helpers ---------------------------------------------------------------
    const Token* peek(size_t ahead = 0) const { return cur_ + ahead < t_.size() ? &t_[cur_ + ahead] : nullptr; }
    bool is(TokenKind k, size_t ahead = 0) const {
        const Token* tok = peek(ahead);
        return tok && tok->kind == k;
    }
    bool is_word(std::string_view w, size_t ahead = 0) const {
        const Token* tok = peek(ahead);
        return tok && tok->kind == TokenKind::identifier && tok->value == w;
    }
    // {% name ... where name is one of names
    bool is_statement(std::initializer_list<std::string_view> names) const {
        if (!is(TokenKind::open_statement)) return false;
        for (auto n : names) {
            if (is_word(n, 1)) return true;
        }
        return false;
    }
    uint32_t here() const {
        if (const Token* tok = peek()) return tok->offset;
        return t_.empty() ? 0 : t_.back().offset;
    }
    [[noreturn]] void error(uint32_t offset, std::string message) const {
        throw TemplateError(TemplateErrorKind::syntax, offset, std::move(message));
    }
    std::string describe_current() const {
        const Token* tok = peek();
        if (!tok) return "the end of the template";
        if (tok->kind == TokenKind::identifier) return "'" + tok->value + "'";
        return token_kind_name(tok->kind);
    }
    const Token& expect(TokenKind k, const char* what) {
        if (!is(k)) error(here(), std::string("expected ") + what + ", found " + describe_current());
        return t_[cur_++];
    }
    void expect_word(std::string_view w) {
        if (!is_word(w)) error(here(), "expected '" + std::string(w) + "', found " + describe_current());
        ++cur_;
    }
    // Parses statements until {% one-of-names %} (not consumed). The error for a block
    // that never ends points at the statement that opened it.
    NodeList parse_until(std::initializer_list<std::string_view> names, std::string_view opened_by,
                         uint32_t opened_at) {
        NodeList body;
        while (!is_statement(names)) {
            if (cur_ >= t_.size()) {
                error(opened_at, "'" + std::string(opened_by) + "' block is never closed (no {% end" +
                                     std::string(opened_by) + " %})");
            }
            if (NodePtr n = parse_any()) body.push_back(std::move(n));
        }
        return body;
    }
    void expect_end_tag(std::string_view name) {
        expect(TokenKind::open_statement, "'{%'");
        expect_word(name);
        expect(TokenKind::close_statement, "'%}'");
    }

    struct DepthGuard {
        explicit DepthGuard(Parser& p) : p_(p) {
            if (++p_.depth_ > p_.max_nesting_) {
                throw TemplateError(TemplateErrorKind::limit, p_.here(), "template nests too deeply");
            }
        }
        ~DepthGuard() { --p_.depth_; }
        Parser& p_;
    };

    // --- statements ------------------------------------------------------------------
    NodePtr parse_any() {
        DepthGuard guard(*this);
        const Token& tok = t_[cur_];
        switch (tok.kind) {
            case TokenKind::comment: ++cur_; return nullptr;
            case TokenKind::text: ++cur_; return std::make_unique<TextNode>(tok.offset, tok.value);
            case TokenKind::open_statement: return parse_statement();
            case TokenKind::open_expression: {
                ++cur_;
                auto out = std::make_unique<OutputNode>(tok.offset, parse_expression());
                expect(TokenKind::close_expression, "'}}'");
                return out;
            }
            default: error(tok.offset, std::string("unexpected ") + token_kind_name(tok.kind));
        }
    }

    NodePtr parse_statement() {
        const uint32_t start = expect(TokenKind::open_statement, "'{%'").offset;
        if (!is(TokenKind::identifier)) error(here(), "expected a statement name, found " + describe_current());
        const std::string name = t_[cur_++].value;
        if (name == "set") return parse_set(start);
        if (name == "if") {
            NodePtr n = parse_if(start);
            expect_end_tag("endif");
            return n;
        }
        if (name == "for") {
            NodePtr n = parse_for(start);
            expect_end_tag("endfor");
            return n;
        }
        if (name == "macro") {
            NodePtr n = parse_macro(start);
            expect_end_tag("endmacro");
            return n;
        }
        if (name == "call") return parse_call_block(start);
        if (name == "filter") return parse_filter_block(start);
        if (name == "break" || name == "continue") {
            expect(TokenKind::close_statement, "'%}'");
            return std::make_unique<Node>(name == "break" ? NodeKind::break_stmt : NodeKind::continue_stmt, start);
        }
        error(start, "unknown statement '" + name + "'");
    }

    NodePtr parse_set(uint32_t start) {
        auto n = std::make_unique<SetNode>(start);
        n->target = parse_expression_sequence(false);
        if (is(TokenKind::equals)) {
            ++cur_;
            n->value = parse_expression_sequence(false);
        } else {
            expect(TokenKind::close_statement, "'=' or '%}'");
            n->body = parse_until({"endset"}, "set", start);
            expect(TokenKind::open_statement, "'{%'");
            expect_word("endset");
        }
        expect(TokenKind::close_statement, "'%}'");
        const NodeKind tk = n->target->kind;
        if (tk != NodeKind::identifier && tk != NodeKind::tuple_literal && tk != NodeKind::member) {
            error(n->target->offset, "cannot assign to this expression");
        }
        return n;
    }

    // After `if` (or `elif`); stops before {% elif/else/endif %} of this level.
    NodePtr parse_if(uint32_t start) {
        auto n = std::make_unique<IfNode>(start);
        n->test = parse_expression();
        expect(TokenKind::close_statement, "'%}'");
        n->body = parse_until({"elif", "else", "endif"}, "if", start);
        if (is_statement({"elif"})) {
            const uint32_t elif_at = peek()->offset;
            cur_ += 2;
            DepthGuard guard(*this);
            n->alternate.push_back(parse_if(elif_at));
        } else if (is_statement({"else"})) {
            cur_ += 2;
            expect(TokenKind::close_statement, "'%}'");
            n->alternate = parse_until({"endif"}, "if", start);
        }
        return n;
    }

    NodePtr parse_for(uint32_t start) {
        auto n = std::make_unique<ForNode>(start);
        n->target = parse_expression_sequence(true);
        if (n->target->kind == NodeKind::tuple_literal) {
            for (const auto& item : static_cast<ListNode&>(*n->target).items) {
                if (item->kind != NodeKind::identifier) error(item->offset, "loop variables must be names");
            }
        } else if (n->target->kind != NodeKind::identifier) {
            error(n->target->offset, "loop variables must be names");
        }
        expect_word("in");
        n->iterable = parse_expression();
        expect(TokenKind::close_statement, "'%}'");
        n->body = parse_until({"endfor", "else"}, "for", start);
        if (is_statement({"else"})) {
            cur_ += 2;
            expect(TokenKind::close_statement, "'%}'");
            n->else_body = parse_until({"endfor"}, "for", start);
        }
        return n;
    }

    NodePtr parse_macro(uint32_t start) {
        auto n = std::make_unique<MacroNode>(start);
        if (!is(TokenKind::identifier)) error(here(), "expected a macro name, found " + describe_current());
        n->name = t_[cur_++].value;
        n->params = parse_parameters();
        expect(TokenKind::close_statement, "'%}'");
        n->body = parse_until({"endmacro"}, "macro", start);
        scan_special_names(n->params, n->body, n->uses_varargs, n->uses_kwargs);
        return n;
    }

    NodePtr parse_call_block(uint32_t start) {
        auto n = std::make_unique<CallBlockNode>(start);
        if (is(TokenKind::open_paren)) n->caller_params = parse_parameters();
        if (!is(TokenKind::identifier)) error(here(), "expected a macro name after 'call'");
        const Token& callee = t_[cur_++];
        auto call = std::make_unique<CallNode>(callee.offset);
        call->callee = std::make_unique<IdentifierNode>(callee.offset, callee.value);
        call->args = parse_call_args();
        n->call = std::move(call);
        expect(TokenKind::close_statement, "'%}'");
        n->body = parse_until({"endcall"}, "call", start);
        expect_end_tag("endcall");
        scan_special_names(n->caller_params, n->body, n->uses_varargs, n->uses_kwargs);
        return n;
    }

    NodePtr parse_filter_block(uint32_t start) {
        auto n = std::make_unique<FilterBlockNode>(start);
        n->filter = parse_filter_tail(nullptr);
        expect(TokenKind::close_statement, "'%}'");
        n->body = parse_until({"endfilter"}, "filter", start);
        expect_end_tag("endfilter");
        return n;
    }

    // --- arguments -------------------------------------------------------------------
    std::vector<Parameter> parse_parameters() {
        expect(TokenKind::open_paren, "'('");
        std::vector<Parameter> params;
        std::set<std::string> seen;
        bool saw_default = false;
        while (!is(TokenKind::close_paren)) {
            if (!is(TokenKind::identifier)) error(here(), "expected a parameter name, found " + describe_current());
            Parameter p;
            const uint32_t at = peek()->offset;
            p.name = t_[cur_++].value;
            if (is(TokenKind::equals)) {
                ++cur_;
                p.default_value = parse_expression();
                saw_default = true;
            } else if (saw_default) {
                error(at, "parameter without a default follows one with a default");
            }
            if (!seen.insert(p.name).second) error(at, "duplicate parameter '" + p.name + "'");
            params.push_back(std::move(p));
            if (is(TokenKind::comma)) {
                ++cur_;
            } else if (!is(TokenKind::close_paren)) {
                error(here(), "expected ',' or ')', found " + describe_current());
            }
        }
        ++cur_;
        return params;
    }

    NodeList parse_call_args() {
        expect(TokenKind::open_paren, "'('");
        NodeList args;
        bool saw_keyword = false, saw_spread = false;
        while (!is(TokenKind::close_paren)) {
            if (cur_ >= t_.size()) error(here(), "unexpected end of template in an argument list");
            const uint32_t at = here();
            if (is(TokenKind::power)) {
                ++cur_;
                args.push_back(std::make_unique<SpreadNode>(NodeKind::keyword_spread, at, parse_expression()));
                if (is(TokenKind::comma)) ++cur_;
                if (!is(TokenKind::close_paren)) error(here(), "'**' must be the last argument");
                break;
            }
            if (is(TokenKind::multiplicative) && peek()->value == "*") {
                if (saw_spread) error(at, "only one '*' argument is allowed");
                saw_spread = true;
                ++cur_;
                args.push_back(std::make_unique<SpreadNode>(NodeKind::spread, at, parse_expression()));
            } else {
                NodePtr arg = parse_expression();
                if (is(TokenKind::equals)) {
                    ++cur_;
                    if (arg->kind != NodeKind::identifier) error(at, "expected a name before '='");
                    std::string name = static_cast<IdentifierNode&>(*arg).name;
                    arg = std::make_unique<KeywordArgNode>(at, std::move(name), parse_expression());
                    saw_keyword = true;
                } else if (saw_keyword) {
                    error(at, "positional argument follows keyword argument");
                } else if (saw_spread) {
                    error(at, "positional argument follows '*' argument");
                }
                args.push_back(std::move(arg));
            }
            if (is(TokenKind::comma)) {
                ++cur_;
            } else if (!is(TokenKind::close_paren)) {
                error(here(), "expected ',' or ')', found " + describe_current());
            }
        }
        ++cur_;
        return args;
    }

    // Whether a macro body reads `varargs` / `kwargs` (then extra arguments are allowed).
    static void scan_special_names(const std::vector<Parameter>& params, const NodeList& body, bool& varargs,
                                   bool& kwargs) {
        bool declared_varargs = false, declared_kwargs = false;
        for (const auto& p : params) {
            declared_varargs |= p.name == "varargs";
            declared_kwargs |= p.name == "kwargs";
        }
        for (const auto& n : body) reads_special_names(n.get(), varargs, kwargs);
        varargs &= !declared_varargs;
        kwargs &= !declared_kwargs;
    }

    // --- expressions -----------------------------------------------------------------
    NodePtr parse_expression_sequence(bool primary) {
        const uint32_t start = here();
        NodePtr first = primary ? parse_primary() : parse_expression();
        if (!is(TokenKind::comma)) return first;
        auto tuple = std::make_unique<ListNode>(NodeKind::tuple_literal, start);
        tuple->items.push_back(std::move(first));
        while (is(TokenKind::comma)) {
            ++cur_;
            tuple->items.push_back(primary ? parse_primary() : parse_expression());
        }
        return tuple;
    }

    NodePtr parse_expression() {
        DepthGuard guard(*this);
        return parse_if_expression();
    }

    NodePtr parse_if_expression() {
        NodePtr a = parse_or();
        if (!is_word("if")) return a;
        const uint32_t at = peek()->offset;
        ++cur_;
        NodePtr test = parse_or();
        if (is_word("else")) {
            ++cur_;
            auto t = std::make_unique<TernaryNode>(at);
            t->condition = std::move(test);
            t->if_true = std::move(a);
            DepthGuard guard(*this);
            t->if_false = parse_if_expression();
            return t;
        }
        return std::make_unique<SelectNode>(at, std::move(a), std::move(test));
    }

    NodePtr parse_or() {
        NodePtr left = parse_and();
        while (is_word("or")) {
            const uint32_t at = t_[cur_++].offset;
            left = std::make_unique<BinaryNode>(at, BinaryOp::or_, std::move(left), parse_and());
        }
        return left;
    }

    NodePtr parse_and() {
        NodePtr left = parse_not();
        while (is_word("and")) {
            const uint32_t at = t_[cur_++].offset;
            left = std::make_unique<BinaryNode>(at, BinaryOp::and_, std::move(left), parse_not());
        }
        return left;
    }

    NodePtr parse_not() {
        if (is_word("not")) {
            const uint32_t at = t_[cur_++].offset;
            DepthGuard guard(*this);
            return std::make_unique<UnaryNode>(at, UnaryOp::not_, parse_not());
        }
        return parse_comparison();
    }

    NodePtr parse_comparison() {
        NodePtr left = parse_additive();
        while (true) {
            BinaryOp op;
            const uint32_t at = here();
            if (is_word("not") && is_word("in", 1)) {
                op = BinaryOp::not_in;
                cur_ += 2;
            } else if (is_word("in")) {
                op = BinaryOp::in;
                ++cur_;
            } else if (is(TokenKind::comparison)) {
                const std::string& v = t_[cur_++].value;
                op = v == "=="   ? BinaryOp::eq
                     : v == "!=" ? BinaryOp::ne
                     : v == "<"  ? BinaryOp::lt
                     : v == ">"  ? BinaryOp::gt
                     : v == "<=" ? BinaryOp::le
                                 : BinaryOp::ge;
            } else {
                return left;
            }
            left = std::make_unique<BinaryNode>(at, op, std::move(left), parse_additive());
        }
    }

    NodePtr parse_additive() {
        NodePtr left = parse_multiplicative();
        while (is(TokenKind::additive)) {
            const Token& tok = t_[cur_++];
            const BinaryOp op = tok.value == "+" ? BinaryOp::add : tok.value == "-" ? BinaryOp::sub : BinaryOp::concat;
            left = std::make_unique<BinaryNode>(tok.offset, op, std::move(left), parse_multiplicative());
        }
        return left;
    }

    NodePtr parse_multiplicative() {
        NodePtr left = parse_power();
        while (is(TokenKind::multiplicative)) {
            const Token& tok = t_[cur_++];
            const BinaryOp op = tok.value == "*"    ? BinaryOp::mul
                                : tok.value == "/"  ? BinaryOp::div
                                : tok.value == "//" ? BinaryOp::floordiv
                                                    : BinaryOp::mod;
            left = std::make_unique<BinaryNode>(tok.offset, op, std::move(left), parse_power());
        }
        return left;
    }

    // Left-associative, as in Jinja: 2 ** 3 ** 2 == 64.
    NodePtr parse_power() {
        NodePtr left = parse_test();
        while (is(TokenKind::power)) {
            const uint32_t at = t_[cur_++].offset;
            left = std::make_unique<BinaryNode>(at, BinaryOp::pow, std::move(left), parse_test());
        }
        return left;
    }

    NodePtr parse_test() {
        NodePtr operand = parse_filter();
        while (is_word("is")) {
            auto n = std::make_unique<TestNode>(t_[cur_++].offset);
            if (is_word("not")) {
                n->negate = true;
                ++cur_;
            }
            if (!is(TokenKind::identifier)) error(here(), "expected a test name after 'is'");
            n->name = t_[cur_++].value;
            if (is(TokenKind::open_paren)) {
                n->args = parse_call_args();
            } else if (is(TokenKind::string) || is(TokenKind::number)) {
                // Jinja's `x is divisibleby 3` form: one literal argument without parentheses
                n->args.push_back(parse_primary());
            }
            n->operand = std::move(operand);
            operand = std::move(n);
        }
        return operand;
    }

    NodePtr parse_filter() {
        NodePtr operand = parse_unary_sign();
        while (is(TokenKind::pipe)) {
            ++cur_;
            operand = parse_filter_tail(std::move(operand));
        }
        return operand;
    }

    // name or name(args) after a '|' (or after {% filter).
    NodePtr parse_filter_tail(NodePtr operand) {
        if (!is(TokenKind::identifier)) error(here(), "expected a filter name, found " + describe_current());
        auto n = std::make_unique<FilterNode>(peek()->offset);
        n->name = t_[cur_++].value;
        if (is(TokenKind::open_paren)) n->args = parse_call_args();
        n->operand = std::move(operand);
        return n;
    }

    NodePtr parse_unary_sign() {
        const Token* tok = peek();
        if (tok && (tok->kind == TokenKind::unary || tok->kind == TokenKind::additive) &&
            (tok->value == "-" || tok->value == "+")) {
            ++cur_;
            DepthGuard guard(*this);
            return std::make_unique<UnaryNode>(tok->offset, tok->value == "-" ? UnaryOp::minus : UnaryOp::plus,
                                               parse_unary_sign());
        }
        return parse_postfix(parse_primary());
    }

    // Member access, subscripts, slices and calls after a primary expression.
    NodePtr parse_postfix(NodePtr object) {
        while (true) {
            if (is(TokenKind::dot)) {
                auto m = std::make_unique<MemberNode>(t_[cur_++].offset);
                if (!is(TokenKind::identifier) && !is(TokenKind::number)) {
                    error(here(), "expected a name or an integer after '.'");
                }
                m->property = parse_primary();
                if (m->property->kind != NodeKind::identifier && m->property->kind != NodeKind::int_literal) {
                    error(m->property->offset, "expected a name or an integer after '.'");
                }
                m->object = std::move(object);
                object = std::move(m);
            } else if (is(TokenKind::open_bracket)) {
                auto m = std::make_unique<MemberNode>(t_[cur_++].offset);
                m->computed = true;
                m->property = parse_subscript();
                expect(TokenKind::close_bracket, "']'");
                m->object = std::move(object);
                object = std::move(m);
            } else if (is(TokenKind::open_paren)) {
                // Errors in a call of a named function point at the name.
                auto c = std::make_unique<CallNode>(object->kind == NodeKind::identifier ? object->offset : here());
                c->args = parse_call_args();
                c->callee = std::move(object);
                object = std::move(c);
            } else {
                return object;
            }
        }
    }

    // Inside [...]: an index expression or a slice start:stop:step.
    NodePtr parse_subscript() {
        const uint32_t at = here();
        NodePtr parts[3];
        int n = 0;
        bool is_slice = false;
        while (!is(TokenKind::close_bracket)) {
            if (cur_ >= t_.size()) error(at, "unexpected end of template in a subscript");
            if (n >= 3) error(here(), "a slice has at most three parts");
            if (is(TokenKind::colon)) {
                ++n;
                ++cur_;
                is_slice = true;
                continue;
            }
            if (n > 0 && !is_slice) error(here(), "expected ']' , found " + describe_current());
            parts[n] = parse_expression();
            if (is(TokenKind::colon)) {
                ++cur_;
                is_slice = true;
            } else if (!is(TokenKind::close_bracket)) {
                error(here(), "expected ':' or ']', found " + describe_current());
            }
            ++n;
        }
        if (n == 0) error(at, "empty subscript '[]'");
        if (!is_slice) return std::move(parts[0]);
        auto s = std::make_unique<SliceNode>(at);
        s->start = std::move(parts[0]);
        s->stop = std::move(parts[1]);
        s->step = std::move(parts[2]);
        return s;
    }

    NodePtr parse_primary() {
        DepthGuard guard(*this);
        if (cur_ >= t_.size()) error(here(), "unexpected end of template in an expression");
        const Token& tok = t_[cur_++];
        switch (tok.kind) {
            case TokenKind::number: return parse_number(tok);
            case TokenKind::string: {
                std::string value = tok.value;
                while (is(TokenKind::string)) value += t_[cur_++].value;  // adjacent literals join
                return std::make_unique<StringLiteral>(tok.offset, std::move(value));
            }
            case TokenKind::identifier: return std::make_unique<IdentifierNode>(tok.offset, tok.value);
            case TokenKind::open_paren: {
                NodePtr e = parse_expression_sequence(false);
                expect(TokenKind::close_paren, "')'");
                return e;
            }
            case TokenKind::open_bracket: {
                auto list = std::make_unique<ListNode>(NodeKind::list_literal, tok.offset);
                while (!is(TokenKind::close_bracket)) {
                    if (cur_ >= t_.size()) error(tok.offset, "list literal is not closed");
                    list->items.push_back(parse_expression());
                    if (is(TokenKind::comma)) ++cur_;
                }
                ++cur_;
                return list;
            }
            case TokenKind::open_brace: {
                auto dict = std::make_unique<DictNode>(tok.offset);
                while (!is(TokenKind::close_brace)) {
                    if (cur_ >= t_.size()) error(tok.offset, "dict literal is not closed");
                    NodePtr key = parse_expression();
                    expect(TokenKind::colon, "':' in a dict literal");
                    dict->items.emplace_back(std::move(key), parse_expression());
                    if (is(TokenKind::comma)) ++cur_;
                }
                ++cur_;
                return dict;
            }
            default: error(tok.offset, std::string("unexpected ") + token_kind_name(tok.kind) + " in an expression");
        }
    }

    NodePtr parse_number(const Token& tok) {
        const std::string& s = tok.value;
        const char* begin = s.data() + (s[0] == '+' ? 1 : 0);  // from_chars takes '-' but not '+'
        if (s.find('.') != std::string::npos) {
            double v = 0;
            std::from_chars(begin, s.data() + s.size(), v);
            return std::make_unique<FloatLiteral>(tok.offset, v);
        }
        int64_t v = 0;
        auto res = std::from_chars(begin, s.data() + s.size(), v);
        if (res.ec != std::errc() || res.ptr != s.data() + s.size()) {
            error(tok.offset, "integer literal '" + s + "' is out of range");
        }
        return std::make_unique<IntLiteral>(tok.offset, v);
    }

    const std::vector<Token>& t_;
    size_t cur_ = 0;
    int depth_ = 0;
    int max_nesting_;
};

}  // namespace

Program parse_tokens(const std::vector<Token>& tokens, int max_nesting) { return Parser(tokens, max_nesting).run(); }

}  // namespace pagoda::jinja
