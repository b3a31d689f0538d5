// compile_gbnf: llama.cpp-style example grammars compile (and mean what they say); every
// class of error is refused with a message that names the problem; limits are enforced
// before anything large is built.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "grammar/grammar.h"
#include "grammar/grammar_rules.h"
#include "grammar_test_grammars.h"

namespace pagoda::grammar {
namespace {

bool sentence(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    GrammarMatcher m(g);
    return m.accept(text) && m.is_complete();
}

std::shared_ptr<const Grammar> compile_ok(std::string_view text, std::string_view root = "root") {
    auto g = compile_gbnf(text, root);
    EXPECT_TRUE(g.is_ok()) << g.status().message();
    return g.is_ok() ? g.value() : nullptr;
}

// The error message of a grammar that must not compile.
std::string compile_error(std::string_view text, const GrammarLimits& limits = {}, std::string_view root = "root") {
    auto g = compile_gbnf(text, root, limits);
    EXPECT_FALSE(g.is_ok()) << "compiled: " << text;
    if (g.is_ok()) return "";
    EXPECT_EQ(g.status().code(), ErrorCode::invalid_argument);
    return g.status().message();
}

#define EXPECT_MESSAGE(message, fragment) \
    EXPECT_NE((message).find(fragment), std::string::npos) << "message: " << (message) << "\nexpected: " << (fragment)

TEST(GbnfParser, JsonGrammar) {
    auto g = compile_ok(testing::kJsonGbnf);
    ASSERT_TRUE(g);
    EXPECT_TRUE(sentence(g, R"({"a": [1, -2.5e+3, true, null, {"b": "x\"y\u00e9"}], "c": {}})"));
    EXPECT_TRUE(sentence(g, "{\n  \"k\": \"caf\xC3\xA9 \xF0\x9F\x98\x80\"\n}"));
    EXPECT_FALSE(sentence(g, R"({"a": 01})"));
    EXPECT_FALSE(sentence(g, R"({"a" 1})"));
    EXPECT_FALSE(sentence(g, R"({"a": "\x"})"));
    EXPECT_FALSE(sentence(g, "{\"a\": \"line\nbreak\"}"));  // raw control character in a string
    EXPECT_FALSE(sentence(g, R"([1])"));                    // the root is an object
    EXPECT_EQ(grammar_source(*g), std::string("root=root\n") + testing::kJsonGbnf);
}

TEST(GbnfParser, ArithmeticListChessAndUnicode) {
    auto arith = compile_ok(testing::kArithmeticGbnf);
    ASSERT_TRUE(arith);
    EXPECT_TRUE(sentence(arith, "x1 +2*( y-3)= 7\n"));
    EXPECT_FALSE(sentence(arith, "x1 + = 7\n"));

    auto list = compile_ok(testing::kListGbnf);
    ASSERT_TRUE(list);
    EXPECT_TRUE(sentence(list, "- milk\n- eggs \xC3\xA9\n"));
    EXPECT_FALSE(sentence(list, "- \n"));
    EXPECT_FALSE(sentence(list,
                          "- a\xE2\x80\xA8"
                          "b\n"));  // U+2028 excluded

    auto chess = compile_ok(testing::kChessGbnf);
    ASSERT_TRUE(chess);
    EXPECT_TRUE(sentence(chess, "1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n"));
    EXPECT_TRUE(sentence(chess, "1. d4 d5\n2. c4 dxc4\n3. O-O-O Qxd1#\n"));
    EXPECT_FALSE(sentence(chess, "1. e4 e5\n"));  // needs a numbered move after the first
    EXPECT_FALSE(sentence(chess, "1. e9 e5\n2. a3 a6\n"));

    auto emoji = compile_ok(testing::kEmojiGbnf);
    ASSERT_TRUE(emoji);
    EXPECT_TRUE(sentence(emoji, "h\xC3\xA9llo \xF0\x9F\x98\x80!"));
    EXPECT_TRUE(sentence(emoji, "hi \xE2\x98\x80\xF0\x9F\x99\x8F"));
    EXPECT_TRUE(sentence(emoji, "\xF0\x9F\x91\x8B \xF0\x9F\x98\x8F"));
    EXPECT_FALSE(sentence(emoji, "hi \xF0\x9F\x9A\x80"));  // U+1F680 is in neither class
    EXPECT_FALSE(sentence(emoji, "hi "));
}

