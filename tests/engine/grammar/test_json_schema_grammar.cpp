// json_schema_to_gbnf: the GBNF it writes, compiled by compile_gbnf and run through
// GrammarMatcher, accepts valid instances of each schema and rejects invalid ones;
// unsupported keywords and hostile schemas are refused with the keyword's JSON pointer.
#include <gtest/gtest.h>

#include <climits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/json_schema_grammar.h"

namespace pagoda::grammar {
namespace {

using Json = nlohmann::ordered_json;

std::string gbnf_of(const Json& schema, const JsonSchemaLimits& limits = {}) {
    auto gbnf = json_schema_to_gbnf(schema, limits);
    EXPECT_TRUE(gbnf.is_ok()) << gbnf.status().message() << "\nschema: " << schema.dump();
    return gbnf.is_ok() ? *gbnf : std::string();
}

std::shared_ptr<const Grammar> compile(const std::string& gbnf) {
    auto g = compile_gbnf(gbnf);
    EXPECT_TRUE(g.is_ok()) << g.status().message() << "\n" << gbnf;
    return g.is_ok() ? g.value() : nullptr;
}

// Whole text: every byte accepted and the root finished. Fed in one piece and byte by
// byte, which must agree.
bool matches(const std::shared_ptr<const Grammar>& g, const std::string& text) {
    GrammarMatcher whole(g);
    bool ok = whole.accept(text) && whole.is_complete();
    GrammarMatcher bytes(g);
    bool ok_bytes = true;
    for (char c : text)
        if (!bytes.accept(std::string(1, c))) {
            ok_bytes = false;
            break;
        }
    ok_bytes = ok_bytes && bytes.is_complete();
    EXPECT_EQ(ok, ok_bytes) << "whole vs byte-by-byte disagree on: " << text;
    return ok;
}

void expect_language(const char* schema, const std::vector<std::string>& valid,
                     const std::vector<std::string>& invalid) {
    std::string gbnf = gbnf_of(Json::parse(schema));
    auto g = compile(gbnf);
    ASSERT_TRUE(g) << schema;
    for (const auto& text : valid) EXPECT_TRUE(matches(g, text)) << "should accept: " << text << "\n" << gbnf;
    for (const auto& text : invalid) EXPECT_FALSE(matches(g, text)) << "should reject: " << text << "\n" << gbnf;
}

// The refusal: invalid_argument naming `pointer`.
void expect_refused(const Json& schema, const std::string& pointer, const std::string& what = "",
                    const JsonSchemaLimits& limits = {}) {
    auto gbnf = json_schema_to_gbnf(schema, limits);
    ASSERT_FALSE(gbnf.is_ok()) << "accepted: " << schema.dump().substr(0, 300);
    EXPECT_EQ(gbnf.status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(gbnf.status().message().rfind(pointer, 0), 0u)
        << "message '" << gbnf.status().message() << "' should start with '" << pointer << "'";
    EXPECT_NE(gbnf.status().message().find(what), std::string::npos) << gbnf.status().message();
}

TEST(JsonSchemaGrammar, StrictObjectWithNullableField) {
    expect_language(R"({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "who"},
            "age": {"type": "integer"},
            "email": {"type": ["string", "null"]}
        },
        "required": ["name", "age", "email"],
        "additionalProperties": false
    })",
                    {
                        R"({"name":"Ann","age":31,"email":null})",
                        R"({"name":"","age":-7,"email":"a@b.c"})",
                        "{\n  \"name\": \"Ann\",\n  \"age\": 0,\n  \"email\": null\n}",
                        R"({ "name" : "A\"b\\c\/d\b\f\n\r\t\u00e9\uD83D\uDE00", "age" : 1 , "email" : "x" })",
                        "{\"name\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \xE4\xB8\xAD\",\"age\":123456789012,\"email\":null}",
                    },
                    {
                        R"({"name":"Ann","age":31})",                                    // missing required
                        R"({"name":"Ann","age":"31","email":null})",                     // wrong type
                        R"({"name":"Ann","age":31.5,"email":null})",                     // not an integer
                        R"({"name":"Ann","age":031,"email":null})",                      // leading zero
                        R"({"name":"Ann","age":31,"email":null,"x":1})",                 // extra key
                        R"({"name":"Ann","age":31,"email":null,})",                      // trailing comma
                        R"({"name":"Ann","age":31,,"email":null})",                      // double comma
                        R"({"name":"Ann" "age":31,"email":null})",                       // missing comma
                        " {\"name\":\"Ann\",\"age\":31,\"email\":null}",                 // leading whitespace
                        "{\"name\":\"A\nn\",\"age\":31,\"email\":null}",                 // raw control character
                        R"({"name":"A\qn","age":31,"email":null})",                      // bad escape
                        R"({"name":"A\u12G4","age":31,"email":null})",                   // bad \u escape
                        R"({"name":"Ann","age":31,"email":nul})",                        // bad literal
                        R"({"name":"Ann","age":31,"email":null)",                        // unclosed
                        R"(["Ann",31,null])",                                            // wrong container
                        R"({"name":"Ann","age":12345678901234567890123,"email":null})",  // digit runaway
                    });
}

