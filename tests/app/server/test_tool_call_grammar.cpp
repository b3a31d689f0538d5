// tool_choice "required" / a named function as a grammar: every text it accepts is a tool
// call that parse_tool_calls reads back, for a function that was allowed, with arguments
// valid under its parameters schema; nothing else is accepted.
#include <gtest/gtest.h>

#include <string>

#include "grammar/grammar.h"
#include "server/tool_call_grammar.h"

namespace pagoda::server {
namespace {

using Json = nlohmann::ordered_json;

const Json kTools = Json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
    "required": ["city"], "additionalProperties": false}}},
  {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"], "additionalProperties": false}}},
  {"type": "function", "function": {"name": "locate", "parameters": {"type": "object",
    "$defs": {"place": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
                        "additionalProperties": false}},
    "properties": {"where": {"$ref": "#/$defs/place"}}, "required": ["where"], "additionalProperties": false}}}
])");

ToolChoice required() { return ToolChoice{ToolChoiceMode::required, ""}; }
ToolChoice named(const std::string& f) { return ToolChoice{ToolChoiceMode::function, f}; }

std::shared_ptr<const grammar::Grammar> forced(ToolCallFormat format, const ToolChoice& choice, bool parallel = true) {
    auto g = tool_call_grammar(format, kTools, choice, parallel);
    EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
    return g.ok() ? g.value() : nullptr;
}

bool whole(const std::shared_ptr<const grammar::Grammar>& g, const std::string& text) {
    grammar::GrammarMatcher m(g);
    return m.accept(text) && m.is_complete();
}

TEST(ToolCallGrammar, EachFormatAcceptsItsOwnSpellingAndTheParserReadsItBack) {
    struct Case {
        ToolCallFormat format;
        std::string text;
    };
    const Case cases[] = {
        {ToolCallFormat::hermes,
         "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n</tool_call>"},
        {ToolCallFormat::llama3_json, R"({"name": "add", "parameters": {"a": 2, "b": -3}})"},
        {ToolCallFormat::mistral, R"([{"name": "locate", "arguments": {"where": {"name": "Oslo"}}}])"},
    };
    for (const Case& c : cases) {
        const auto g = forced(c.format, required());
        ASSERT_TRUE(g);
        EXPECT_TRUE(whole(g, c.text)) << c.text;
        const ToolParse parsed = parse_tool_calls(c.format, c.text);
        ASSERT_EQ(parsed.calls.size(), 1u) << c.text;
        EXPECT_TRUE(parsed.content.empty()) << parsed.content;
        EXPECT_FALSE(Json::parse(parsed.calls[0].arguments).empty());
    }
}

TEST(ToolCallGrammar, RefusesContentUnknownFunctionsAndInvalidArguments) {
    const auto g = forced(ToolCallFormat::hermes, required());
    ASSERT_TRUE(g);
    const std::string open = "<tool_call>\n{\"name\": ";
    for (const std::string& bad : {
             std::string("Sure, here is the weather."),
             open + "\"get_time\", \"arguments\": {}}\n</tool_call>",
             open + "\"get_weather\", \"arguments\": {}}\n</tool_call>",                     // city required
             open + "\"get_weather\", \"arguments\": {\"city\": 5}}\n</tool_call>",          // wrong type
             open + "\"get_weather\", \"arguments\": {\"city\": \"a\", \"unit\": \"k\"}}\n</tool_call>",
             open + "\"add\", \"arguments\": {\"a\": 1, \"b\": 2, \"c\": 3}}\n</tool_call>",  // extra key
             open + "\"add\", \"arguments\": {\"a\": 1.5, \"b\": 2}}\n</tool_call>",
             open + "\"locate\", \"arguments\": {\"where\": \"Oslo\"}}\n</tool_call>",       // $ref: an object
         }) {
        EXPECT_FALSE(whole(g, bad)) << bad;
    }
}

TEST(ToolCallGrammar, ANamedFunctionAndParallelCalls) {
    const std::string weather = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>";
    const std::string add = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>";
    const auto only_add = forced(ToolCallFormat::hermes, named("add"));
    ASSERT_TRUE(only_add);
    EXPECT_TRUE(whole(only_add, add));
    EXPECT_FALSE(whole(only_add, weather));

    EXPECT_TRUE(whole(forced(ToolCallFormat::hermes, required(), true), weather + "\n" + add));
    EXPECT_FALSE(whole(forced(ToolCallFormat::hermes, required(), false), weather + "\n" + add));
    EXPECT_TRUE(whole(forced(ToolCallFormat::mistral, required(), true),
                      R"([{"name": "add", "arguments": {"a": 1, "b": 2}}, {"name": "add", "arguments": {"a": 3, "b": 4}}])"));
}

TEST(ToolCallGrammar, NothingIsForcedForAutoNoneOrAnUnknownFormat) {
    for (const ToolChoice& c : {ToolChoice{ToolChoiceMode::auto_, ""}, ToolChoice{ToolChoiceMode::none, ""}}) {
        auto g = tool_call_grammar(ToolCallFormat::hermes, kTools, c, true);
        ASSERT_TRUE(g.ok());
        EXPECT_EQ(g.value(), nullptr);
    }
    auto unknown = tool_call_grammar(ToolCallFormat::none, kTools, required(), true);
    ASSERT_TRUE(unknown.ok());
    EXPECT_EQ(unknown.value(), nullptr);
}

TEST(ToolCallGrammar, AParametersSchemaThatCannotBeEnforcedNamesItsTool) {
    Json tools = kTools;
    tools[1]["function"]["parameters"]["properties"]["a"]["pattern"] = "^[0-9]+$";
    auto g = tool_call_grammar(ToolCallFormat::hermes, tools, required(), true);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().status, 400);
    EXPECT_EQ(g.error().param, "tools");
    EXPECT_NE(g.error().message.find("tools[1].function.parameters/properties/a/pattern"), std::string::npos)
        << g.error().message;
    // Forcing only another function does not look at that schema.
    EXPECT_TRUE(tool_call_grammar(ToolCallFormat::hermes, tools, named("get_weather"), true).ok());
}

}  // namespace
}  // namespace pagoda::server
