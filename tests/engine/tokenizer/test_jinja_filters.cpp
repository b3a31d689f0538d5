// Jinja filters and tests.
#include <gtest/gtest.h>

#include "jinja_test_util.h"

namespace pagoda::jinja {
namespace {

using nlohmann::ordered_json;
using testing::r;

const ordered_json kPeople = ordered_json::parse(R"({"people": [
    {"name": "bob", "age": 30, "tags": ["x"], "meta": {"rank": 2}},
    {"name": "Alice", "age": 25, "meta": {"rank": 1}},
    {"name": "carol", "age": 35, "active": true, "meta": {"rank": 3}}
]})");

TEST(JinjaFilters, Tojson) {
    EXPECT_EQ(r("{{ {'a': [1, 2.5, 'é\"\\n'], 'b': none, 'c': true}|tojson }}"),
              "{\"a\": [1, 2.5, \"é\\\"\\n\"], \"b\": null, \"c\": true}");
    EXPECT_EQ(r("{{ {'a': [1, {}], 'b': []}|tojson(indent=2) }}"),
              "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
    EXPECT_EQ(r("{{ 'é😀'|tojson(ensure_ascii=true) }}"), "\"\\u00e9\\ud83d\\ude00\"");
    EXPECT_EQ(r("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }} {{ [1, 2]|tojson(separators=(',', ':')) }}"),
              "{\"a\": 2, \"b\": 1} [1,2]");
    EXPECT_EQ(r("{{ 1.0|tojson }} {{ nothing|tojson }} {{ '\\u0001'|tojson }}"), "1 null \"\\u0001\"");
    EXPECT_EQ(r("{{ range|tojson }}"), "ERROR: line 1, column 10: cannot convert a function to JSON");
}

TEST(JinjaFilters, StringFilters) {
    EXPECT_EQ(r("[{{ '  a b  '|trim }}] [{{ 'xxaxx'|trim('x') }}] {{ 'aBc'|upper }} {{ 'aBc'|lower }}"),
              "[a b] [a] ABC abc");
    EXPECT_EQ(r("{{ 'the cat'|title }} {{ 'the cat'|capitalize }} {{ 'Ünïcödé ÀÉ'|lower }} {{ 'straße'|upper }}"),
              "The Cat The cat ünïcödé àé STRASSE");
    EXPECT_EQ(r("{{ 'a-b-c'|replace('-', '+') }} {{ 'a-b-c'|replace('-', '', 1) }}"), "a+b+c ab-c");
    EXPECT_EQ(r("{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(1, blank=true) }}"),
              "a\n    b\n\n    c|  a\n  b|a\n \n b");
    EXPECT_EQ(r("{{ '<a href=\"x\">&'|e }} {{ '<b>'|escape }} {{ '<i>'|safe }}"),
              "&lt;a href=&#34;x&#34;&gt;&amp; &lt;b&gt; <i>");
    EXPECT_EQ(r("{{ 3|upper }}"),
              "ERROR: line 1, column 6: filter 'upper' cannot be applied to a value of type integer");
}

TEST(JinjaFilters, Conversions) {
    EXPECT_EQ(r("{{ '42'|int }} {{ '12abc'|int }} {{ 'abc'|int }} {{ 'abc'|int(7) }} {{ 3.9|int }} {{ -3.5|int }} {{ "
                "true|int }}"),
              "42 12 0 7 3 -4 1");
    EXPECT_EQ(
        r("{{ '2.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ 5|string ~ 1 }} {{ [1]|string }} {{ none|string }}"),
        "2.5 0.0 3.0 51 [1] None");
    EXPECT_EQ(r("{{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.567|round(2) }} {{ 2.1|round(0, "
                "'ceil') }}"),
              "3 2.5 2.0 4.0 2.57 3.0");
    EXPECT_EQ(r("{{ 0|bool }} {{ 'x'|bool }}"), "false true");
}

TEST(JinjaFilters, DefaultAndLength) {
    EXPECT_EQ(r("{{ nothing|default('d') }} {{ nothing|d('dd') }} {{ ''|default('e') }} {{ ''|default('e', true) }} "
                "{{ none|default('n') }}|{{ nothing|default }}|"),
              "d dd  e ||");
    EXPECT_EQ(r("{{ [1, 2]|length }} {{ {'a': 1}|length }} {{ 'héllo'|length }} {{ 'abc'|count }}"), "2 1 5 3");
    EXPECT_EQ(r("{{ nothing|length }}"),
              "ERROR: line 1, column 12: filter 'length' cannot be applied to a value of type undefined");
}

TEST(JinjaFilters, ListFilters) {
    EXPECT_EQ(r("{{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} "
                "{{ ['b', 'A', 'c']|sort(case_sensitive=true) }}"),
              "[1, 2, 3] [3, 2, 1] [\"A\", \"b\", \"c\"] [\"A\", \"b\", \"c\"]");
    EXPECT_EQ(r("{{ [1, 'a']|sort }}"), "ERROR: line 1, column 13: cannot compare string with integer");
    EXPECT_EQ(r("{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ []|first is defined }} {{ 'abc'|first }} {{ [1, "
                "2]|reverse }}"),
              "1 3 false a [2, 1]");
    EXPECT_EQ(
        r("{{ [1, 2, 1, '1', 2.0]|unique }} {{ 'ab'|list }} {{ {'k': 1}|list }} {{ [1, 'a', none, 2.5]|join(',') }}"),
        "[1, 2, \"1\"] [\"a\", \"b\"] [\"k\"] 1,a,,2.5");
    EXPECT_EQ(r("{{ 'abc'|join('-') }} {{ [4, 2, 9]|min }} {{ [4, 2, 9]|max }} {{ [1, 2.5]|sum }} {{ ['a', "
                "'b']|reverse|join }}"),
              "a-b-c 2 9 3.5 ba");
}

TEST(JinjaFilters, AttributeFilters) {
    EXPECT_EQ(r("{{ people|map(attribute='name')|join(',') }}", kPeople), "bob,Alice,carol");
    EXPECT_EQ(r("{{ people|map(attribute='meta.rank')|list }} {{ people|map(attribute='tags.0', default='-')|list }}",
                kPeople),
              "[2, 1, 3] [\"x\", \"-\", \"-\"]");
    EXPECT_EQ(r("{{ people|sort(attribute='age')|map(attribute='name')|join(',') }} "
                "{{ people|sort(attribute='name')|map(attribute='name')|join(',') }}",
                kPeople),
              "Alice,bob,carol Alice,bob,carol");
    EXPECT_EQ(r("{{ people|selectattr('active')|map(attribute='name')|list }} "
                "{{ people|rejectattr('name', 'equalto', 'bob')|map(attribute='name')|join(',') }} "
                "{{ people|selectattr('tags', 'defined')|list|length }}",
                kPeople),
              "[\"carol\"] Alice,carol 1");
    EXPECT_EQ(
        r("{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, none, 3]|reject('none')|list }} {{ [0, 1, '']|select|list }} "
          "{{ ['a', 'B']|map('upper')|list }}"),
        "[1, 3] [1, 3] [1] [\"A\", \"B\"]");
    EXPECT_EQ(r("{{ {'b': 1, 'a': 2}|dictsort }} {{ {'b': 1, 'a': 2}|items }}"),
              "[[\"a\", 2], [\"b\", 1]] [[\"b\", 1], [\"a\", 2]]");
    EXPECT_EQ(r("{{ [1]|map(attribute='x')|list }}"),
              "ERROR: line 1, column 8: map: items must be dicts when mapping an attribute");
}

TEST(JinjaFilters, UnknownFilter) {
    EXPECT_EQ(r("line1\n  {{ 'x'|frobnicate }}"), "ERROR: line 2, column 10: unknown filter 'frobnicate'");
}

TEST(JinjaTests, TypeTests) {
    EXPECT_EQ(r("{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 0 is none }} {{ 'a' is string }} "
                "{{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 1 is integer }} {{ 1.0 is float }}"),
              "false true true false true true true false true true");
    EXPECT_EQ(
        r("{{ {} is mapping }} {{ [] is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ {} is iterable }} "
          "{{ {} is sequence }} {{ true is boolean }} {{ 1 is boolean }} {{ true is true }} {{ 1 is true }} "
          "{{ false is false }} {{ range is callable }}"),
        "true false true true false true true false true false true true");
    EXPECT_EQ(r("{{ 3 is odd }} {{ 4 is even }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'x' is not none }}"),
              "true true true true true");
}

TEST(JinjaTests, ComparisonTests) {
    EXPECT_EQ(
        r("{{ 3 is equalto 3 }} {{ 3 is eq(4) }} {{ 'a' is in(['a']) }} {{ 'a' is in 'cat' }} {{ 9 is divisibleby 3 }} "
          "{{ 2 is lt(3) }} {{ 2 is ne 2 }} {{ 2 is sameas 2 }}"),
        "true false true true true true false true");
    EXPECT_EQ(r("{{ 1 is frobbed }}"), "ERROR: line 1, column 6: unknown test 'frobbed'");
}

}  // namespace
}  // namespace pagoda::jinja