TEST(JsonSchemaGrammar, PropertiesComeInSchemaOrder) {
    // ordered_json keeps "zeta" before "alpha"; the grammar emits them in that order.
    expect_language(R"({"type":"object","properties":{"zeta":{"type":"integer"},"alpha":{"type":"integer"}},
                        "required":["zeta","alpha"],"additionalProperties":false})",
                    {R"({"zeta":1,"alpha":2})"}, {R"({"alpha":2,"zeta":1})"});
}

// Every subset of five properties, some required: a subset is valid iff it holds every
// required property, and its commas are right in every combination.
TEST(JsonSchemaGrammar, EveryCombinationOfOptionalProperties) {
    const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
    for (const auto& required : {Json::array(), Json::array({"b", "d"}), Json::array({"a"}), Json::array({"e"}),
                                 Json::array({"a", "b", "c", "d", "e"}), Json::array({"c", "d", "e"})}) {
        Json schema = {{"type", "object"}, {"properties", Json::object()}, {"additionalProperties", false}};
        for (size_t i = 0; i < names.size(); ++i)
            schema["properties"][names[i]] = i % 2 ? Json{{"type", "string"}} : Json{{"type", "integer"}};
        schema["required"] = required;
        auto g = compile(gbnf_of(schema));
        ASSERT_TRUE(g);
        for (unsigned mask = 0; mask < 32; ++mask) {
            std::string text = "{";
            std::string spaced = "{ ";
            bool valid = true;
            for (size_t i = 0; i < names.size(); ++i) {
                bool present = mask & (1u << i);
                if (!present && std::find(required.begin(), required.end(), names[i]) != required.end()) valid = false;
                if (!present) continue;
                std::string kv = "\"" + names[i] + "\":" + (i % 2 ? "\"s\"" : "7");
                text += (text.size() > 1 ? "," : "") + kv;
                spaced += (spaced.size() > 2 ? ",\n  " : "") + kv;
            }
            text += "}";
            spaced = spaced.size() > 2 ? spaced + "\n}" : "{ }";
            EXPECT_EQ(matches(g, text), valid) << text << " required " << required.dump();
            EXPECT_EQ(matches(g, spaced), valid) << spaced << " required " << required.dump();
            if (text.size() > 2) {
                EXPECT_FALSE(matches(g, text.substr(0, text.size() - 1) + ",}")) << "trailing comma " << text;
                EXPECT_FALSE(matches(g, "{," + text.substr(1))) << "leading comma " << text;
            }
        }
    }
}

TEST(JsonSchemaGrammar, ThreeOptionalPropertiesAllCombinations) {
    expect_language(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},
                        "c":{"type":"boolean"}},"additionalProperties":false})",
                    {"{}", "{ }", R"({"a":1})", R"({"b":"x"})", R"({"c":true})", R"({"a":1,"b":"x"})",
                     R"({"a":1,"c":false})", R"({"b":"x","c":true})", R"({"a":1,"b":"x","c":true})"},
                    {R"({"a":1,"a":2})", R"({"b":"x","a":1})", R"({"d":1})", R"({,})", R"({"a":1,})", R"({,"a":1})",
                     R"({"a":"1"})"});
}

