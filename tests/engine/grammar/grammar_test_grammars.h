// GBNF grammars shared by the grammar tests (in the style of llama.cpp's grammars/ examples).
#pragma once

namespace pagoda::grammar::testing {

// JSON (an object at the root), with bounded optional whitespace.
inline constexpr const char* kJsonGbnf = R"gbnf(
# JSON: an object at the top level.
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [0-9]{0,15})? ws

# Optional space after tokens, at most one line break of indentation.
ws ::= | " " | "\n" [ \t]{0,20}
)gbnf";

inline constexpr const char* kArithmeticGbnf = R"gbnf(
root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
)gbnf";

inline constexpr const char* kListGbnf = R"gbnf(
root ::= item+

# Excludes various line break characters
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
)gbnf";

inline constexpr const char* kChessGbnf = R"gbnf(
# `root` specifies the pattern for the overall output
root ::= (
    # a first move pair, then numbered ones
    "1. " move " " move "\n"

    ([1-9] [0-9]? ". " move " " move "\n")+
)

move ::= (pawn | nonpawn | castle) [+#]?

pawn ::= [a-h] [1-8] | [a-h] "x" [a-h] [1-8] ("=" [NBRQ])?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
castle ::= "O-O" "-O"?
)gbnf";

// Unicode classes and escapes.
inline constexpr const char* kEmojiGbnf = R"gbnf(
root ::= greeting " " emoji{1,3} "\u0021"?
greeting ::= "h\u00e9llo" | "\x68\x69" | "\U0001F44B"
emoji ::= [\U0001F600-\U0001F64F😀-😏] | [☀-⛿]
)gbnf";

}  // namespace pagoda::grammar::testing
