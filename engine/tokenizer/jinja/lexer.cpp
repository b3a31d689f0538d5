#include "tokenizer/jinja/lexer.h"

#include <algorithm>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/preprocess.h"
#include "tokenizer/jinja/text.h"

namespace pagoda::jinja {

const char* token_kind_name(TokenKind kind) {
    switch (kind) {
        case TokenKind::text: return "text";
        case TokenKind::number: return "number";
        case TokenKind::string: return "string";
        case TokenKind::identifier: return "identifier";
        case TokenKind::equals: return "'='";
        case TokenKind::open_paren: return "'('";
        case TokenKind::close_paren: return "')'";
        case TokenKind::open_statement: return "'{%'";
        case TokenKind::close_statement: return "'%}'";
        case TokenKind::open_expression: return "'{{'";
        case TokenKind::close_expression: return "'}}'";
        case TokenKind::open_bracket: return "'['";
        case TokenKind::close_bracket: return "']'";
        case TokenKind::open_brace: return "'{'";
        case TokenKind::close_brace: return "'}'";
        case TokenKind::comma: return "','";
        case TokenKind::dot: return "'.'";
        case TokenKind::colon: return "':'";
        case TokenKind::pipe: return "'|'";
        case TokenKind::additive: return "additive operator";
        case TokenKind::multiplicative: return "multiplicative operator";
        case TokenKind::power: return "'**'";
        case TokenKind::comparison: return "comparison operator";
        case TokenKind::unary: return "unary operator";
        case TokenKind::comment: return "comment";
    }
    return "?";
}

namespace {

struct Fixed {
    std::string_view spelling;
    TokenKind kind;
};
// Longest spellings first where one is a prefix of another.
constexpr Fixed kFixedTokens[] = {
    {"{%", TokenKind::open_statement},
    {"%}", TokenKind::close_statement},
    {"{{", TokenKind::open_expression},
    {"}}", TokenKind::close_expression},
    {"(", TokenKind::open_paren},
    {")", TokenKind::close_paren},
    {"{", TokenKind::open_brace},
    {"}", TokenKind::close_brace},
    {"[", TokenKind::open_bracket},
    {"]", TokenKind::close_bracket},
    {",", TokenKind::comma},
    {".", TokenKind::dot},
    {":", TokenKind::colon},
    {"|", TokenKind::pipe},
    {"<=", TokenKind::comparison},
    {">=", TokenKind::comparison},
    {"==", TokenKind::comparison},
    {"!=", TokenKind::comparison},
    {"<", TokenKind::comparison},
    {">", TokenKind::comparison},
    {"+", TokenKind::additive},
    {"-", TokenKind::additive},
    {"~", TokenKind::additive},
    {"**", TokenKind::power},
    {"*", TokenKind::multiplicative},
    {"//", TokenKind::multiplicative},
    {"/", TokenKind::multiplicative},
    {"%", TokenKind::multiplicative},
    {"=", TokenKind::equals},
};

bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_word(int c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class Lexer {
public:
    explicit Lexer(const MappedText& m) : s_(m.text), offsets_(m.offsets) {}

    std::vector<Token> run() {
        while (pos_ < s_.size()) step();
        return std::move(tokens_);
    }

private:
    int at(size_t i) const { return i < s_.size() ? static_cast<unsigned char>(s_[i]) : -1; }
    bool starts_with(std::string_view lit) const { return s_.compare(pos_, lit.size(), lit) == 0; }
    bool last_is(TokenKind k) const { return !tokens_.empty() && tokens_.back().kind == k; }

    [[noreturn]] void error(size_t at_pos, std::string message) const {
        throw TemplateError(TemplateErrorKind::syntax, offsets_[std::min(at_pos, s_.size())], std::move(message));
    }
    void push(TokenKind kind, std::string value, size_t start) {
        tokens_.push_back(Token{kind, std::move(value), offsets_[std::min(start, s_.size())]});
    }
    // The reference fails when a token inside a tag runs into the end of the input.
    void advance_inside_tag(size_t n) {
        pos_ += n;
        if (pos_ >= s_.size()) error(pos_, "unexpected end of template inside a tag");
    }
    std::string consume_digits() {
        const size_t start = pos_;
        while (is_digit(at(pos_))) advance_inside_tag(1);
        return s_.substr(start, pos_ - start);
    }
    // {%- and {{- remove the blanks that end the text before them.
    void strip_trailing_whitespace() {
        if (!last_is(TokenKind::text)) return;
        std::string& t = tokens_.back().value;
        t.resize(text::trim_end(t).size());
        if (t.empty()) tokens_.pop_back();
    }
    void skip_leading_whitespace() {
        while (size_t n = text::space_at(s_, pos_)) pos_ += n;
    }

    void step() {
        const bool outside = tokens_.empty() || last_is(TokenKind::close_statement) ||
                             last_is(TokenKind::close_expression) || last_is(TokenKind::comment);
        if (outside) {
            const size_t start = pos_;
            while (pos_ < s_.size() &&
                   !(s_[pos_] == '{' && (at(pos_ + 1) == '%' || at(pos_ + 1) == '{' || at(pos_ + 1) == '#'))) {
                ++pos_;
            }
            if (pos_ > start) {
                push(TokenKind::text, s_.substr(start, pos_ - start), start);
                return;
            }
        }
        if (starts_with("{#")) return lex_comment();
        if (starts_with("{%-")) {
            strip_trailing_whitespace();
            push(TokenKind::open_statement, "{%", pos_);
            pos_ += 3;
            return;
        }
        if (starts_with("{{-")) {
            strip_trailing_whitespace();
            push(TokenKind::open_expression, "{{", pos_);
            curly_depth_ = 0;
            pos_ += 3;
            return;
        }
        while (size_t n = text::space_at(s_, pos_)) advance_inside_tag(n);
        if (starts_with("-%}")) {
            push(TokenKind::close_statement, "%}", pos_);
            pos_ += 3;
            skip_leading_whitespace();
            return;
        }
        if (starts_with("-}}")) {
            push(TokenKind::close_expression, "}}", pos_);
            pos_ += 3;
            skip_leading_whitespace();
            return;
        }
        const int c = at(pos_);
        if (c == '-' || c == '+') {
            if (tokens_.empty() || last_is(TokenKind::text))
                error(pos_, std::string("unexpected character '") + char(c) + "'");
            const TokenKind last = tokens_.back().kind;
            const bool binary = last == TokenKind::identifier || last == TokenKind::number ||
                                last == TokenKind::string || last == TokenKind::close_paren ||
                                last == TokenKind::close_bracket;
            if (!binary) {
                // A sign in prefix position: glued to a following number, else a unary operator.
                const size_t start = pos_;
                ++pos_;
                std::string num = consume_digits();
                if (!num.empty() && at(pos_) == '.' && is_digit(at(pos_ + 1))) {
                    ++pos_;
                    num += '.' + consume_digits();
                }
                const bool is_number = !num.empty();
                push(is_number ? TokenKind::number : TokenKind::unary, std::string(1, char(c)) + num, start);
                return;
            }
        }
        for (const auto& f : kFixedTokens) {
            if (f.kind == TokenKind::close_expression && curly_depth_ > 0) continue;  // "}}" closing a dict
            if (!starts_with(f.spelling)) continue;
            push(f.kind, std::string(f.spelling), pos_);
            if (f.kind == TokenKind::open_expression) curly_depth_ = 0;
            if (f.kind == TokenKind::open_brace) ++curly_depth_;
            if (f.kind == TokenKind::close_brace) --curly_depth_;
            pos_ += f.spelling.size();
            return;
        }
        if (c == '\'' || c == '"') return lex_string(static_cast<char>(c));
        if (is_digit(c)) {
            const size_t start = pos_;
            std::string num = consume_digits();
            if (!last_is(TokenKind::dot) && at(pos_) == '.' && is_digit(at(pos_ + 1))) {
                ++pos_;
                num += '.' + consume_digits();
            }
            push(TokenKind::number, std::move(num), start);
            return;
        }
        if (is_word(c)) {
            const size_t start = pos_;
            while (is_word(at(pos_))) advance_inside_tag(1);
            push(TokenKind::identifier, s_.substr(start, pos_ - start), start);
            return;
        }
        size_t end = pos_;
        text::decode(s_, end);
        error(pos_, "unexpected character '" + s_.substr(pos_, end - pos_) + "'");
    }

    void lex_comment() {
        const size_t start = pos_;
        pos_ += 2;
        const bool strip_before = at(pos_) == '-';
        if (strip_before) ++pos_;
        const size_t body = pos_;
        while (at(pos_) != '#' || at(pos_ + 1) != '}') {
            if (pos_ + 2 >= s_.size()) error(start, "comment is not closed with '#}'");
            ++pos_;
        }
        std::string comment = s_.substr(body, pos_ - body);
        const bool strip_after = !comment.empty() && comment.back() == '-';
        if (strip_after) comment.pop_back();
        if (strip_before) strip_trailing_whitespace();
        push(TokenKind::comment, std::move(comment), start);
        pos_ += 2;
        if (strip_after) skip_leading_whitespace();
    }

    void lex_string(char quote) {
        const size_t start = pos_;
        ++pos_;
        std::string value;
        while (at(pos_) != quote) {
            if (at(pos_) == -1) error(start, "string literal is not closed");
            if (at(pos_) == '\\') {
                ++pos_;
                if (pos_ >= s_.size()) error(start, "string literal is not closed");
                lex_escape(value);
                continue;
            }
            size_t next = pos_;
            text::decode(s_, next);
            value.append(s_, pos_, next - pos_);
            pos_ = next;
            if (pos_ >= s_.size()) error(start, "string literal is not closed");
        }
        ++pos_;
        push(TokenKind::string, std::move(value), start);
    }

    // pos_ is just past the backslash.
    void lex_escape(std::string& out) {
        const size_t esc = pos_ - 1;
        const char e = s_[pos_++];
        switch (e) {
            case 'n': out += '\n'; return;
            case 't': out += '\t'; return;
            case 'r': out += '\r'; return;
            case 'b': out += '\b'; return;
            case 'f': out += '\f'; return;
            case 'v': out += '\v'; return;
            case '\'': out += '\''; return;
            case '"': out += '"'; return;
            case '\\': out += '\\'; return;
            case 'x':
            case 'u': break;
            default: error(esc, std::string("unknown escape '\\") + e + "' in string literal");
        }
        char32_t unit = read_hex(esc, e == 'x' ? 2 : 4);
        if (unit >= 0xD800 && unit <= 0xDBFF && s_.compare(pos_, 2, "\\u") == 0) {
            // A surrogate pair spelled as two escapes is one character.
            const size_t save = pos_;
            pos_ += 2;
            const char32_t low = read_hex(save, 4);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                text::append_utf8(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
                return;
            }
            pos_ = save;
        }
        text::append_utf8(out, unit);  // a lone surrogate becomes U+FFFD
    }

    char32_t read_hex(size_t esc, int digits) {
        char32_t v = 0;
        for (int k = 0; k < digits; ++k) {
            const int d = pos_ < s_.size() ? hex_value(s_[pos_]) : -1;
            if (d < 0) error(esc, "invalid hexadecimal escape in string literal");
            v = v * 16 + static_cast<char32_t>(d);
            ++pos_;
        }
        return v;
    }

    const std::string& s_;
    const std::vector<uint32_t>& offsets_;
    size_t pos_ = 0;
    int curly_depth_ = 0;
    std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexOptions& options) {
    const MappedText m = preprocess_template(source, options.trim_blocks, options.lstrip_blocks);
    return Lexer(m).run();
}

}  // namespace pagoda::jinja