TEST(JsonSchemaGrammar, NestedArraysEnumsAndBounds) {
    expect_language(R"({
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"enum": ["x", "y\"z", 1, null, {"k": [true]}, "\u00e9\n"]},
                     "minItems": 1, "maxItems": 3},
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}
        },
        "required": ["tags", "matrix"],
        "additionalProperties": false
    })",
                    {
                        R"({"tags":["x"],"matrix":[]})",
                        R"({"tags":["x",1,null],"matrix":[[1,2.5e3],[],[-0.125,0,1E-7]]})",
                        R"({"tags":[{"k":[true]}, "y\"z"],"matrix":[[ 1 , 2 ]]})",
                        "{\"tags\":[\"\xC3\xA9\\n\"],\"matrix\":[]}",
                    },
                    {
                        R"({"tags":[],"matrix":[]})",                 // too few
                        R"({"tags":["x","x","x","x"],"matrix":[]})",  // too many
                        R"({"tags":["z"],"matrix":[]})",              // enum miss
                        R"({"tags":[{"k":[false]}],"matrix":[]})",    // enum miss in an object value
                        R"({"tags":[{ "k":[true]}],"matrix":[]})",    // enum values are compact JSON
                        R"({"tags":["x"],"matrix":[1]})",             // wrong item type
                        R"({"tags":["x",],"matrix":[]})",             // trailing comma in array
                        R"({"tags":["x"],"matrix":[[1.]]})",          // bad number
                        R"({"tags":["x"],"matrix":[[.5]]})",
                        R"({"tags":["x"],"matrix":[[+1]]})",
                    });
}

TEST(JsonSchemaGrammar, RecursiveDefsAndRootRef) {
    expect_language(
        R"({
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
                },
                "required": ["value", "children"],
                "additionalProperties": false
            }
        },
        "$ref": "#/$defs/node"
    })",
        {R"({"value":1,"children":[]})",
         R"({"value":1,"children":[{"value":2,"children":[{"value":3,"children":[]}]},{"value":4,"children":[]}]})"},
        {R"({"value":1})", R"({"value":1,"children":[{"value":2}]})",
         R"({"value":1,"children":[{"value":"2","children":[]}]})"});
    // A linked list through "#" and a nullable anyOf; a pointer with ~1 and %25 escapes.
    expect_language(R"({
        "type": "object",
        "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
                       "w": {"$ref": "#/definitions/a~1b%25"}},
        "required": ["v", "next"],
        "additionalProperties": false,
        "definitions": {"a/b%": {"type": "boolean"}}
    })",
                    {R"({"v":1,"next":null})", R"({"v":1,"next":{"v":2,"next":null,"w":true}})"},
                    {R"({"v":1,"next":{"v":2}})", R"({"v":1,"next":null,"w":1})"});
}

TEST(JsonSchemaGrammar, Formats) {
    expect_language(R"({"type":"string","format":"date"})",
                    {R"("2024-02-29")", R"("2023-12-31")", R"("2000-02-29")", R"("2023-02-28")", R"("0001-01-01")"},
                    {R"("2023-02-29")", R"("1900-02-29")", R"("2024-13-01")", R"("2024-04-31")", R"("2024-00-10")",
                     R"("2024-1-01")", R"("2024-01-1")", R"(2024-01-01)", R"("2024-01-01T00:00:00Z")"});
    expect_language(R"({"type":"string","format":"time"})", {R"("23:59:59Z")", R"("00:00:00.5+05:30")"},
                    {R"("24:00:00Z")", R"("12:60:00Z")", R"("12:00:00")", R"("12:00Z")"});
    expect_language(R"({"type":"string","format":"date-time"})",
                    {R"("2024-05-06T07:08:09Z")", R"("2024-05-06T07:08:09.123-02:00")"},
                    {R"("2024-05-06 07:08:09Z")", R"("2024-05-06T07:08:09")", R"("2024-05-32T07:08:09Z")"});
    expect_language(R"({"type":"string","format":"uuid"})", {R"("123e4567-e89b-12d3-A456-426614174000")"},
                    {R"("123e4567e89b12d3a456426614174000")", R"("123e4567-e89b-12d3-a456-42661417400g")",
                     R"("123e4567-e89b-12d3-a456-4266141740001")"});
    expect_language(R"({"type":"string","format":"ipv4"})", {R"("192.168.0.1")", R"("255.255.255.255")"},
                    {R"("256.1.1.1")", R"("1.2.3")", R"("01.2.3.4")"});
    // Formats the grammar does not enforce are annotations: any string.
    expect_language(R"({"type":"string","format":"email"})", {R"("not an email")"}, {"1"});
}

