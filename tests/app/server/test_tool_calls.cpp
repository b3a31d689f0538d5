// Tool calls in model output for the Hermes/Qwen, Llama 3.1 and Mistral spellings, and
// the streaming hold-back that keeps a half-written call out of the content.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/tool_calls.h"

namespace pagoda::server {
namespace {

using Json = nlohmann::json;

TEST(ToolCalls, DetectsTheFormatFromTheTemplate) {
    EXPECT_EQ(detect_tool_call_format("{% for t in tools %}<tool_call>{{ t }}</tool_call>{% endfor %}"),
              ToolCallFormat::hermes);
    EXPECT_EQ(detect_tool_call_format("[AVAILABLE_TOOLS]{{ tools }}[/AVAILABLE_TOOLS] [TOOL_CALLS]"),
              ToolCallFormat::mistral);
    EXPECT_EQ(detect_tool_call_format("{{- '<|python_tag|>' }}"), ToolCallFormat::llama3_json);
    EXPECT_EQ(detect_tool_call_format("<|im_start|>{{ message.content }}"), ToolCallFormat::none);
}

TEST(ToolCalls, HermesOneCallWithContentBefore) {
    const ToolParse p = parse_tool_calls(
        ToolCallFormat::hermes,
        "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].name, "get_weather");
    EXPECT_EQ(Json::parse(p.calls[0].arguments), Json::parse(R"({"city":"Paris"})"));
    EXPECT_EQ(p.content, "Let me check.");
}

TEST(ToolCalls, HermesSeveralCallsAndAnUnclosedLastOne) {
    const ToolParse p = parse_tool_calls(ToolCallFormat::hermes,
                                         "<tool_call>{\"name\":\"a\",\"arguments\":{}}</tool_call>\n"
                                         "<tool_call>{\"name\":\"b\",\"arguments\":{\"x\":1}}");
    ASSERT_EQ(p.calls.size(), 2u);
    EXPECT_EQ(p.calls[0].name, "a");
    EXPECT_EQ(p.calls[1].name, "b");
    EXPECT_EQ(Json::parse(p.calls[1].arguments)["x"], 1);
    EXPECT_EQ(p.content, "");
}

TEST(ToolCalls, BrokenJsonStaysContent) {
    const std::string text = "<tool_call>{\"name\": \"a\", \"arguments\": {</tool_call>";
    const ToolParse p = parse_tool_calls(ToolCallFormat::hermes, text);
    EXPECT_TRUE(p.calls.empty());
    EXPECT_EQ(p.content, text);
    EXPECT_TRUE(parse_tool_calls(ToolCallFormat::hermes, "<tool_call>{\"arguments\":{}}</tool_call>").calls.empty());
}

TEST(ToolCalls, Llama3Json) {
    const ToolParse p =
        parse_tool_calls(ToolCallFormat::llama3_json, " {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].name, "get_weather");
    EXPECT_EQ(Json::parse(p.calls[0].arguments)["city"], "Oslo");
    const ToolParse tagged = parse_tool_calls(ToolCallFormat::llama3_json,
                                              "<|python_tag|>{\"name\": \"f\", \"parameters\": {}}; "
                                              "{\"name\": \"g\", \"parameters\": {\"a\": 2}}");
    ASSERT_EQ(tagged.calls.size(), 2u);
    EXPECT_EQ(tagged.calls[1].name, "g");
    const ToolParse plain = parse_tool_calls(ToolCallFormat::llama3_json, "The answer is {x}.");
    EXPECT_TRUE(plain.calls.empty());
    EXPECT_EQ(plain.content, "The answer is {x}.");
}

TEST(ToolCalls, MistralBothSpellings) {
    const ToolParse a = parse_tool_calls(
        ToolCallFormat::mistral, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"q\": \"x\"}}, {\"name\": \"g\", \"arguments\": {}}]");
    ASSERT_EQ(a.calls.size(), 2u);
    EXPECT_EQ(a.calls[0].name, "f");
    EXPECT_EQ(Json::parse(a.calls[0].arguments)["q"], "x");
    // [TOOL_CALLS] is a control token that may not appear in the decoded text.
    const ToolParse b = parse_tool_calls(ToolCallFormat::mistral, "[{\"name\": \"f\", \"arguments\": {}}]");
    ASSERT_EQ(b.calls.size(), 1u);
    const ToolParse c = parse_tool_calls(ToolCallFormat::mistral, "[TOOL_CALLS]f[ARGS]{\"q\": 1}[TOOL_CALLS]g[ARGS]{}");
    ASSERT_EQ(c.calls.size(), 2u);
    EXPECT_EQ(c.calls[0].name, "f");
    EXPECT_EQ(c.calls[1].name, "g");
    EXPECT_TRUE(parse_tool_calls(ToolCallFormat::mistral, "[1, 2]").calls.empty());
}

TEST(ToolCalls, StreamingHoldsBackWhatMayStartACall) {
    // Hermes: content before the tag streams; a partial tag at the end waits.
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::hermes, "Hello"), 5u);
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::hermes, "Hello <tool"), 6u);
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::hermes, "Hi <tool_call>{\"na"), 3u);
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::hermes, "a < b"), 5u);
    // Llama 3 / Mistral: a call is the whole output.
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::llama3_json, "  {\"name\""), 0u);
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::llama3_json, "Sure"), 4u);
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::mistral, "[TOOL_"), 0u);
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::mistral, "OK"), 2u);
    EXPECT_EQ(streamable_content_prefix(ToolCallFormat::none, "<tool_call>"), 11u);
}

}  // namespace
}  // namespace pagoda::server
