// Raw HTTP against an in-process server on stories260K (skipped without ../shared):
// the endpoints, SSE framing, usage, stop, n, seeds, logprobs, tokenize round trips,
// errors, and a client hanging up mid-stream freeing its KV blocks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "server_test_fixture.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::server::test {
namespace {

using Json = nlohmann::json;

class StoriesServer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!std::filesystem::exists(kStoriesPath)) return;
        auto models = std::make_shared<ModelManager>(cpu_factory(test_engine_config()), ModelManagerConfig{});
        ASSERT_TRUE(models->add_file(kStoriesPath).is_ok());
        ASSERT_TRUE(models->preload("stories260K").is_ok());
        server_ = start_server(models).release();
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        if (!std::filesystem::exists(kStoriesPath)) GTEST_SKIP() << "needs " << kStoriesPath << " (shared/README.md)";
        ASSERT_NE(server_, nullptr);
    }

    static int port() { return server_->port(); }
    static const Engine& engine() {
        static std::shared_ptr<ServedModel> m = server_->models->acquire("stories260K").value();
        return *m->engine;
    }
    static Json post(const std::string& path, const Json& body, int expect_status = 200) {
        const RawResponse r = http_request(port(), "POST", path, body.dump());
        EXPECT_EQ(r.status, expect_status) << r.body;
        const Json j = Json::parse(r.body, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r.body;
        return j;
    }
    // Streams a request; returns the parsed chunks (the [DONE] sentinel checked and dropped).
    static std::vector<Json> stream(const std::string& path, Json body, RawResponse* head_out = nullptr) {
        body["stream"] = true;
        HttpConnection c(port());
        EXPECT_TRUE(c.ok());
        c.send_request("POST", path, body.dump());
        RawResponse head = c.read_head();
        EXPECT_EQ(head.status, 200);
        const std::string raw = c.read_body(head);
        if (head_out) *head_out = head;
        bool framing = false;
        auto payloads = sse_payloads(raw, &framing);
        EXPECT_TRUE(framing) << raw;
        EXPECT_FALSE(payloads.empty());
        std::vector<Json> chunks;
        if (payloads.empty()) return chunks;
        EXPECT_EQ(payloads.back(), "[DONE]");
        for (size_t i = 0; i + 1 < payloads.size(); ++i) {
            Json j = Json::parse(payloads[i], nullptr, false);
            EXPECT_FALSE(j.is_discarded()) << payloads[i];
            chunks.push_back(std::move(j));
        }
        return chunks;
    }

    static RunningServer* server_;
};

RunningServer* StoriesServer::server_ = nullptr;

const Json kGreedyPrompt = {{"model", "stories260K"}, {"prompt", "Once upon a time"}, {"temperature", 0}};

TEST_F(StoriesServer, HealthAndModels) {
    const RawResponse h = http_request(port(), "GET", "/health");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(Json::parse(h.body)["status"], "ok");
    const RawResponse m = http_request(port(), "GET", "/v1/models");
    ASSERT_EQ(m.status, 200);
    const Json j = Json::parse(m.body);
    EXPECT_EQ(j["object"], "list");
    ASSERT_EQ(j["data"].size(), 1u);
    EXPECT_EQ(j["data"][0]["id"], "stories260K");
    EXPECT_EQ(j["data"][0]["object"], "model");
    EXPECT_EQ(j["data"][0]["loaded"], true);
    EXPECT_EQ(http_request(port(), "GET", "/v1/models/stories260K").status, 200);
    const RawResponse missing = http_request(port(), "GET", "/v1/models/nope");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(Json::parse(missing.body)["error"]["code"], "model_not_found");
}

TEST_F(StoriesServer, GreedyCompletionMatchesTheKnownContinuation) {
    Json body = kGreedyPrompt;
    body["max_tokens"] = 24;
    const Json j = post("/v1/completions", body);
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["model"], "stories260K");
    ASSERT_EQ(j["choices"].size(), 1u);
    EXPECT_EQ(j["choices"][0]["text"].get<std::string>().substr(0, 35), ", there was a little girl named Lil");
    EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(j["usage"]["prompt_tokens"], 5);  // BOS + 4
    EXPECT_EQ(j["usage"]["completion_tokens"], 24);
    EXPECT_EQ(j["usage"]["total_tokens"], 29);
}