TEST(JsonSchemaGrammar, StringLengths) {
    expect_language(R"({"type":"string","minLength":2,"maxLength":4})",
                    {R"("ab")", R"("abcd")", R"("a\"\u00e9c")", "\"\xC3\xA9\xF0\x9F\x98\x80\""},
                    {R"("a")", R"("abcde")", R"("")"});
    expect_language(R"({"type":"string","maxLength":0})", {R"("")"}, {R"("a")"});
    expect_language(R"({"type":"string","minLength":3})", {R"("abc")", R"("abcdefghijklmnop")"}, {R"("ab")"});
}

TEST(JsonSchemaGrammar, TuplesAndItemBounds) {
    expect_language(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false,
                        "minItems":1})",
                    {R"(["a"])", R"(["a",1])", R"([ "a" , 1 ])"}, {"[]", R"(["a",1,2])", "[1]", R"(["a","b"])"});
    expect_language(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],
                        "items":{"type":"boolean"},"minItems":3,"maxItems":4})",
                    {R"(["a",1,true])", R"(["a",1,true,false])"},
                    {R"(["a",1])", R"(["a",1,true,false,true])", R"(["a",1,2])"});
    // Draft-7 tuple form.
    expect_language(R"({"type":"array","items":[{"const":"x"}],"additionalItems":{"type":"null"}})",
                    {"[]", R"(["x"])", R"(["x",null,null])"}, {R"([null])", R"(["x","x"])"});
    expect_language(R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})", {"[1,2]", "[1,2,3]"},
                    {"[]", "[1]", "[1,2,3,4]"});
    expect_language(R"({"type":"array","maxItems":0})", {"[]", "[ ]"}, {"[1]"});
}

TEST(JsonSchemaGrammar, NumbersAndLiterals) {
    expect_language(R"({"type":"number"})", {"0", "-0", "1.5", "1e10", "-1.25E-3", "1234567890123456789.5"},
                    {"01", "1.", ".5", "+1", "1e", "--1", "\"1\"", "123456789012345678901234", "NaN"});
    expect_language(R"({"type":"integer"})", {"0", "-12", "9007199254740993"}, {"1.0", "-", "1e3"});
    expect_language(R"({"type":["boolean","null"]})", {"true", "false", "null"}, {"0", "True", "\"null\""});
    expect_language(R"({"type":"string","nullable":true})", {"null", R"("x")"}, {"1"});
}

TEST(JsonSchemaGrammar, BoundedWhitespace) {
    const char* schema = R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}}})";
    expect_language(schema,
                    {R"({"a":[1, 2]})", "{\n  \"a\": [\n    1,\n    2\n  ]\n}", "{\n\t\"a\":[]\n}",
                     "{\n" + std::string(20, ' ') + "\"a\":[]}"},
                    {R"({  "a":[]})", "{\n" + std::string(21, ' ') + "\"a\":[]}", "{\n\n\"a\":[]}",
                     R"({"a":[] })"
                     "\n",
                     " {}", "{}\n"});
}

TEST(JsonSchemaGrammar, MapsAndAnyValue) {
    expect_language(R"({"type":"object","additionalProperties":{"type":"integer"}})",
                    {"{}", R"({"x":1})", R"({"x":1,"y\n":2})"}, {R"({"x":"s"})", R"({"x":1,})", "[]"});
    expect_language(R"({"type":"object","additionalProperties":{"type":"integer"},"minProperties":1,
                        "maxProperties":2})",
                    {R"({"x":1})", R"({"x":1,"y":2})"}, {"{}", R"({"x":1,"y":2,"z":3})"});
    expect_language(R"({"type":"object"})", {"{}", R"({"x":[1,{"y":null}],"z":"w"})"}, {"[]", "1"});
    expect_language(R"({"type":"object","additionalProperties":false})", {"{}"}, {R"({"x":1})"});
    for (const char* any : {"{}", "true", R"({"description":"anything","title":"t","examples":[1]})"})
        expect_language(any,
                        {"1", "-2.5e3", "\"s\"", "true", "null", "[]", R"([1,"a",[{}],{"k":{"k":[null]}}])",
                         R"({"a":{"b":[true,false]}})"},
                        {"", "nul", "[1,]", "{\"a\"}", "'s'", "{a:1}"});
}

