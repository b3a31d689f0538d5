// Engine events -> OpenAI bodies and SSE chunks, without a model: choice layout for n
// and several prompts, usage, finish reasons, logprobs shapes, echo, and tool calls
// streamed as tool_call deltas.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/response_assembler.h"

namespace pagoda::server {
namespace {

using Json = nlohmann::ordered_json;

GenerationEvent delta(int32_t slot, int32_t index, const std::string& text, std::vector<TokenId> ids,
                      std::optional<FinishReason> finish = std::nullopt) {
    GenerationEvent e;
    e.slot = slot;
    RequestDelta d;
    SampleDelta s;
    s.index = index;
    s.text = text;
    s.token_ids = std::move(ids);
    for (TokenId t : s.token_ids) {
        SampledLogprobs lp;
        lp.token = t;
        lp.logprob = -0.5f;
        lp.top = {{t, -0.5f}, {t + 1, -1.5f}};
        s.logprobs.push_back(lp);
    }
    s.finish_reason = finish;
    d.samples.push_back(std::move(s));
    e.delta = std::move(d);
    return e;
}

GenerationEvent finish(int32_t slot, std::vector<FinishReason> reasons, int32_t prompt, int32_t completion) {
    GenerationEvent e;
    e.slot = slot;
    RequestFinish f;
    f.reason = reasons.front();
    f.sample_reasons = std::move(reasons);
    f.usage.prompt_tokens = prompt;
    f.usage.completion_tokens = completion;
    e.finish = f;
    return e;
}

// "data: {...}\n\n" ... -> the JSON payloads; checks the framing on the way.
std::vector<std::string> payloads(const std::string& sse) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < sse.size()) {
        EXPECT_EQ(sse.compare(pos, 6, "data: "), 0) << sse.substr(pos);
        const size_t end = sse.find("\n\n", pos);
        EXPECT_NE(end, std::string::npos);
        if (end == std::string::npos) break;
        out.push_back(sse.substr(pos + 6, end - pos - 6));
        pos = end + 2;
    }
    return out;
}

AssemblerOptions chat_options(bool stream) {
    AssemblerOptions o;
    o.kind = ApiKind::chat;
    o.stream = stream;
    o.id = "chatcmpl-test";
    o.model = "m";
    o.created = 1;
    return o;
}

TEST(ResponseAssembler, ChatNonStreamingBody) {
    ResponseAssembler a(chat_options(false), nullptr);
    EXPECT_EQ(a.on_event(delta(0, 0, "Hel", {5})), "");
    a.on_event(delta(0, 0, "lo", {6}, FinishReason::length));
    a.on_event(finish(0, {FinishReason::length}, 7, 2));
    const Json body = a.final_body(false);
    EXPECT_EQ(body["object"], "chat.completion");
    EXPECT_EQ(body["id"], "chatcmpl-test");
    ASSERT_EQ(body["choices"].size(), 1u);
    EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello");
    EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(body["choices"][0]["logprobs"].is_null());
    EXPECT_EQ(body["usage"]["prompt_tokens"], 7);
    EXPECT_EQ(body["usage"]["completion_tokens"], 2);
    EXPECT_EQ(body["usage"]["total_tokens"], 9);
}

