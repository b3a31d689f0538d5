// Jinja expressions: operators, printing of values, member access, slicing, string /
// dict / list methods and the global functions, with the reference's semantics.
#include <gtest/gtest.h>

#include "jinja_test_util.h"

namespace pagoda::jinja {
namespace {

using nlohmann::ordered_json;
using testing::r;
using testing::render;

TEST(JinjaExpressions, PrintingValues) {
    EXPECT_EQ(r("{{ 1 }}|{{ 2.0 }}|{{ 2.5 }}|{{ -0.0 }}|{{ true }}|{{ none }}|{{ nothing }}|{{ 'x' }}"),
              "1|2.0|2.5|-0.0|true|||x");
    EXPECT_EQ(r("{{ [1, 2.0, 'a', none, true] }}"), "[1, 2, \"a\", null, true]");
    EXPECT_EQ(r("{{ 1e300 if false else 0.1 + 0.2 }}"), "ERROR: line 1, column 5: expected '}}', found 'e300'");
    EXPECT_EQ(r("{{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 100000000000000000000.0 * 100 }} {{ 0.000001 / 10 }}"),
              "0.30000000000000004 0.3333333333333333 1e+22 1e-7");
}

TEST(JinjaExpressions, Arithmetic) {
    EXPECT_EQ(r("{{ 1 + 2 }} {{ 5 - 7 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }}"),
              "3 -2 12 3.5 3.0 3 -4");
    EXPECT_EQ(r("{{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ 2 ** -1 }} {{ 2.0 ** 2 }}"),
              "1 -1 1.5 1024 64 0.5 4.0");
    EXPECT_EQ(r("{{ 1 + 2.0 }} {{ -(3) }} {{ -true }} {{ not 0 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }}"),
              "3.0 -3 -1 true 7 9");
    EXPECT_EQ(r("{{ 1 / 0 }}"), "ERROR: line 1, column 6: division by zero");
    EXPECT_EQ(r("{{ 9223372036854775807 + 1 }}"), "ERROR: line 1, column 24: integer overflow");
    EXPECT_EQ(r("{{ 'a' - 1 }}"), "ERROR: line 1, column 8: unsupported operand types for '-': string and integer");
    EXPECT_EQ(r("{{ x + 1 }}"), "ERROR: line 1, column 6: cannot apply '+' to an undefined value");
    EXPECT_EQ(r("{{ none + 1 }}"), "ERROR: line 1, column 9: cannot apply '+' to none");
}

TEST(JinjaExpressions, StringsConcatenate) {
    EXPECT_EQ(r("{{ 'a' + 'b' }} {{ 'n' + 1 }} {{ 1.0 ~ '|' ~ 2.5 ~ true ~ [1, 'x'] }} {{ 'ab' * 3 }}"),
              "ab n1 1|2.5true1,x ababab");
}

TEST(JinjaExpressions, Comparisons) {
    EXPECT_EQ(r("{{ 1 == 1.0 }} {{ '1' == 1 }} {{ true == 1 }} {{ none == nothing }} {{ none == 0 }} {{ 'a' != 'b' }}"),
              "true true true true false true");
    EXPECT_EQ(r("{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 'abc' < 'abd' }} {{ [1] == [1] }}"),
              "true true false true false");
    EXPECT_EQ(r("{% set a = [1] %}{{ a == a }}"), "true");  // lists compare by identity, as in the reference
}

TEST(JinjaExpressions, Membership) {
    EXPECT_EQ(r("{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 2.0 in [1, 2] }} {{ '2' in [2] }} {{ 'k' in {'k': 0} }}"),
              "true true true false true");
    EXPECT_EQ(r("{{ 'x' not in 'abc' }} {{ 'a' in nothing }} {{ 'a' not in nothing }}"), "true false true");
}

TEST(JinjaExpressions, LogicReturnsOperands) {
    EXPECT_EQ(r("{{ 0 or 'b' }} {{ 'a' or 'b' }} {{ 'a' and 'b' }} {{ [] and 'b' }} {{ not [] }}"), "b a b [] true");
    EXPECT_EQ(r("{{ nothing.attr and nothing.other() }}"), "");  // short-circuit: the call never happens
}

TEST(JinjaExpressions, TernaryAndSelect) {
    EXPECT_EQ(r("{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} {{ 'a' if false else 'b' if true else 'c' }}"),
              "y n b");
    EXPECT_EQ(r("[{{ 'shown' if false }}]"), "[]");
}

TEST(JinjaExpressions, MemberAccessAndSubscripts) {
    const ordered_json vars = {{"m", {{"role", "user"}, {"list", {10, 20, 30}}, {"items", "data wins"}}}};
    EXPECT_EQ(
        r("{{ m.role }} {{ m['role'] }} {{ m.list[0] }} {{ m.list[-1] }} {{ m.list.1 }} {{ m.list|length }}", vars),
        "user user 10 30 20 3");
    EXPECT_EQ(r("{{ m.missing is defined }} {{ m.list[5] is defined }} {{ m.missing.deeper is defined }}", vars),
              "false false false");
    EXPECT_EQ(r("{{ m.items }}", vars), "data wins");  // keys shadow dict methods
    EXPECT_EQ(r("{{ 'héllo'[1] }} {{ 'abc'[-1] }} {{ 'abc'.length }}"), "é c 3");
    EXPECT_EQ(r("{{ m[0] }}", vars), "ERROR: line 1, column 5: dict keys are strings; cannot look up a integer");
}

TEST(JinjaExpressions, Slicing) {
    EXPECT_EQ(r("{{ [0, 1, 2, 3, 4][1:3] }} {{ [0, 1, 2, 3, 4][::2] }} {{ [0, 1, 2][::-1] }} {{ [0, 1, 2][-2:] }}"),
              "[1, 2] [0, 2, 4] [2, 1, 0] [1, 2]");
    EXPECT_EQ(r("{{ 'abcdef'[1:-1] }} {{ 'abcdef'[::-1] }} {{ 'héllo'[:2] }} {{ 'abc'[5:] }}|{{ 'abc'[:none] }}"),
              "bcde fedcba hé |abc");
    EXPECT_EQ(r("{{ [1, 2][::0] }}"), "[]");
}

TEST(JinjaExpressions, StringMethods) {
    EXPECT_EQ(r("{{ ' x '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi \\n'.lstrip('\\n') }}|{{ "
                "'hi\\n\\n'.rstrip('\\n') }}|"),
              "x|hi|hi \n|hi|");
    EXPECT_EQ(r("{{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}"),
              "HELLO hello Hello World HELLO");
    EXPECT_EQ(r("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'bc')) }} {{ 'abc'.startswith('') }}"),
              "true true true");
    EXPECT_EQ(r("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b  c '.split(none, "
                "1) }}"),
              "[\"a\", \"b\", \"\", \"c\"] [\"a\", \"b\"] [\"a\", \"b c\"] [\"a\", \"b  c \"]");
    EXPECT_EQ(r("{{ 'aaa'.replace('a', 'b') }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'ab'.replace('', '-') }}"),
              "bbb bba -a-b-");
    EXPECT_EQ(r("{{ 'héllo'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'x'.find('y') }} {{ 'banana'.count('an') }}"),
              "2 3 -1 2");
    EXPECT_EQ(r("{{ ', '.join(['a', 'b']) }} {{ '{} and {name}'.format(1, name='two') }} {{ '42'.isdigit() }}"),
              "a, b 1 and two true");
    EXPECT_EQ(r("{{ 'x'.nosuchmethod() }}"), "ERROR: line 1, column 20: cannot call a value of type undefined");
    EXPECT_EQ(r("{{ 'a'.split('') }}"), "ERROR: line 1, column 13: split(): empty separator");
}

TEST(JinjaExpressions, DictAndListMethods) {
    const ordered_json vars = {{"d", {{"b", 1}, {"a", 2}}}};
    EXPECT_EQ(r("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys() }} {{ d.values() }}", vars),
              "2  dflt [\"b\", \"a\"] [1, 2]");
    EXPECT_EQ(r("{{ d.items() }} {{ d.dictsort() }}", vars), "[[\"b\", 1], [\"a\", 2]] [[\"a\", 2], [\"b\", 1]]");
    EXPECT_EQ(r("{% set l = [1] %}{% set _ = l.append(2) %}{{ l }} {{ l.pop() }} {{ l }} {{ [3, 4, 3].count(3) }}"),
              "[1, 2] 2 [1] 2");
}

TEST(JinjaExpressions, Globals) {
    EXPECT_EQ(r("{{ range(3) }} {{ range(1, 4) }} {{ range(10, 0, -3) }} {{ range(0) }}"),
              "[0, 1, 2] [1, 2, 3] [10, 7, 4, 1] []");
    EXPECT_EQ(r("{{ True }} {{ False }} {{ None is none }} {{ dict(a=1) }}"), "true false true {\"a\": 1}");
    EXPECT_EQ(r("line\n{{ raise_exception('Roles must alternate') }}"),
              "ERROR: line 2, column 4: Roles must alternate");
    EXPECT_EQ(r("{{ range(1, 2, 0) }}"), "ERROR: line 1, column 4: range() step must not be zero");
}

TEST(JinjaExpressions, StrftimeNowUsesTheConfiguredClock) {
    RenderOptions options;
    std::tm t{};
    t.tm_year = 2024 - 1900;
    t.tm_mon = 6;
    t.tm_mday = 26;
    t.tm_hour = 14;
    t.tm_min = 5;
    t.tm_sec = 9;
    t.tm_wday = 5;
    t.tm_yday = 207;
    options.now = t;
    auto out =
        render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %B %A %j %%') }}", {}, options);
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    EXPECT_EQ(out.value(), "26 Jul 2024|2024-07-26 14:05:09 July Friday 208 %");
}

TEST(JinjaExpressions, UserVariablesShadowGlobals) { EXPECT_EQ(r("{{ range }}", {{"range", "mine"}}), "mine"); }

TEST(JinjaExpressions, InputNumbersAndKeyOrderFollowJavaScript) {
    // JSON.parse makes 2.0 an integer and puts index-like keys first.
    const ordered_json vars = ordered_json::parse(R"({"v": 2.0, "o": {"b": 1, "10": 2, "a": 3, "2": 4}})");
    EXPECT_EQ(r("{{ v }} {{ o|tojson }}", vars), "2 {\"2\": 4, \"10\": 2, \"b\": 1, \"a\": 3}");
}

}  // namespace
}  // namespace pagoda::jinja