TEST(JsonSchemaGrammar, AnyOfAllOfAndTypeInference) {
    expect_language(R"({"anyOf":[{"type":"string","maxLength":2},{"type":"null"},
                                 {"type":"object","properties":{"k":{"const":1}},"required":["k"],
                                  "additionalProperties":false}]})",
                    {R"("ab")", "null", R"({"k":1})"}, {R"("abc")", R"({"k":2})", "1"});
    expect_language(R"({"oneOf":[{"type":"integer"},{"type":"boolean"}]})", {"1", "true"}, {"\"1\""});
    expect_language(R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
                                 {"properties":{"b":{"type":"string"},"a":{"enum":[1,2,"x"]}},"required":["b"]}]})",
                    {R"({"a":1,"b":"s"})", R"({"a":2,"b":""})"},
                    {R"({"a":1})", R"({"b":"s"})", R"({"a":3,"b":"s"})", R"({"a":"x","b":"s"})"});
    // additionalProperties false in one part keeps only that part's keys.
    expect_language(R"({"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},
                                 {"properties":{"b":{"type":"integer"}}}]})",
                    {"{}", R"({"a":1})"}, {R"({"b":1})", R"({"a":1,"b":2})"});
    // Keywords beside anyOf hold for every branch.
    expect_language(R"({"type":"object","properties":{"kind":{"type":"string"}},"required":["kind"],
                        "anyOf":[{"properties":{"x":{"type":"integer"}},"required":["x"]},
                                 {"properties":{"y":{"type":"boolean"}},"required":["y"]}]})",
                    {R"({"kind":"a","x":1})", R"({"kind":"b","y":true})"},
                    {R"({"x":1})", R"({"kind":"a"})", R"({"kind":"a","x":true})"});
    // $ref with siblings is the allOf of both.
    expect_language(R"({"$defs":{"base":{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}},
                        "$ref":"#/$defs/base","properties":{"name":{"type":"string"}},"required":["name"]})",
                    {R"({"id":1,"name":"n"})"}, {R"({"id":1})", R"({"name":"n"})"});
    // No "type": the keywords say which kind.
    expect_language(R"({"properties":{"a":{"type":"integer"}},"required":["a"]})", {R"({"a":1})"}, {"1", "\"a\""});
    expect_language(R"({"enum":["a",1,2.5,null],"type":"integer"})", {"1"}, {"\"a\"", "2.5", "null"});
    expect_language(R"({"enum":[1,5,10],"minimum":2,"exclusiveMaximum":10})", {"5"}, {"1", "10"});
    expect_language(R"({"const":{"a":[1,"x"]}})", {R"({"a":[1,"x"]})"}, {R"({"a":[1,"y"]})", R"({ "a":[1,"x"]})"});
}

TEST(JsonSchemaGrammar, KeysAreEscapedJsonStrings) {
    Json schema = {{"type", "object"},
                   {"properties", {{"we\"ird\\key/~\xC3\xBC\n", {{"type", "integer"}}}}},
                   {"required", {"we\"ird\\key/~\xC3\xBC\n"}}};
    auto g = compile(gbnf_of(schema));
    ASSERT_TRUE(g);
    EXPECT_TRUE(matches(g, "{\"we\\\"ird\\\\key/~\xC3\xBC\\n\":1}"));
    EXPECT_FALSE(matches(g, "{\"weird\":1}"));
    // The refusal names the property with ~0/~1 escapes.
    Json bad = {{"type", "object"}, {"properties", {{"a/b~c", {{"type", "string"}, {"pattern", "x"}}}}}};
    expect_refused(bad, "/properties/a~1b~0c/pattern", "'pattern' is not supported");
}

TEST(JsonSchemaGrammar, JsonObjectGrammar) {
    auto g = compile(json_object_gbnf());
    ASSERT_TRUE(g);
    for (const char* ok : {"{}", R"({"a":1,"b":[true,{"c":null}],"d":"e"})", "{\n  \"a\": 1\n}"})
        EXPECT_TRUE(matches(g, ok)) << ok;
    for (const char* bad : {"[]", "1", "\"s\"", " {}", "{\"a\":1,}", "{\"a\"}", "null"})
        EXPECT_FALSE(matches(g, bad)) << bad;
}