TEST(ResponseAssembler, ChatStreamFramingRoleContentFinishUsageDone) {
    AssemblerOptions o = chat_options(true);
    o.include_usage = true;
    o.n = 2;
    ResponseAssembler a(o, nullptr);
    std::string sse = a.stream_start();
    sse += a.on_event(delta(0, 1, "B", {3}));
    sse += a.on_event(delta(0, 0, "A", {4}, FinishReason::stop));
    sse += a.on_event(delta(0, 1, "", {}, FinishReason::length));
    sse += a.on_event(finish(0, {FinishReason::stop, FinishReason::length}, 3, 2));
    sse += a.stream_end(false);
    ASSERT_GE(sse.size(), 14u);
    EXPECT_EQ(sse.substr(sse.size() - 14), "data: [DONE]\n\n");
    const auto p = payloads(sse);
    ASSERT_EQ(p.back(), "[DONE]");
    std::vector<Json> chunks;
    for (size_t i = 0; i + 1 < p.size(); ++i) chunks.push_back(Json::parse(p[i]));
    // Two role chunks, two content chunks, two finish chunks, one usage chunk.
    ASSERT_EQ(chunks.size(), 7u);
    for (const Json& c : chunks) {
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        EXPECT_TRUE(c.contains("usage"));
    }
    EXPECT_EQ(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(chunks[1]["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(chunks[2]["choices"][0]["index"], 1);
    EXPECT_EQ(chunks[2]["choices"][0]["delta"]["content"], "B");
    EXPECT_EQ(chunks[3]["choices"][0]["delta"]["content"], "A");
    EXPECT_EQ(chunks[4]["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(chunks[5]["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(chunks[5]["usage"].is_null());
    EXPECT_TRUE(chunks[6]["choices"].empty());
    EXPECT_EQ(chunks[6]["usage"]["total_tokens"], 5);
}

TEST(ResponseAssembler, ChatLogprobsShape) {
    AssemblerOptions o = chat_options(false);
    o.logprobs = true;
    o.top_logprobs = 2;
    ResponseAssembler a(o, nullptr);
    a.on_event(delta(0, 0, "x", {9}, FinishReason::stop));
    a.on_event(finish(0, {FinishReason::stop}, 1, 1));
    const Json lp = a.final_body(false)["choices"][0]["logprobs"];
    ASSERT_EQ(lp["content"].size(), 1u);
    EXPECT_EQ(lp["content"][0]["token"], "9");  // no tokenizer: the id
    EXPECT_FLOAT_EQ(lp["content"][0]["logprob"].get<float>(), -0.5f);
    EXPECT_EQ(lp["content"][0]["bytes"], Json::array({'9'}));
    ASSERT_EQ(lp["content"][0]["top_logprobs"].size(), 2u);
    EXPECT_EQ(lp["content"][0]["top_logprobs"][1]["token"], "10");
}

TEST(ResponseAssembler, CompletionsSeveralPromptsEchoAndLegacyLogprobs) {
    AssemblerOptions o;
    o.kind = ApiKind::completion;
    o.n = 1;
    o.n_prompts = 2;
    o.logprobs = true;
    o.top_logprobs = 1;
    o.echo = {"P0", "P1"};
    o.id = "cmpl-test";
    ResponseAssembler a(o, nullptr);
    a.on_event(delta(1, 0, "b", {2}, FinishReason::stop));
    a.on_event(delta(0, 0, "a", {1}, FinishReason::length));
    a.on_event(finish(1, {FinishReason::stop}, 4, 1));
    a.on_event(finish(0, {FinishReason::length}, 5, 1));
    const Json body = a.final_body(false);
    EXPECT_EQ(body["object"], "text_completion");
    ASSERT_EQ(body["choices"].size(), 2u);
    EXPECT_EQ(body["choices"][0]["text"], "P0a");
    EXPECT_EQ(body["choices"][1]["text"], "P1b");
    EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(body["choices"][1]["finish_reason"], "stop");
    const Json lp = body["choices"][0]["logprobs"];
    EXPECT_EQ(lp["tokens"], Json::array({"1"}));
    EXPECT_EQ(lp["text_offset"], Json::array({2}));  // after the echoed prompt
    EXPECT_EQ(lp["top_logprobs"][0].size(), 1u);
    EXPECT_EQ(body["usage"]["prompt_tokens"], 9);
}

TEST(ResponseAssembler, ToolCallsNonStreaming) {
    AssemblerOptions o = chat_options(false);
    o.tool_format = ToolCallFormat::hermes;
    ResponseAssembler a(o, nullptr);
    a.on_event(delta(0, 0, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
                     {1, 2, 3}, FinishReason::stop));
    a.on_event(finish(0, {FinishReason::stop}, 10, 3));
    const Json c = a.final_body(false)["choices"][0];
    EXPECT_EQ(c["finish_reason"], "tool_calls");
    EXPECT_TRUE(c["message"]["content"].is_null());
    ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
    const Json call = c["message"]["tool_calls"][0];
    EXPECT_EQ(call["type"], "function");
    EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);
    EXPECT_EQ(call["function"]["name"], "get_weather");
    EXPECT_EQ(Json::parse(call["function"]["arguments"].get<std::string>())["city"], "Paris");
}

TEST(ResponseAssembler, ToolCallsStreamAsDeltasAndNeverLeakIntoContent) {
    AssemblerOptions o = chat_options(true);
    o.tool_format = ToolCallFormat::hermes;
    ResponseAssembler a(o, nullptr);
    std::string sse = a.stream_start();
    sse += a.on_event(delta(0, 0, "Sure. <tool", {1}));
    sse += a.on_event(delta(0, 0, "_call>{\"name\": \"f\", ", {2}));
    sse += a.on_event(delta(0, 0, "\"arguments\": {\"a\": 1}}</tool_call>", {3}, FinishReason::stop));
    sse += a.on_event(finish(0, {FinishReason::stop}, 1, 3));
    sse += a.stream_end(false);
    std::string content;
    Json calls;
    std::string reason;
    for (const std::string& p : payloads(sse)) {
        if (p == "[DONE]") continue;
        const Json c = Json::parse(p);
        for (const Json& ch : c["choices"]) {
            if (ch["delta"].contains("content") && ch["delta"]["content"].is_string()) {
                content += ch["delta"]["content"].get<std::string>();
            }
            if (ch["delta"].contains("tool_calls")) calls = ch["delta"]["tool_calls"];
            if (ch["finish_reason"].is_string()) reason = ch["finish_reason"];
        }
    }
    EXPECT_EQ(content, "Sure. ");
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0]["index"], 0);
    EXPECT_EQ(calls[0]["function"]["name"], "f");
    EXPECT_EQ(reason, "tool_calls");
}

TEST(ResponseAssembler, EngineErrorBecomesAnErrorEventInTheStream) {
    ResponseAssembler a(chat_options(true), nullptr);
    std::string sse = a.stream_start();
    GenerationEvent e = finish(0, {FinishReason::error}, 1, 0);
    e.finish->message = "out of blocks";
    sse += a.on_event(e);
    ASSERT_TRUE(a.failure());
    sse += a.stream_end(false);
    const auto p = payloads(sse);
    ASSERT_GE(p.size(), 2u);
    const Json err = Json::parse(p[p.size() - 2]);
    EXPECT_NE(err["error"]["message"].get<std::string>().find("out of blocks"), std::string::npos);
    EXPECT_EQ(p.back(), "[DONE]");
}

TEST(ResponseAssembler, CutShortStreamsStillEndCleanly) {
    ResponseAssembler a(chat_options(true), nullptr);
    std::string sse = a.stream_start();
    sse += a.on_event(delta(0, 0, "par", {1}));
    sse += a.on_event(finish(0, {FinishReason::cancelled}, 1, 1));
    sse += a.stream_end(true);
    const auto p = payloads(sse);
    ASSERT_GE(p.size(), 3u);
    EXPECT_EQ(Json::parse(p[p.size() - 2])["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(p.back(), "[DONE]");
}

}  // namespace
}  // namespace pagoda::server