TEST(GbnfParser, EscapesCommentsAndLayout) {
    auto g = compile_ok(R"gbnf(
# comment before
root ::= "\x41\u00e9\U0001F600\t\n\r\\\"\[\]" [\x30-\x39\-\]] tail # trailing comment
  | my-rule_2   # an alternative on the next line
my-rule_2 ::= "z" # rule on one line
tail
  ::=
  "!"
  "?"
)gbnf");
    ASSERT_TRUE(g);
    EXPECT_TRUE(sentence(g, "A\xC3\xA9\xF0\x9F\x98\x80\t\n\r\\\"[]5!?"));
    EXPECT_TRUE(sentence(g, "A\xC3\xA9\xF0\x9F\x98\x80\t\n\r\\\"[]-!?"));
    EXPECT_TRUE(sentence(g, "A\xC3\xA9\xF0\x9F\x98\x80\t\n\r\\\"[]]!?"));
    EXPECT_FALSE(sentence(g, "A\xC3\xA9\xF0\x9F\x98\x80\t\n\r\\\"[]a!?"));
    EXPECT_TRUE(sentence(g, "z"));

    auto classes = compile_ok(R"(root ::= [^a-y] [a-] . [])");
    ASSERT_TRUE(classes);
    GrammarMatcher m(classes);
    EXPECT_FALSE(m.can_accept("b"));
    EXPECT_TRUE(m.can_accept("z-\xF0\x9F\x98\x80"));
    EXPECT_FALSE(m.can_accept("zb"));
    EXPECT_TRUE(m.can_accept("za\n"));
    EXPECT_FALSE(m.can_accept("za\nx"));  // [] matches nothing

    auto empty = compile_ok(R"(root ::= "" | () | "a")");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(sentence(empty, ""));
    EXPECT_TRUE(sentence(empty, "a"));

    auto start = compile_ok(R"(start ::= "s")", "start");
    EXPECT_TRUE(sentence(start, "s"));
    EXPECT_EQ(grammar_source(*start), "root=start\nstart ::= \"s\"");
}

TEST(GbnfParser, HelperRulesArePrinted) {
    auto g = compile_ok(R"(root ::= ("a" | "b")* [x-z]{1,2})");
    ASSERT_TRUE(g);
    std::string text = g->to_string();
    EXPECT_MESSAGE(text, "root ::=");
    EXPECT_MESSAGE(text, "root_1 ::=");
    EXPECT_MESSAGE(text, "[x-z]");
}