TEST(JsonSchemaGrammar, UnsupportedKeywordsAreRefusedWithTheirPointer) {
    struct Case {
        const char* schema;
        const char* pointer;
        const char* what;
    };
    const Case cases[] = {
        {R"({"type":"object","properties":{"a":{"type":"string","pattern":"^x"}}})", "/properties/a/pattern",
         "'pattern' is not supported"},
        {R"({"type":"object","patternProperties":{"^x":{}}})", "/patternProperties", "not supported"},
        {R"({"not":{"type":"string"}})", "/not", "not supported"},
        {R"({"if":{"type":"string"},"then":{"minLength":1}})", "/if", "not supported"},
        {R"({"type":"object","dependentRequired":{"a":["b"]}})", "/dependentRequired", "not supported"},
        {R"({"type":"array","uniqueItems":true})", "/uniqueItems", "not supported"},
        {R"({"type":"array","contains":{"type":"integer"}})", "/contains", "not supported"},
        {R"({"type":"number","multipleOf":2})", "/multipleOf", "not supported"},
        {R"({"type":"object","propertyNames":{"maxLength":3}})", "/propertyNames", "not supported"},
        {R"({"type":"strin"})", "/type", "unknown type 'strin'"},
        {R"({"type":["string",3]})", "/type", "type name"},
        {R"({"type":7})", "/type", "type name"},
        {R"({"type":"object","properties":[]})", "/properties", "must be an object"},
        {R"({"type":"object","properties":{"a":3}})", "/properties/a", "object or a boolean"},
        {R"({"type":"object","required":"a"})", "/required", "array"},
        {R"({"type":"array","minItems":-1})", "/minItems", "non-negative integer"},
        {R"({"type":"array","maxItems":1.5})", "/maxItems", "non-negative integer"},
        {R"({"enum":[]})", "/enum", "empty"},
        {R"({"anyOf":[]})", "/anyOf", "non-empty"},
        {R"({"$ref":"http://example.com/s.json"})", "/$ref", "only local references"},
        {R"({"$ref":"#/$defs/missing"})", "/$ref", "does not name"},
        {R"({"$ref":"#/$defs/bad~2"})", "/$ref", "not a valid JSON pointer"},
        {R"({"$ref":"#"})", "(root)", "recursion"},
        {R"({"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/b"},{"type":"null"}]},"b":{"$ref":"#/$defs/a"}},
            "$ref":"#/$defs/a"})",
         "/$defs/", "recursion"},
        {R"(false)", "(root)", "false"},
        {R"({"type":"object","properties":{"a":false},"required":["a"]})", "/properties/a", "schema false"},
        {R"({"type":"object","properties":{"a":{}},"required":["a","b"],"additionalProperties":false})", "/required/1",
         "'b'"},
        {R"({"type":"array","minItems":3,"maxItems":2})", "/minItems", "above"},
        {R"({"type":"array","maxItems":100000})", "/maxItems", "above the supported bound"},
        {R"({"type":"string","minLength":5000})", "/minLength", "above the supported bound"},
        {R"({"allOf":[{"type":"string"},{"type":"integer"}]})", "(root)", "no type"},
        {R"({"allOf":[{"const":1},{"const":2}]})", "(root)", "no value"},
        {R"({"type":"string","enum":["a"],"format":"date"})", "/format", "together with"},
        {R"({"items":[{"type":"string","pattern":"a"}]})", "/items/0/pattern", "not supported"},
        {R"({"$defs":{"x":{"type":"integer","not":{}}},"properties":{"p":{"$ref":"#/$defs/x"}}})", "/$defs/x/not",
         "not supported"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.schema);
        expect_refused(Json::parse(c.schema), c.pointer, c.what);
    }
}

TEST(JsonSchemaGrammar, AnnotationsAreIgnored) {
    expect_language(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","$comment":"c",
                        "title":"T","description":"D","type":"object","deprecated":true,"readOnly":true,
                        "properties":{"a":{"type":"integer","default":3,"examples":[1],"minimum":0,"maximum":9}},
                        "required":["a"],"additionalProperties":false,"strict":true,"x-vendor":{"pattern":1}})",
                    {R"({"a":5})"}, {"{}"});
}

TEST(JsonSchemaGrammar, DeepNestingIsRefused) {
    Json deep = {{"type", "string"}};
    for (int i = 0; i < 200; ++i) {
        Json outer = {{"type", "array"}};
        outer["items"] = std::move(deep);
        deep = std::move(outer);
    }
    expect_refused(deep, "/items/items", "deeper than 64");
    Json deep_any = {{"type", "null"}};
    for (int i = 0; i < 5000; ++i) {
        Json outer = {{"anyOf", Json::array()}};
        outer["anyOf"].push_back(std::move(deep_any));
        outer["anyOf"].push_back({{"type", "integer"}});
        deep_any = std::move(outer);
    }
    expect_refused(deep_any, "/anyOf/0", "deeper");
}