TEST_F(StoriesServer, CompletionsDefaultToSixteenTokens) {
    const Json j = post("/v1/completions", kGreedyPrompt);
    EXPECT_EQ(j["usage"]["completion_tokens"], 16);
}

TEST_F(StoriesServer, TokenIdPromptsEchoAndSeveralPrompts) {
    Json body = {{"prompt", Json::array({1, 403, 407, 261, 378})}, {"temperature", 0}, {"max_tokens", 4}};
    const Json ids = post("/v1/completions", body);
    EXPECT_EQ(ids["choices"][0]["text"].get<std::string>().substr(0, 6), ", ther");
    EXPECT_EQ(ids["usage"]["prompt_tokens"], 5);

    body = {{"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 4}, {"echo", true}};
    const Json echo = post("/v1/completions", body);
    EXPECT_EQ(echo["choices"][0]["text"].get<std::string>().substr(0, 22), "Once upon a time, ther");

    body = {{"prompt", Json::array({"Once upon a time", "Lily"})}, {"temperature", 0}, {"max_tokens", 3}, {"n", 2}};
    const Json multi = post("/v1/completions", body);
    ASSERT_EQ(multi["choices"].size(), 4u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(multi["choices"][i]["index"], i);
    // Greedy: both samples of a prompt agree.
    EXPECT_EQ(multi["choices"][0]["text"], multi["choices"][1]["text"]);
    EXPECT_EQ(multi["choices"][2]["text"], multi["choices"][3]["text"]);
    EXPECT_EQ(multi["usage"]["completion_tokens"], 12);
}

TEST_F(StoriesServer, ChatUsesTheChatMlFallbackAndCountsExactly) {
    const Json messages = Json::array({{{"role", "system"}, {"content", "You tell stories."}},
                                       {{"role", "user"}, {"content", "Tell me about Lily."}}});
    const Json tok = post("/tokenize", {{"messages", messages}});
    const Json j =
        post("/v1/chat/completions", {{"model", "stories260K"}, {"messages", messages}, {"max_tokens", 8}, {"temperature", 0}});
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
    EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string());
    EXPECT_EQ(j["usage"]["prompt_tokens"], tok["count"]);
    EXPECT_EQ(j["usage"]["completion_tokens"], 8);
    EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
}

TEST_F(StoriesServer, StreamingChatIsWellFramedAndMatchesNonStreaming) {
    const Json body = {{"messages", Json::array({{{"role", "user"}, {"content", "Once upon a time"}}})},
                       {"max_tokens", 12},
                       {"temperature", 0}};
    const Json whole = post("/v1/chat/completions", body);
    RawResponse head;
    const auto chunks = stream("/v1/chat/completions", body, &head);
    EXPECT_EQ(head.headers["content-type"].substr(0, 17), "text/event-stream");
    EXPECT_TRUE(head.chunked);
    ASSERT_GE(chunks.size(), 3u);
    EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
    std::string text;
    std::string finish;
    for (const Json& c : chunks) {
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        EXPECT_EQ(c["id"], chunks.front()["id"]);
        EXPECT_FALSE(c.contains("usage"));  // only with stream_options.include_usage
        for (const Json& ch : c["choices"]) {
            if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
            if (ch["finish_reason"].is_string()) finish = ch["finish_reason"];
        }
    }
    EXPECT_EQ(text, whole["choices"][0]["message"]["content"]);
    EXPECT_EQ(finish, "length");
}

TEST_F(StoriesServer, StreamIncludeUsageEndsWithAUsageChunk) {
    Json body = kGreedyPrompt;
    body["max_tokens"] = 5;
    body["stream_options"] = {{"include_usage", true}};
    const auto chunks = stream("/v1/completions", body);
    ASSERT_GE(chunks.size(), 2u);
    const Json& last = chunks.back();
    EXPECT_TRUE(last["choices"].empty());
    EXPECT_EQ(last["usage"]["prompt_tokens"], 5);
    EXPECT_EQ(last["usage"]["completion_tokens"], 5);
    for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_TRUE(chunks[i]["usage"].is_null());
}

TEST_F(StoriesServer, StopStringEndsWithFinishReasonStop) {
    Json body = kGreedyPrompt;
    body["max_tokens"] = 40;
    body["stop"] = Json::array({"Lily"});
    const Json j = post("/v1/completions", body);
    EXPECT_EQ(j["choices"][0]["text"], ", there was a little girl named ");
    EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
}

TEST_F(StoriesServer, SeedReproducesSampledText) {
    Json body = {{"prompt", "Once upon a time"}, {"temperature", 1.0}, {"max_tokens", 24}, {"seed", 1234}, {"n", 3}};
    const Json a = post("/v1/completions", body);
    const Json b = post("/v1/completions", body);
    ASSERT_EQ(a["choices"].size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(a["choices"][i]["text"], b["choices"][i]["text"]);
    // The samples of one request differ from each other (24 sampled tokens at T=1).
    EXPECT_NE(a["choices"][0]["text"], a["choices"][1]["text"]);
    body["seed"] = 99;
    const Json c = post("/v1/completions", body);
    EXPECT_NE(a["choices"][0]["text"], c["choices"][0]["text"]);
}

TEST_F(StoriesServer, ChatLogprobs) {
    const Json j = post("/v1/chat/completions", {{"messages", Json::array({{{"role", "user"}, {"content", "Hi"}}})},
                                                 {"max_tokens", 6},
                                                 {"temperature", 0},
                                                 {"logprobs", true},
                                                 {"top_logprobs", 3}});
    const Json& content = j["choices"][0]["logprobs"]["content"];
    ASSERT_EQ(content.size(), 6u);
    std::string joined;
    for (const Json& t : content) {
        EXPECT_LE(t["logprob"].get<double>(), 0.0);
        ASSERT_EQ(t["top_logprobs"].size(), 3u);
        // Greedy: the sampled token is the most likely one.
        EXPECT_EQ(t["top_logprobs"][0]["token"], t["token"]);
        EXPECT_GE(t["top_logprobs"][0]["logprob"].get<double>(), t["top_logprobs"][1]["logprob"].get<double>());
        joined += t["token"].get<std::string>();
    }
    EXPECT_EQ(joined, j["choices"][0]["message"]["content"]);
}

TEST_F(StoriesServer, CompletionLogprobsLegacyShape) {
    Json body = kGreedyPrompt;
    body["max_tokens"] = 4;
    body["logprobs"] = 2;
    const Json lp = post("/v1/completions", body)["choices"][0]["logprobs"];
    ASSERT_EQ(lp["tokens"].size(), 4u);
    ASSERT_EQ(lp["token_logprobs"].size(), 4u);
    ASSERT_EQ(lp["top_logprobs"].size(), 4u);
    ASSERT_EQ(lp["text_offset"].size(), 4u);
    EXPECT_EQ(lp["top_logprobs"][0].size(), 2u);
    EXPECT_EQ(lp["text_offset"][0], 0);
}

TEST_F(StoriesServer, TokenizeDetokenizeRoundTrip) {
    const Json t = post("/tokenize", {{"content", "Once upon a time"}, {"add_special", false}});
    EXPECT_EQ(t["tokens"], Json::array({403, 407, 261, 378}));
    EXPECT_EQ(t["count"], 4);
    const Json with_bos = post("/tokenize", {{"content", "Once upon a time"}});
    EXPECT_EQ(with_bos["tokens"][0], 1);
    const Json pieces = post("/tokenize", {{"content", "Once"}, {"add_special", false}, {"with_pieces", true}});
    EXPECT_EQ(pieces["tokens"][0]["id"], 403);
    const Json d = post("/detokenize", {{"tokens", Json::array({403, 407, 261, 378})}});
    EXPECT_EQ(d["content"], "Once upon a time");
    const Json bad = post("/detokenize", {{"tokens", Json::array({1, 100000})}}, 400);
    EXPECT_EQ(bad["error"]["param"], "tokens[1]");
}

TEST_F(StoriesServer, UnknownModelIs404AndMissingModelMeansTheDefault) {
    const Json e = post("/v1/chat/completions",
                        {{"model", "gpt-4o"}, {"messages", Json::array({{{"role", "user"}, {"content", "x"}}})}}, 404);
    EXPECT_EQ(e["error"]["code"], "model_not_found");
    EXPECT_EQ(e["error"]["param"], "model");
    Json body = kGreedyPrompt;
    body.erase("model");
    body["max_tokens"] = 2;
    EXPECT_EQ(post("/v1/completions", body)["model"], "stories260K");
}

TEST_F(StoriesServer, BadRequestsAre400WithTheParameterNamed) {
    const Json e1 = post("/v1/chat/completions", {{"messages", "hi"}}, 400);
    EXPECT_EQ(e1["error"]["param"], "messages");
    EXPECT_EQ(e1["error"]["type"], "invalid_request_error");
    const Json e2 = post("/v1/completions", {{"prompt", "x"}, {"temperature", "warm"}}, 400);
    EXPECT_EQ(e2["error"]["param"], "temperature");
    // The engine's own checks come back as 400 too: a token id outside the vocabulary.
    const Json e3 = post("/v1/completions", {{"prompt", Json::array({1, 99999})}}, 400);
    EXPECT_EQ(e3["error"]["param"], "prompt");
    const Json e4 = post("/v1/completions", {{"prompt", "x"}, {"logit_bias", {{"99999", 1}}}}, 400);
    EXPECT_NE(e4["error"]["message"].get<std::string>().find("outside the vocabulary"), std::string::npos);
    // A prompt longer than the context.
    std::string longp;
    for (int i = 0; i < 3000; ++i) longp += "Once upon a time ";
    post("/v1/completions", {{"prompt", longp}}, 400);
    const RawResponse route = http_request(port(), "POST", "/v1/embeddings", "{}");
    EXPECT_EQ(route.status, 404);
    EXPECT_TRUE(Json::parse(route.body).contains("error"));
}

TEST_F(StoriesServer, ClientDisconnectMidStreamFreesItsKvBlocks) {
    ASSERT_TRUE(wait_kv_free(engine()));
    const int64_t generated_before = engine().stats().generated_tokens;
    HttpConnection c(port());
    ASSERT_TRUE(c.ok());
    const Json body = {{"prompt", "Once upon a time"}, {"max_tokens", 1800}, {"ignore_eos", true}, {"stream", true}};
    c.send_request("POST", "/v1/completions", body.dump());
    const RawResponse head = c.read_head();
    ASSERT_EQ(head.status, 200);
    // Content arrives, so the request is running and holds blocks.
    const std::string seen = c.read_until("\"text\":\"");
    ASSERT_NE(seen.find("\"text\":\""), std::string::npos);
    c.close();
    EXPECT_TRUE(wait_kv_free(engine())) << "kv_blocks_used=" << engine().stats().kv_blocks_used;
    // Fewer tokens than asked for were generated: the request was cancelled, not finished.
    EXPECT_LT(engine().stats().generated_tokens - generated_before, 1800);
}

TEST_F(StoriesServer, KeepAliveServesSeveralRequestsOnOneConnection) {
    HttpConnection c(port());
    ASSERT_TRUE(c.ok());
    for (int i = 0; i < 3; ++i) {
        Json body = kGreedyPrompt;
        body["max_tokens"] = 2;
        body["stream"] = i == 1;
        ASSERT_TRUE(c.send_request("POST", "/v1/completions", body.dump(), {}, /*keep_alive=*/true));
        const RawResponse head = c.read_head();
        ASSERT_EQ(head.status, 200) << "request " << i;
        const std::string b = c.read_body(head);
        EXPECT_FALSE(b.empty());
    }
}

// A random-weight model with a Hermes-style template: tools reach the prompt, an
// assistant tool call and its result render for the next turn, and the answer is
// well-formed whatever the random model says.
constexpr const char* kHermesTemplate =
    "{%- if tools %}<|im_start|>system\n# Tools\n<tools>\n{%- for tool in tools %}\n{{ tool | tojson }}"
    "{%- endfor %}\n</tools>\nCall a tool with <tool_call>{\"name\": ..., \"arguments\": ...}</tool_call><|im_end|>\n"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' and message.tool_calls %}<|im_start|>assistant\n"
    "{%- for tc in message.tool_calls %}<tool_call>\n{\"name\": \"{{ tc.function.name }}\", \"arguments\": "
    "{{ tc.function.arguments | tojson }}}\n</tool_call>{%- endfor %}<|im_end|>\n"
    "{%- elif message.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ message.content }}\n</tool_response>"
    "<|im_end|>\n"
    "{%- else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{%- endif %}"
    "{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}";

TEST(RandomModelServer, ToolsReachThePromptAndToolTurnsRender) {
    auto m = random_served_model("tiny-hermes", kHermesTemplate);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    EXPECT_EQ(m.value()->traits.tool_format, ToolCallFormat::hermes);
    auto models = std::make_shared<ModelManager>(nullptr, ModelManagerConfig{});
    ASSERT_TRUE(models->add_loaded(m.value()).is_ok());
    auto server = start_server(models);
    ASSERT_NE(server, nullptr);
    const Json tools = Json::parse(R"([{"type":"function","function":{"name":"get_weather","description":"Weather",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])");
    const Json user = Json::array({{{"role", "user"}, {"content", "Weather in Paris?"}}});
    Json body = {{"model", "tiny-hermes"}, {"messages", user}, {"max_tokens", 8}, {"temperature", 0}};
    RawResponse plain = http_request(server->port(), "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(plain.status, 200) << plain.body;
    body["tools"] = tools;
    RawResponse with_tools = http_request(server->port(), "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(with_tools.status, 200) << with_tools.body;
    const Json a = Json::parse(plain.body);
    const Json b = Json::parse(with_tools.body);
    EXPECT_GT(b["usage"]["prompt_tokens"].get<int>(), a["usage"]["prompt_tokens"].get<int>() + 20);
    const std::string reason = b["choices"][0]["finish_reason"];
    EXPECT_TRUE(reason == "length" || reason == "stop" || reason == "tool_calls") << reason;

    // Second turn: the assistant's call and the tool's answer.
    Json turn2 = user;
    turn2.push_back({{"role", "assistant"},
                     {"content", nullptr},
                     {"tool_calls", Json::array({{{"id", "call_1"},
                                                  {"type", "function"},
                                                  {"function", {{"name", "get_weather"},
                                                                {"arguments", "{\"city\":\"Paris\"}"}}}}})}});
    turn2.push_back({{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "sunny, 21 C"}});
    body["messages"] = turn2;
    body["stream"] = true;
    RawResponse streamed = http_request(server->port(), "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    bool framing = false;
    const auto payloads = sse_payloads(streamed.body, &framing);
    EXPECT_TRUE(framing);
    ASSERT_FALSE(payloads.empty());
    EXPECT_EQ(payloads.back(), "[DONE]");
    EXPECT_TRUE(wait_kv_free(*m.value()->engine));
}

TEST(RandomModelServer, RequestsPickTheModelByName) {
    auto a = random_served_model("tiny-a", "");
    auto b = random_served_model("tiny-b", "");
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    auto models = std::make_shared<ModelManager>(nullptr, ModelManagerConfig{});
    ASSERT_TRUE(models->add_loaded(a.value()).is_ok());
    ASSERT_TRUE(models->add_loaded(b.value()).is_ok());
    auto server = start_server(models);
    ASSERT_NE(server, nullptr);
    const Json list = Json::parse(http_request(server->port(), "GET", "/v1/models").body);
    ASSERT_EQ(list["data"].size(), 2u);
    for (const char* name : {"tiny-b", "tiny-a"}) {
        const Json body = {{"model", name}, {"prompt", "hello"}, {"max_tokens", 2}};
        const RawResponse r = http_request(server->port(), "POST", "/v1/completions", body.dump());
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(Json::parse(r.body)["model"], name);
    }
}

}  // namespace
}  // namespace pagoda::server::test
