// GrammarMatcher: sentences accepted/rejected, bytes split anywhere in UTF-8, completion
// flags, canonical state keys, and the stack limit on ambiguous grammars.
#include <gtest/gtest.h>

#include <string>

#include "grammar/grammar.h"
#include "grammar/grammar_rules.h"

namespace pagoda::grammar {
namespace {

std::shared_ptr<const Grammar> compile(std::string_view text, const GrammarLimits& limits = {}) {
    auto g = compile_gbnf(text, "root", limits);
    EXPECT_TRUE(g.is_ok()) << g.status().message();
    return g.is_ok() ? g.value() : nullptr;
}

// Whole sentence: every byte accepted and the root finished.
bool matches(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    GrammarMatcher m(g);
    return m.accept(text) && m.is_complete();
}

const char* kArithmetic = R"gbnf(
root  ::= expr
expr  ::= term ([-+*/] term)*
term  ::= num | "(" space expr ")" space
num   ::= [0-9]+ space
space ::= [ \t\n]*
)gbnf";

TEST(GrammarMatcher, ArithmeticSentences) {
    auto g = compile(kArithmetic);
    ASSERT_TRUE(g);
    EXPECT_TRUE(matches(g, "1+2"));
    EXPECT_TRUE(matches(g, "(1 +23)*4 "));
    EXPECT_TRUE(matches(g, "((7))"));
    EXPECT_FALSE(matches(g, "1+ 2"));  // no space after an operator in this grammar
    EXPECT_FALSE(matches(g, "1+"));
    EXPECT_FALSE(matches(g, "(1"));
    EXPECT_FALSE(matches(g, "a"));
    GrammarMatcher m(g);
    EXPECT_FALSE(m.accept("1+a"));
    EXPECT_TRUE(m.accept("1+"));  // the failed accept left the state unchanged
    EXPECT_FALSE(m.is_complete());
    EXPECT_TRUE(m.accept("2"));
    EXPECT_TRUE(m.is_complete());
    EXPECT_TRUE(m.can_continue());
}

TEST(GrammarMatcher, ByteSplitUtf8) {
    auto g = compile(R"(root ::= "a" [😀-😂] "b")");
    ASSERT_TRUE(g);
    const std::string emoji = "\xF0\x9F\x98\x81";  // U+1F601
    GrammarMatcher m(g);
    ASSERT_TRUE(m.accept("a"));
    for (char c : emoji) {
        EXPECT_FALSE(m.is_complete());
        ASSERT_TRUE(m.accept(std::string(1, c)));
        if (c != emoji.back()) {
            EXPECT_TRUE(m.can_continue());
            EXPECT_FALSE(m.is_complete());
        }
    }
    EXPECT_TRUE(m.accept("b"));
    EXPECT_TRUE(m.is_complete());

    // A prefix no completion can match is refused at the first impossible byte.
    GrammarMatcher n(g);
    ASSERT_TRUE(n.accept("a\xF0\x9F"));
    EXPECT_FALSE(n.can_accept("\x99"));  // U+1F640.. : beyond the class
    EXPECT_TRUE(n.can_accept("\x98"));
    EXPECT_FALSE(n.can_accept("\x98\x83"));  // U+1F603: just past the range
    GrammarMatcher o(g);
    EXPECT_FALSE(o.can_accept("a\xC3"));  // 2-byte characters are all below U+1F600
}

TEST(GrammarMatcher, InvalidUtf8Rejected) {
    auto g = compile(R"(root ::= .*)");
    ASSERT_TRUE(g);
    GrammarMatcher m(g);
    EXPECT_TRUE(m.can_accept("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
    EXPECT_FALSE(m.can_accept("\x80"));              // lone continuation byte
    EXPECT_FALSE(m.can_accept("\xC0\x80"));          // overlong
    EXPECT_FALSE(m.can_accept("\xE0\x80"));          // overlong 3-byte prefix
    EXPECT_FALSE(m.can_accept("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(m.can_accept("\xF4\x90\x80\x80"));  // beyond U+10FFFF
    EXPECT_FALSE(m.can_accept("\xF8"));
    EXPECT_FALSE(
        m.can_accept("\xC3"
                     "a"));  // truncated character
    GrammarMatcher p(g);
    ASSERT_TRUE(p.accept("\xE2\x82"));
    EXPECT_FALSE(p.is_complete());  // inside a character
    EXPECT_TRUE(p.accept("\xAC"));
    EXPECT_TRUE(p.is_complete());
}

TEST(GrammarMatcher, NegatedClasses) {
    auto g = compile(R"(root ::= "\"" [^"\\\n]* "\"")");
    ASSERT_TRUE(g);
    EXPECT_TRUE(matches(g, "\"hello é 😀\""));
    EXPECT_TRUE(matches(g, "\"\""));
    EXPECT_FALSE(matches(g, "\"a\\b\""));
    EXPECT_FALSE(matches(g, "\"a\nb\""));
    EXPECT_FALSE(matches(g, "\"a\"b\""));
}

TEST(GrammarMatcher, RepetitionBounds) {
    auto g = compile(R"(root ::= "x"{2,3} "!")");
    ASSERT_TRUE(g);
    EXPECT_FALSE(matches(g, "x!"));
    EXPECT_TRUE(matches(g, "xx!"));
    EXPECT_TRUE(matches(g, "xxx!"));
    EXPECT_FALSE(matches(g, "xxxx!"));

    auto exact = compile(R"(root ::= [ab]{3})");
    EXPECT_TRUE(matches(exact, "aba"));
    EXPECT_FALSE(matches(exact, "ab"));
    EXPECT_FALSE(matches(exact, "abab"));

    auto open = compile(R"(root ::= ("ab"){2,})");
    EXPECT_FALSE(matches(open, "ab"));
    EXPECT_TRUE(matches(open, "abab"));
    EXPECT_TRUE(matches(open, "abababab"));
    EXPECT_FALSE(matches(open, "ababa"));

    auto opt = compile(R"(root ::= "a"? "b"+ "c"*)");
    EXPECT_TRUE(matches(opt, "b"));
    EXPECT_TRUE(matches(opt, "abbccc"));
    EXPECT_FALSE(matches(opt, "aab"));
    EXPECT_FALSE(matches(opt, "ac"));

    auto zero = compile(R"(root ::= "a" "b"{0} "c")");
    EXPECT_TRUE(matches(zero, "ac"));
    EXPECT_FALSE(matches(zero, "abc"));
}

TEST(GrammarMatcher, CompleteAndContinue) {
    auto g = compile(R"(root ::= "ab" | "abc")");
    ASSERT_TRUE(g);
    GrammarMatcher m(g);
    EXPECT_FALSE(m.is_complete());
    EXPECT_TRUE(m.can_continue());
    ASSERT_TRUE(m.accept("ab"));
    EXPECT_TRUE(m.is_complete());
    EXPECT_TRUE(m.can_continue());
    ASSERT_TRUE(m.accept("c"));
    EXPECT_TRUE(m.is_complete());
    EXPECT_FALSE(m.can_continue());
    EXPECT_FALSE(m.accept("c"));

    auto empty = compile(R"(root ::= "")");
    GrammarMatcher e(empty);
    EXPECT_TRUE(e.is_complete());
    EXPECT_FALSE(e.can_continue());
    EXPECT_FALSE(e.can_accept("a"));
}

TEST(GrammarMatcher, StateKeyEqualForEqualStates) {
    auto g = compile(R"(
root ::= item ("," item)*
item ::= "a" | "b" | "aa"
)");
    ASSERT_TRUE(g);
    GrammarMatcher one(g), two(g), three(g);
    ASSERT_TRUE(one.accept("a,"));
    ASSERT_TRUE(two.accept("b,"));
    ASSERT_TRUE(three.accept("aa"));
    ASSERT_TRUE(three.accept(","));
    EXPECT_EQ(one.state_key(), two.state_key());
    EXPECT_EQ(one.state_key(), three.state_key());
    GrammarMatcher four(g);
    ASSERT_TRUE(four.accept("a"));
    EXPECT_NE(one.state_key(), four.state_key());
    // Same bytes in different splits give the same state.
    auto u = compile(R"(root ::= [^x]*)");
    GrammarMatcher s1(u), s2(u);
    ASSERT_TRUE(s1.accept("\xE2\x82\xAC\xE2"));
    ASSERT_TRUE(s2.accept("\xE2"));
    ASSERT_TRUE(s2.accept("\x82\xAC"));
    ASSERT_TRUE(s2.accept("\xE2"));
    EXPECT_EQ(s1.state_key(), s2.state_key());
    ASSERT_TRUE(s1.accept("\x82\xAC"));
    EXPECT_NE(s1.state_key(), s2.state_key());
}

TEST(GrammarMatcher, CopiesAreIndependent) {
    auto g = compile(R"(root ::= [a-z]{1,5})");
    GrammarMatcher a(g);
    ASSERT_TRUE(a.accept("ab"));
    GrammarMatcher b = a;
    ASSERT_TRUE(b.accept("c"));
    EXPECT_EQ(a.state_key(), GrammarMatcher(a).state_key());
    EXPECT_NE(a.state_key(), b.state_key());
    EXPECT_TRUE(a.is_complete());
}

TEST(GrammarMatcher, StackLimitRejectsInsteadOfHanging) {
    // Every "a" doubles the live parses: the closing letters still owed are any string of b/c.
    auto g = compile(R"(root ::= "a" root "b" | "a" root "c" | "")");
    GrammarMatcher m(g);
    bool rejected = false;
    int accepted = 0;
    for (; accepted < 200 && !rejected; ++accepted) rejected = !m.accept("a");
    EXPECT_TRUE(rejected);
    EXPECT_GE(accepted, 10);  // 2^12 = the default 4096 stacks
    EXPECT_LE(accepted, 14);
    EXPECT_TRUE(m.accept("b"));  // the state before the refused byte is intact

    GrammarMatcher small(compile(R"(root ::= "a" root "b" | "a" root "c" | "")", GrammarLimits{1 << 20, 200'000, 64}));
    int n = 0;
    while (n < 200 && small.accept("a")) ++n;
    EXPECT_LE(n, 7);
}

TEST(GrammarMatcher, RightRecursionAndDeepNesting) {
    auto g = compile(R"gbnf(root ::= "(" root ")" | "")gbnf");
    ASSERT_TRUE(g);
    std::string deep(2000, '(');
    deep += std::string(2000, ')');
    EXPECT_TRUE(matches(g, deep));
    EXPECT_FALSE(matches(g, deep + ")"));
}

}  // namespace
}  // namespace pagoda::grammar