TEST(JsonSchemaGrammar, AllOfOfAnyOfsDoesNotBlowUp) {
    // allOf of anyOfs multiplies out: 4^12 combinations.
    Json all = {{"allOf", Json::array()}};
    for (int i = 0; i < 12; ++i) {
        Json any = Json::array();
        for (int j = 0; j < 4; ++j)
            any.push_back(
                {{"type", "object"}, {"properties", {{std::string("p") + std::to_string(i) + std::to_string(j), {}}}}});
        all["allOf"].push_back({{"anyOf", any}});
    }
    expect_refused(all, "/allOf/", "combinations");
}

TEST(JsonSchemaGrammar, SharedRefsAreGeneratedOnce) {
    // A chain of $defs each referring twice to the next: generated once each, not 2^n.
    Json chain = {{"$defs", Json::object()}, {"$ref", "#/$defs/d0"}};
    for (int i = 0; i < 40; ++i) {
        Json next =
            i + 1 < 40 ? Json{{"$ref", std::string("#/$defs/d") + std::to_string(i + 1)}} : Json{{"type", "integer"}};
        chain["$defs"][std::string("d") + std::to_string(i)] = {
            {"type", "object"}, {"properties", {{"l", next}, {"r", next}}}, {"required", {"l", "r"}}};
    }
    auto g = compile(gbnf_of(chain));
    EXPECT_TRUE(g);
}

TEST(JsonSchemaGrammar, RuleAndRepetitionLimits) {
    // Too many rules.
    Json wide = {{"type", "object"}, {"properties", Json::object()}};
    for (int i = 0; i < 300; ++i) {
        std::string name = "p";
        name += std::to_string(i);
        wide["properties"][name] = {{"type", "string"}, {"maxLength", i + 1}};
    }
    JsonSchemaLimits small;
    small.max_rules = 100;
    expect_refused(wide, "", "more than 100 grammar rules", small);
    // Repetition bounds that add up.
    JsonSchemaLimits tight;
    tight.max_repeat_total = 1000;
    expect_refused(wide, "/properties/p", "add up", tight);
}

TEST(JsonSchemaGrammar, IntegerBounds) {
    // Every integer in a window around the bounds, against the bounds themselves.
    struct Case {
        const char* schema;
        long lo, hi;
    };
    const Case cases[] = {
        {R"({"type":"integer","minimum":0})", 0, LONG_MAX},
        {R"({"type":"integer","minimum":-12,"maximum":137})", -12, 137},
        {R"({"type":"integer","exclusiveMinimum":-1000,"exclusiveMaximum":-99})", -999, -100},
        {R"({"type":"integer","minimum":1.5,"maximum":99.5})", 2, 99},
        {R"({"type":"integer","maximum":7,"minimum":7})", 7, 7},
        {R"({"type":"integer","minimum":5,"exclusiveMinimum":true,"maximum":2000})", 6, 2000},
        {R"({"type":"integer","maximum":-5})", LONG_MIN, -5},
        {R"({"type":"integer","minimum":123,"maximum":4567})", 123, 4567},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.schema);
        std::string gbnf = gbnf_of(Json::parse(c.schema));
        auto g = compile(gbnf);
        ASSERT_TRUE(g);
        for (long v = -1100; v <= 5100; ++v) {
            bool in = v >= c.lo && v <= c.hi;
            GrammarMatcher m(g);
            bool ok = m.accept(std::to_string(v)) && m.is_complete();
            ASSERT_EQ(ok, in) << v << "\n" << gbnf;
        }
        for (const char* other : {"-0", "007", "1.0", "-"}) EXPECT_FALSE(matches(g, other)) << other;
    }
    expect_language(R"({"type":"integer","minimum":10})", {"10", "1234567890123456789"},
                    {"9", "-10", "12345678901234567890"});
    expect_refused(Json::parse(R"({"type":"integer","minimum":3,"maximum":2})"), "/minimum", "no integer");
    expect_refused(Json::parse(R"({"type":"integer","minimum":1e30})"), "/minimum", "no integer");
    expect_language(R"({"type":"integer","minimum":-1e30,"maximum":1e30})", {"0", "-5"}, {"1.5"});
    // Number bounds are not enforced.
    expect_language(R"({"type":"number","minimum":0})", {"-1.5"}, {});
}

