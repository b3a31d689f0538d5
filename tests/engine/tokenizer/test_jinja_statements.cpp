// Jinja statements: for (loop variables, else, filters, unpacking, break/continue), if,
// set (block and namespace forms), macro, call, filter blocks.
#include <gtest/gtest.h>

#include "jinja_test_util.h"

namespace pagoda::jinja {
namespace {

using nlohmann::ordered_json;
using testing::r;

TEST(JinjaStatements, ForLoopVariables) {
    EXPECT_EQ(r("{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
                {{"items", {"a", "b"}}}),
              "1021truefalse2;2110falsetrue2;");
    EXPECT_EQ(r("{% for x in [1, 2, 3] %}{{ loop.previtem|default('-') }}{{ x }}{{ loop.nextitem|default('-') }} "
                "{% endfor %}"),
              "-12 123 23- ");
}

TEST(JinjaStatements, ForElseAndFilteredLoops) {
    EXPECT_EQ(r("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
    EXPECT_EQ(r("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ '/' ~ loop.length }} {% endfor %}"), "2/2 4/2 ");
    EXPECT_EQ(r("{% for x in [1, 3] if x is even %}{{ x }}{% else %}none even{% endfor %}"), "none even");
}

TEST(JinjaStatements, ForOverDictsAndUnpacking) {
    const ordered_json vars = {{"d", {{"b", 1}, {"a", 2}}}};
    EXPECT_EQ(r("{% for k in d %}{{ k }}{% endfor %}", vars), "ba");  // keys, insertion order
    EXPECT_EQ(r("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", vars), "b=1;a=2;");
    EXPECT_EQ(r("{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}", vars), "b1a2");
    EXPECT_EQ(r("{% for (a, b) in [[1, 2], [3, 4]] %}{{ a * b }} {% endfor %}"), "2 12 ");
    EXPECT_EQ(r("{% for a, b in [[1, 2, 3]] %}{% endfor %}"),
              "ERROR: line 1, column 8: too many values to unpack (expected 2, got 3)");
    EXPECT_EQ(r("{% for c in 'héj' %}[{{ c }}]{% endfor %}"), "[h][é][j]");
    EXPECT_EQ(r("{% for x in nothing %}x{% else %}undefined iterates as empty{% endfor %}"),
              "undefined iterates as empty");
    EXPECT_EQ(r("{% for x in 42 %}{% endfor %}"), "ERROR: line 1, column 13: cannot loop over a value of type integer");
}

TEST(JinjaStatements, LoopScopeDoesNotLeak) {
    EXPECT_EQ(r("{% set x = 'outer' %}{% for i in [1] %}{% set x = 'inner' %}{{ x }}{% endfor %}{{ x }}"),
              "innerouter");
    EXPECT_EQ(r("{% for i in [1, 2] %}{% if i == 2 %}{{ seen }}{% endif %}{% set seen = i %}{% endfor %}"), "1");
    EXPECT_EQ(r("{% for i in [1] %}{% endfor %}{{ i is defined }}"), "false");
}

TEST(JinjaStatements, BreakAndContinue) {
    EXPECT_EQ(r("{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"), "012");
    EXPECT_EQ(r("{% for i in range(5) %}{% if i is odd %}{% continue %}{% endif %}{{ i }}{% endfor %}"), "024");
    EXPECT_EQ(r("{% for i in [1, 2] %}{% for j in [1, 2] %}{% break %}{% endfor %}{{ i }}{% endfor %}"), "12");
    EXPECT_EQ(r("{% break %}"), "ERROR: 'break' or 'continue' outside of a loop");
}

TEST(JinjaStatements, IfElifElse) {
    const char* tpl = "{% if x > 10 %}big{% elif x > 5 %}medium{% elif x > 0 %}small{% else %}none{% endif %}";
    EXPECT_EQ(r(tpl, {{"x", 20}}), "big");
    EXPECT_EQ(r(tpl, {{"x", 7}}), "medium");
    EXPECT_EQ(r(tpl, {{"x", 1}}), "small");
    EXPECT_EQ(r(tpl, {{"x", 0}}), "none");
    EXPECT_EQ(r("{% if [] %}a{% elif {} %}b{% elif '' %}c{% elif 0.0 %}d{% else %}falsy{% endif %}"), "falsy");
    EXPECT_EQ(r("{% if undefined_name %}a{% else %}b{% endif %}"), "b");
}

TEST(JinjaStatements, SetForms) {
    EXPECT_EQ(r("{% set a = 1 %}{% set b, c = 2, 3 %}{{ a + b + c }}"), "6");
    EXPECT_EQ(r("{% set block %}Hello {{ name }}!{% endset %}{{ block|upper }}", {{"name", "Ann"}}), "HELLO ANN!");
    EXPECT_EQ(r("{% set messages = messages[1:] %}{{ messages|length }}", {{"messages", {1, 2, 3}}}), "2");
    EXPECT_EQ(r("{% set x = 1 %}{% set x.y = 2 %}"),
              "ERROR: line 1, column 24: can only assign attributes of a namespace() object");
}

TEST(JinjaStatements, NamespacesCarryStateOutOfLoops) {
    EXPECT_EQ(r("{% set ns = namespace(count=0, found=false) %}"
                "{% for m in msgs %}{% if m == 'x' %}{% set ns.count = ns.count + 1 %}{% set ns.found = true %}"
                "{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}",
                {{"msgs", {"x", "y", "x"}}}),
              "2 true");
    EXPECT_EQ(r("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns.c is defined }}"), "12false");
    EXPECT_EQ(r("{% set ns = namespace([['k', 'v']]) %}{{ ns.k }}"), "v");
    // Printing a namespace shows its attributes as JSON.
    EXPECT_EQ(r("{% set ns = namespace(a=[1]) %}{{ ns }}"), "{\"a\": [1]}");
}

TEST(JinjaStatements, Macros) {
    EXPECT_EQ(r("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}"
                "{{ greet('Ann') }} {{ greet('Bob', greeting='Hi') }} {{ greet(greeting='Yo', name='Cy') }}"),
              "Hello, Ann! Hi, Bob! Yo, Cy!");
    EXPECT_EQ(
        r("{% macro m(a) %}{{ a }}:{{ varargs|join(',') }}:{{ kwargs|tojson }}{% endmacro %}{{ m(1, 2, 3, k=4) }}"),
        "1:2,3:{\"k\": 4}");
    EXPECT_EQ(r("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}"),
              "ERROR: line 1, column 41: macro 'm' takes not more than 1 argument(s)");
    EXPECT_EQ(r("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=1) }}"),
              "ERROR: line 1, column 41: macro 'm' takes no keyword argument 'b'");
    EXPECT_EQ(r("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}"), "[]");  // missing -> undefined
    // Defaults may refer to earlier parameters.
    EXPECT_EQ(r("{% macro m(a, b=a * 2) %}{{ b }}{% endmacro %}{{ m(4) }}"), "8");
    // Free variables resolve where the macro is called (the reference's dynamic scoping).
    EXPECT_EQ(r("{% macro show() %}{{ item }}{% endmacro %}{% for item in ['p', 'q'] %}{{ show() }}{% endfor %}"),
              "pq");
}

TEST(JinjaStatements, RecursiveMacro) {
    EXPECT_EQ(r("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}"
                "{{ fact(5) }}"),
              "120");
}

TEST(JinjaStatements, CallBlocks) {
    EXPECT_EQ(r("{% macro box(title) %}[{{ title }}: {{ caller() }}]{% endmacro %}"
                "{% call box('T') %}inside {{ 1 + 1 }}{% endcall %}"),
              "[T: inside 2]");
    EXPECT_EQ(r("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
                "{% call(item) each([1, 2]) %}<{{ item }}>{% endcall %}"),
              "<1><2>");
}

TEST(JinjaStatements, CallerCannotOutliveItsBlock) {
    EXPECT_EQ(r("{% set ns = namespace() %}{% macro keep() %}{% set ns.c = caller %}{% endmacro %}"
                "{% call keep() %}x{% endcall %}{{ ns.c() }}"),
              "ERROR: line 1, column 120: caller() used after its call block ended");
}

TEST(JinjaStatements, FilterBlocks) {
    EXPECT_EQ(r("{% filter upper %}abc {{ 'd' }}{% endfilter %}"), "ABC D");
    EXPECT_EQ(r("{% filter replace('a', 'o') %}banana{% endfilter %}"), "bonono");
}

}  // namespace
}  // namespace pagoda::jinja
