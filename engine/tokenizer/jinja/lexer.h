// Template text -> tokens. Whitespace handling follows Hugging Face's chat-template
// environment (trim_blocks and lstrip_blocks on, one trailing newline dropped, the
// transformers-only {% generation %} tags removed) exactly as @huggingface/jinja applies
// it, so that prompts render byte-identically. Every token remembers its offset in the
// original source for error messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::jinja {

enum class TokenKind : uint8_t {
    text,
    number,
    string,
    identifier,
    equals,            // =
    open_paren,        // (
    close_paren,       // )
    open_statement,    // {%
    close_statement,   // %}
    open_expression,   // {{
    close_expression,  // }}
    open_bracket,      // [
    close_bracket,     // ]
    open_brace,        // {
    close_brace,       // }
    comma,
    dot,
    colon,
    pipe,
    additive,        // + - ~
    multiplicative,  // * / // %
    power,           // **
    comparison,      // < > <= >= == !=
    unary,           // a lone + or - in prefix position
    comment,         // {# ... #}
};
const char* token_kind_name(TokenKind kind);

struct Token {
    TokenKind kind;
    std::string value;  // decoded text for strings, spelling otherwise
    uint32_t offset;    // in the original template source
};

struct LexOptions {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
};

// Throws TemplateError (syntax) on malformed input.
std::vector<Token> tokenize(std::string_view source, const LexOptions& options = {});

}  // namespace pagoda::jinja
