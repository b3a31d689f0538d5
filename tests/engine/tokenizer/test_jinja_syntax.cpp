// Jinja lexing and parsing: whitespace control as Hugging Face configures it
// (trim_blocks + lstrip_blocks), comments, literals, and syntax errors that name the
// line and column.
#include <gtest/gtest.h>

#include "jinja_test_util.h"
#include "tokenizer/jinja/lexer.h"

namespace pagoda::jinja {
namespace {

using testing::r;
using testing::render;

TEST(JinjaSyntax, PlainTextPassesThroughAndOneTrailingNewlineIsDropped) {
    EXPECT_EQ(r("hello"), "hello");
    EXPECT_EQ(r("hello\n"), "hello");
    EXPECT_EQ(r("hello\n\n"), "hello\n");
    EXPECT_EQ(r(""), "");
    EXPECT_EQ(r("a { b } c"), "a { b } c");
}

TEST(JinjaSyntax, TrimBlocksRemovesTheNewlineAfterATag) {
    EXPECT_EQ(r("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");
    EXPECT_EQ(r("{# note #}\ntext"), "text");
    // Not after an expression.
    EXPECT_EQ(r("{{ 'x' }}\ny"), "x\ny");
}

TEST(JinjaSyntax, LstripBlocksRemovesIndentBeforeBlockTagsOnly) {
    EXPECT_EQ(r("  {% if true %}\n    body\n  {% endif %}\n"), "    body\n");
    EXPECT_EQ(r("\t {# c #}\nx"), "x");
    // Expression tags keep their indentation, and text before a tag on the same line stays.
    EXPECT_EQ(r("  {{ 'e' }}"), "  e");
    EXPECT_EQ(r("a  {% if true %}b{% endif %}"), "a  b");
}

TEST(JinjaSyntax, DashesStripWhitespaceOnTheirSide) {
    EXPECT_EQ(r("a   {{- 'b' -}}   c"), "abc");
    EXPECT_EQ(r("a \n {%- if true -%} \n b {%- endif %}"), "ab");
    EXPECT_EQ(r("x  {#- comment -#}  y"), "xy");
    EXPECT_EQ(r("x\u3000{{- 'y' }}"), "xy");  // Unicode blanks count, as in JavaScript
}

TEST(JinjaSyntax, GenerationTagsAreRemoved) {
    EXPECT_EQ(r("a {% generation %}b{% endgeneration %} c"), "a b c");
    EXPECT_EQ(r("a {%- generation -%} b"), "ab");
}

TEST(JinjaSyntax, CommentsRenderNothing) {
    EXPECT_EQ(r("a{# {{ not evaluated }} {% if %} #}b"), "ab");
    EXPECT_EQ(r("{# unclosed"), "ERROR: line 1, column 1: comment is not closed with '#}'");
}

TEST(JinjaSyntax, StringLiteralsAndEscapes) {
    EXPECT_EQ(r(R"({{ 'single' ~ "double" }})"), "singledouble");
    EXPECT_EQ(r(R"({{ 'tab\there\nnew' }})"), "tab\there\nnew");
    EXPECT_EQ(r(R"({{ '\x41\u00e9\u4e2d' }})"), "A\xC3\xA9\xE4\xB8\xAD");
    EXPECT_EQ(r(R"({{ '\ud83d\ude00' }})"), "\xF0\x9F\x98\x80");  // a surrogate pair is one character
    EXPECT_EQ(r(R"({{ "it's" ~ 'say \"hi\"' }})"), "it'ssay \"hi\"");
    EXPECT_EQ(r(R"({{ 'adjacent' ' literals' }})"), "adjacent literals");
    EXPECT_EQ(r(R"({{ '\q' }})"), "ERROR: line 1, column 5: unknown escape '\\q' in string literal");
    EXPECT_EQ(r("{{ 'open }}"), "ERROR: line 1, column 4: string literal is not closed");
}

TEST(JinjaSyntax, NumbersAndSigns) {
    EXPECT_EQ(r("{{ 42 }} {{ -7 }} {{ +3 }} {{ 1.5 }} {{ -2.25 }} {{ 10 - -1 }} {{ (1) - 1 }}"),
              "42 -7 3 1.5 -2.25 11 0");
    EXPECT_EQ(r("{{ 99999999999999999999 }}"),
              "ERROR: line 1, column 4: integer literal '99999999999999999999' is out of range");
}

TEST(JinjaSyntax, ListsDictsAndTuples) {
    EXPECT_EQ(r("{{ [1, 'a', [true, none]] }}"), "[1, \"a\", [true, null]]");
    EXPECT_EQ(r("{{ {'a': 1, 'b': {'c': []}} }}"), "{\"a\": 1, \"b\": {\"c\": []}}");
    EXPECT_EQ(r("{{ (1, 2)|length }} {{ [] }} {{ {} }}"), "2 [] {}");
}

TEST(JinjaSyntax, ErrorsNameLineAndColumn) {
    EXPECT_EQ(r("line one\n{% if x %}\nno end"),
              "ERROR: line 2, column 1: 'if' block is never closed (no {% endif %})");
    EXPECT_EQ(r("ok\n  {{ 1 + }}"), "ERROR: line 2, column 10: unexpected '}}' in an expression");
    EXPECT_EQ(r("{% frobnicate %}"), "ERROR: line 1, column 1: unknown statement 'frobnicate'");
    EXPECT_EQ(r("{{ a b }}"), "ERROR: line 1, column 6: expected '}}', found 'b'");
    EXPECT_EQ(r("{{ x | }}"), "ERROR: line 1, column 8: expected a filter name, found '}}'");
    EXPECT_EQ(r("{% for 1 in x %}{% endfor %}"), "ERROR: line 1, column 8: loop variables must be names");
    EXPECT_EQ(r("{% macro m(a=1, b) %}{% endmacro %}"),
              "ERROR: line 1, column 17: parameter without a default follows one with a default");
    EXPECT_EQ(r("{{ x[] }}"), "ERROR: line 1, column 6: empty subscript '[]'");
    EXPECT_EQ(r("{{ f(a=1, 2) }}"), "ERROR: line 1, column 11: positional argument follows keyword argument");
    EXPECT_EQ(r("{{ @ }}"), "ERROR: line 1, column 4: unexpected character '@'");
    EXPECT_EQ(r("{{ 'x' "), "ERROR: line 1, column 8: unexpected end of template inside a tag");
}

TEST(JinjaSyntax, ErrorColumnsCountFromTheOriginalSource) {
    // Whitespace control removes text before the tokenizer runs; positions still refer
    // to the template as written.
    EXPECT_EQ(r("    {%- if true %}\n  {%- endif %}\n{{ 1 +* 2 }}"),
              "ERROR: line 3, column 7: unexpected multiplicative operator in an expression");
}

TEST(JinjaSyntax, InvalidUtf8IsRejected) {
    auto out = render("ok\n{{ 'a' }}\xff");
    ASSERT_FALSE(out.is_ok());
    EXPECT_EQ(out.status().message(), "line 2, column 10: template is not valid UTF-8");
}

TEST(JinjaSyntax, TokensCarrySourceOffsets) {
    const auto tokens = tokenize("ab{{ x }}");
    ASSERT_EQ(tokens.size(), 4u);
    EXPECT_EQ(tokens[0].kind, TokenKind::text);
    EXPECT_EQ(tokens[1].kind, TokenKind::open_expression);
    EXPECT_EQ(tokens[2].kind, TokenKind::identifier);
    EXPECT_EQ(tokens[2].offset, 5u);
    EXPECT_EQ(tokens[3].kind, TokenKind::close_expression);
}

}  // namespace
}  // namespace pagoda::jinja