TEST(GbnfParser, SyntaxErrors) {
    EXPECT_MESSAGE(compile_error(R"(root ::= "abc)"), "unterminated string literal");
    EXPECT_MESSAGE(compile_error(R"(root ::= [a-z)"), "unterminated character class");
    EXPECT_MESSAGE(compile_error(R"(root ::= ("a" "b")"), "expected ')'");
    EXPECT_MESSAGE(compile_error("root ::= (\"a\"\nother ::= \"b\")"), "expected ')'");
    EXPECT_MESSAGE(compile_error(R"(root ::= "a" ) "b")"), "unmatched ')'");
    EXPECT_MESSAGE(compile_error(R"(root = "a")"), "expected '::='");
    EXPECT_MESSAGE(compile_error(R"(::= "a")"), "expected a rule name");
    EXPECT_MESSAGE(compile_error(R"(root ::= "a" @)"), "unexpected character '@'");
    EXPECT_MESSAGE(compile_error(R"(root ::= * "a")"), "does not follow an element");
    EXPECT_MESSAGE(compile_error(R"(root ::= "\q")"), "unknown escape '\\q'");
    EXPECT_MESSAGE(compile_error(R"(root ::= "\x4")"), "hex digit");
    EXPECT_MESSAGE(compile_error(R"(root ::= "\U00110000")"), "beyond U+10FFFF");
    EXPECT_MESSAGE(compile_error(R"(root ::= "a"{3,2})"), "m < n");
    EXPECT_MESSAGE(compile_error(R"(root ::= "a"{x})"), "expected a number");
    EXPECT_MESSAGE(compile_error(R"(root ::= "a"{2)"), "expected '}'");
    EXPECT_MESSAGE(compile_error(R"(root ::= [z-a])"), "range ends before it starts");
    EXPECT_MESSAGE(compile_error("root ::= \"\xC3(\""), "invalid UTF-8");
    EXPECT_MESSAGE(compile_error("root ::= \"\xED\xA0\x80\""), "invalid UTF-8");  // surrogate
    EXPECT_MESSAGE(compile_error(R"(root ::= "\uD800")"), "surrogate");  // could never be written as UTF-8
    EXPECT_MESSAGE(compile_error(R"(root ::= [\uDC00-\uDFFF])"), "surrogate");
    // Where: offset, line and rule.
    std::string where = compile_error("root ::= \"a\"\nfoo ::= \"b\" @");
    EXPECT_MESSAGE(where, "line 2");
    EXPECT_MESSAGE(where, "rule 'foo'");
    EXPECT_MESSAGE(where, "offset 25");
}

TEST(GbnfParser, RuleErrors) {
    EXPECT_MESSAGE(compile_error("root ::= foo \"a\""), "undefined rule 'foo'");
    EXPECT_MESSAGE(compile_error("start ::= \"a\""), "missing root rule 'root'");
    EXPECT_MESSAGE(compile_error("root ::= \"a\"", {}, "main"), "missing root rule 'main'");
    EXPECT_MESSAGE(compile_error("root ::= \"a\"\nroot ::= \"b\""), "rule 'root' is defined twice");
    EXPECT_MESSAGE(compile_error(""), "missing root rule");
}

TEST(GbnfParser, LeftRecursion) {
    std::string direct = compile_error(R"(root ::= root "a" | "a")");
    EXPECT_MESSAGE(direct, "left recursion");
    EXPECT_MESSAGE(direct, "'root' -> 'root'");
    std::string indirect = compile_error("root ::= a\na ::= b \"x\"\nb ::= \"y\" | a \"z\"");
    EXPECT_MESSAGE(indirect, "left recursion");
    EXPECT_MESSAGE(indirect, "'a' -> 'b' -> 'a'");
    // Through a prefix that can match nothing.
    std::string nullable = compile_error("root ::= e root \"x\" | \"y\"\ne ::= \"\" | \"z\"");
    EXPECT_MESSAGE(nullable, "left recursion");
    EXPECT_MESSAGE(nullable, "'root'");
    std::string nullable_group = compile_error("root ::= (\"a\"? e*)? root | \"y\"\ne ::= \"q\"");
    EXPECT_MESSAGE(nullable_group, "left recursion");
    // A repetition of something empty would loop forever too.
    EXPECT_MESSAGE(compile_error(R"(root ::= ("a"?)*)"), "left recursion");
    EXPECT_MESSAGE(compile_error(R"(root ::= ("")+ "b")"), "left recursion");
    // Right and middle recursion are fine.
    EXPECT_TRUE(compile_gbnf(R"gbnf(root ::= "a" root | "(" root ")" root | "")gbnf").is_ok());
}

TEST(GbnfParser, LimitsRefusedCheaply) {
    GrammarLimits tiny;
    tiny.max_text_bytes = 10;
    EXPECT_MESSAGE(compile_error("root ::= \"abcdef\"", tiny), "exceeds the limit of 10");

    auto t0 = std::chrono::steady_clock::now();
    EXPECT_MESSAGE(compile_error(R"(root ::= "x"{1,100000})"), "grammar too large");
    EXPECT_MESSAGE(compile_error(R"(root ::= "xy"{150000})"), "grammar too large");
    EXPECT_MESSAGE(compile_error(R"(root ::= "x"{99999999999999999999999})"), "repetition count too large");
    EXPECT_MESSAGE(compile_error(R"(root ::= "xy"{1000}{1000})"), "grammar too large");
    // Repeating a group repeats one reference: nested counts stay small.
    EXPECT_TRUE(compile_gbnf(R"(root ::= (("xy"{1000}){1000}){1000})").is_ok());
    EXPECT_MESSAGE(compile_error(R"(root ::= "x"{0,4294967296})"), "repetition count too large");
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 5000.0);  // a hang guard, not a speed test

    GrammarLimits small;
    small.max_elements = 50;
    EXPECT_MESSAGE(compile_error(R"(root ::= "abcdefghij"{5,6})", small), "more than 50 elements");
    EXPECT_TRUE(compile_gbnf(R"(root ::= "abcdefghij"{2,3})", "root", small).is_ok());
    auto big = compile_gbnf(R"(root ::= "x"{1,1000})");
    ASSERT_TRUE(big.is_ok());
    GrammarMatcher m(big.value());
    EXPECT_TRUE(m.accept(std::string(1000, 'x')));
    EXPECT_FALSE(m.can_accept("x"));

    std::string deep = "root ::= " + std::string(100'000, '(') + "\"a\"" + std::string(100'000, ')');
    EXPECT_MESSAGE(compile_error(deep), "nested deeper");
}

}  // namespace
}  // namespace pagoda::grammar