// Schemas at the default bounds still compile within compile_gbnf's default limits, and
// long instances still match.
TEST(JsonSchemaGrammar, LargestAllowedBoundsCompile) {
    Json schema = {{"type", "object"}, {"properties", Json::object()}, {"additionalProperties", false}};
    for (int i = 0; i < 19; ++i) {
        std::string name = "s";
        name += std::to_string(i);
        schema["properties"][name] = {{"type", "string"}, {"maxLength", 1000}};
    }
    schema["properties"]["list"] = {{"type", "array"},
                                    {"minItems", 1000},
                                    {"maxItems", 1000},
                                    {"items", {{"type", "object"}, {"properties", {{"k", {{"type", "integer"}}}}}}}};
    schema["required"] = {"s0", "list"};
    auto g = compile(gbnf_of(schema));
    ASSERT_TRUE(g);
    std::string text = "{\"s0\":\"" + std::string(1000, 'x') + "\",\"list\":[";
    for (int i = 0; i < 1000; ++i) text += i ? ",{\"k\":1}" : "{}";
    EXPECT_TRUE(matches(g, text + "]}"));
    EXPECT_FALSE(matches(g, text + ",{}]}"));
    EXPECT_FALSE(matches(g, "{\"s0\":\"" + std::string(1001, 'x') + "\",\"list\":[]}"));
}

TEST(JsonSchemaGrammar, PlainJsonOverloadAndEmptyProperties) {
    // nlohmann::json sorts keys: properties come out alphabetically.
    auto gbnf = json_schema_to_gbnf(nlohmann::json::parse(
        R"({"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"integer"}},"required":["a","b"]})"));
    ASSERT_TRUE(gbnf.is_ok()) << gbnf.status().message();
    auto g = compile(*gbnf);
    ASSERT_TRUE(g);
    EXPECT_TRUE(matches(g, R"({"a":1,"b":2})"));
    EXPECT_FALSE(matches(g, R"({"b":2,"a":1})"));
    // No declared property: any object.
    expect_language(R"({"type":"object","properties":{}})", {"{}", R"({"x":[1]})"}, {"[]"});
    // A required key not in properties takes the additionalProperties schema.
    expect_language(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["b"],
                        "additionalProperties":{"type":"string"}})",
                    {R"({"b":"s"})", R"({"a":1,"b":"s"})"}, {"{}", R"({"b":1})"});
}

TEST(JsonSchemaGrammar, UnsatisfiableCombinationsAreNoAlternative) {
    // The null branch cannot hold together with "type": "object": only the object remains.
    expect_language(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],
                        "anyOf":[{"type":"null"},{"properties":{"a":{"minimum":0}}}]})",
                    {R"({"a":1})"}, {"null", R"({"a":-1})"});
    // allOf of anyOfs: the pairs with no common type drop out.
    expect_language(R"({"allOf":[{"anyOf":[{"type":"string"},{"type":"integer"}]},
                                 {"anyOf":[{"type":"integer","minimum":5},{"type":"boolean"}]}]})",
                    {"5", "17"}, {"4", "true", "\"s\""});
    expect_refused(Json::parse(R"({"type":"object","anyOf":[{"type":"null"},{"type":"string"}]})"), "/anyOf",
                   "no branch");
}

TEST(JsonSchemaGrammar, ManyOptionalProperties) {
    Json schema = {{"type", "object"}, {"properties", Json::object()}, {"additionalProperties", false}};
    for (int i = 0; i < 300; ++i) {
        std::string name = "p";
        name += std::to_string(i);
        schema["properties"][name] = {{"type", "integer"}};
    }
    auto g = compile(gbnf_of(schema));
    ASSERT_TRUE(g);
    EXPECT_TRUE(matches(g, "{}"));
    EXPECT_TRUE(matches(g, R"({"p0":1,"p150":2,"p299":3})"));
    EXPECT_TRUE(matches(g, R"({"p299":3})"));
    EXPECT_FALSE(matches(g, R"({"p150":2,"p0":1})"));
    EXPECT_FALSE(matches(g, R"({"p300":1})"));
}

}  // namespace
}  // namespace pagoda::grammar
