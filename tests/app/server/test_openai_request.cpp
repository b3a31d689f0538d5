// Request parsing: every field the API takes, wrong types and values named in a 400,
// unknown fields ignored, nulls as absent, and the body guards (size, depth).
#include <gtest/gtest.h>

#include <string>

#include "grammar/grammar.h"
#include "server/openai_request.h"
#include "server/prompt_builder.h"

namespace pagoda::server {
namespace {

using Json = nlohmann::ordered_json;

ApiResult<ChatCompletionRequest> chat(const std::string& body) { return parse_chat_completion_request(body); }
ApiResult<CompletionRequest> completion(const std::string& body) { return parse_completion_request(body); }

// A minimal valid chat body with `extra` fields merged in.
std::string chat_body(const std::string& extra = "") {
    std::string b = R"({"model":"m","messages":[{"role":"user","content":"hi"}])";
    if (!extra.empty()) b += "," + extra;
    return b + "}";
}

void expect_param_error(const ApiError& e, const std::string& param) {
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.param, param) << e.message;
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_NE(e.message.find(param), std::string::npos) << e.message;
}

TEST(OpenAiChatRequest, ParsesEveryField) {
    auto r = chat(chat_body(R"("temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,"repetition_penalty":1.1,
        "presence_penalty":0.5,"frequency_penalty":-0.5,"logit_bias":{"42":-100,"7":5.5},"seed":123,
        "max_tokens":10,"stop":["a","bb"],"n":3,"stream":true,"stream_options":{"include_usage":true},
        "logprobs":true,"top_logprobs":4,"user":"x","unknown_field":{"deep":[1,2]})"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const ChatCompletionRequest& c = r.value();
    EXPECT_EQ(c.model, "m");
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0]["role"], "user");
    EXPECT_EQ(c.messages[0]["content"], "hi");
    EXPECT_FLOAT_EQ(*c.sampling.temperature, 0.5f);
    EXPECT_FLOAT_EQ(*c.sampling.top_p, 0.9f);
    EXPECT_EQ(*c.sampling.top_k, 40);
    EXPECT_FLOAT_EQ(*c.sampling.min_p, 0.05f);
    EXPECT_FLOAT_EQ(*c.sampling.repetition_penalty, 1.1f);
    EXPECT_FLOAT_EQ(c.sampling.presence_penalty, 0.5f);
    EXPECT_FLOAT_EQ(c.sampling.frequency_penalty, -0.5f);
    ASSERT_EQ(c.sampling.logit_bias.size(), 2u);
    EXPECT_EQ(c.sampling.logit_bias[0].first, 42);
    EXPECT_FLOAT_EQ(c.sampling.logit_bias[0].second, -100.0f);
    EXPECT_EQ(c.sampling.logit_bias[1].first, 7);
    EXPECT_EQ(*c.sampling.seed, 123u);
    EXPECT_EQ(*c.sampling.max_tokens, 10);
    EXPECT_EQ(c.sampling.stop, (std::vector<std::string>{"a", "bb"}));
    EXPECT_EQ(c.sampling.n, 3);
    EXPECT_TRUE(c.sampling.stream);
    EXPECT_TRUE(c.sampling.include_usage);
    EXPECT_TRUE(c.logprobs);
    EXPECT_EQ(c.top_logprobs, 4);
}

TEST(OpenAiChatRequest, DefaultsWhenAbsentOrNull) {
    auto r = chat(chat_body(R"("temperature":null,"max_tokens":null,"stop":null,"tools":null,"seed":null)"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->sampling.temperature);
    EXPECT_FALSE(r->sampling.max_tokens);
    EXPECT_FALSE(r->sampling.seed);
    EXPECT_TRUE(r->sampling.stop.empty());
    EXPECT_EQ(r->sampling.n, 1);
    EXPECT_FALSE(r->sampling.stream);
    EXPECT_TRUE(r->tools.is_null());
}

TEST(OpenAiChatRequest, MaxCompletionTokensWinsAndStopMayBeAString) {
    auto r = chat(chat_body(R"("max_tokens":5,"max_completion_tokens":9,"stop":"END")"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r->sampling.max_tokens, 9);
    EXPECT_EQ(r->sampling.stop, std::vector<std::string>{"END"});
}

TEST(OpenAiChatRequest, IntegralDecimalsAreIntegersButFractionsAreNot) {
    auto r = chat(chat_body(R"("max_tokens":12.0)"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r->sampling.max_tokens, 12);
    auto bad = chat(chat_body(R"("max_tokens":12.5)"));
    ASSERT_FALSE(bad.ok());
    expect_param_error(bad.error(), "max_tokens");
}

TEST(OpenAiChatRequest, WrongTypesNameTheParameter) {
    const std::pair<const char*, const char*> cases[] = {
        {R"("temperature":"hot")", "temperature"},
        {R"("top_p":[1])", "top_p"},
        {R"("max_tokens":"10")", "max_tokens"},
        {R"("n":true)", "n"},
        {R"("stream":"yes")", "stream"},
        {R"("stop":5)", "stop"},
        {R"("stop":["a",3])", "stop[1]"},
        {R"("logit_bias":[1])", "logit_bias"},
        {R"("logit_bias":{"1":"x"})", "logit_bias.1"},
        {R"("seed":"1")", "seed"},
        {R"("logprobs":1)", "logprobs"},
        {R"("tools":{})", "tools"},
        {R"("stream":true,"stream_options":[])", "stream_options"},
        {R"("stream":true,"stream_options":{"include_usage":1})", "stream_options.include_usage"},
        {R"("model":5)", "model"},
    };
    for (const auto& [extra, param] : cases) {
        auto r = chat(chat_body(extra));
        ASSERT_FALSE(r.ok()) << extra;
        expect_param_error(r.error(), param);
    }
}

TEST(OpenAiChatRequest, OutOfRangeValuesNameTheParameter) {
    const std::pair<const char*, const char*> cases[] = {
        {R"("temperature":2.5)", "temperature"},
        {R"("temperature":-0.1)", "temperature"},
        {R"("top_p":1.5)", "top_p"},
        {R"("presence_penalty":3)", "presence_penalty"},
        {R"("frequency_penalty":-2.5)", "frequency_penalty"},
        {R"("max_tokens":0)", "max_tokens"},
        {R"("max_tokens":-5)", "max_tokens"},
        {R"("max_tokens":99999999999)", "max_tokens"},
        {R"("n":0)", "n"},
        {R"("n":100000)", "n"},
        {R"("logprobs":true,"top_logprobs":21)", "top_logprobs"},
        {R"("top_logprobs":2)", "top_logprobs"},  // needs logprobs
        {R"("logit_bias":{"abc":1})", "logit_bias"},
        {R"("logit_bias":{"-1":1})", "logit_bias"},
        {R"("logit_bias":{"5":101})", "logit_bias.5"},
        {R"("stop":[""])", "stop[0]"},
        {R"("stream_options":{"include_usage":true})", "stream_options"},  // without stream
        {R"("response_format":{"type":"json_schema"})", "response_format"},
        {R"("tool_choice":"sometimes")", "tool_choice"},
        {R"("tool_choice":"required")", "tool_choice"},  // no tools
    };
    for (const auto& [extra, param] : cases) {
        auto r = chat(chat_body(extra));
        ASSERT_FALSE(r.ok()) << extra;
        expect_param_error(r.error(), param);
    }
}

TEST(OpenAiChatRequest, MessagesAreValidatedAndNormalized) {
    auto r = chat(R"({"messages":[
        {"role":"developer","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
            "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
        {"role":"tool","tool_call_id":"call_1","content":"sunny"}]})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const Json& m = r->messages;
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[0]["role"], "system");  // developer -> system
    ASSERT_TRUE(m[1]["content"].is_array());
    EXPECT_EQ(m[1]["content"][1]["text"], "b");
    EXPECT_EQ(m[2]["content"], "");  // null content: "" for the templates
    // Arguments become a mapping for the template's tojson.
    EXPECT_EQ(m[2]["tool_calls"][0]["function"]["arguments"]["city"], "Paris");
    EXPECT_EQ(m[3]["tool_call_id"], "call_1");
    EXPECT_TRUE(r->model.empty());
}

TEST(OpenAiChatRequest, BadMessagesNameThePlace) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"messages":"hi"})", "messages"},
        {R"({"messages":[]})", "messages"},
        {R"({})", "messages"},
        {R"({"messages":[5]})", "messages[0]"},
        {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
        {R"({"messages":[{"role":"wizard","content":"x"}]})", "messages[0].role"},
        {R"({"messages":[{"role":"user"}]})", "messages[0].content"},
        {R"({"messages":[{"role":"user","content":7}]})", "messages[0].content"},
        {R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})", "messages[0].content[0].text"},
        {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})",
         "messages[0].content[0].type"},
        {R"({"messages":[{"role":"user","content":"x"},{"role":"user","content":"y","name":3}]})", "messages[1].name"},
        {R"({"messages":[{"role":"user","content":"x","tool_calls":[]}]})", "messages[0].tool_calls"},
        {R"({"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"{}"}}]}]})",
         "messages[0].tool_calls[0].function.name"},
    };
    for (const auto& [body, param] : cases) {
        auto r = chat(body);
        ASSERT_FALSE(r.ok()) << body;
        expect_param_error(r.error(), param);
    }
}

TEST(OpenAiChatRequest, ToolsAndToolChoice) {
    const std::string tools =
        R"("tools":[{"type":"function","function":{"name":"get_weather","description":"d",
            "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])";
    auto r = chat(chat_body(tools + R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->tools.is_array());
    EXPECT_EQ(r->tools[0]["function"]["name"], "get_weather");
    EXPECT_EQ(r->tool_choice.mode, ToolChoiceMode::function);
    EXPECT_EQ(r->tool_choice.function, "get_weather");

    auto none = chat(chat_body(tools + R"(,"tool_choice":"none")"));
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->tool_choice.mode, ToolChoiceMode::none);

    auto unknown = chat(chat_body(tools + R"(,"tool_choice":{"type":"function","function":{"name":"nope"}})"));
    ASSERT_FALSE(unknown.ok());
    expect_param_error(unknown.error(), "tool_choice.function.name");

    auto bad = chat(chat_body(R"("tools":[{"type":"function","function":{"name":"f","parameters":"x"}}])"));
    ASSERT_FALSE(bad.ok());
    expect_param_error(bad.error(), "tools[0].function.parameters");
}

TEST(OpenAiChatRequest, SeedTakesTheWholeIntegerRange) {
    auto big = chat(chat_body(R"("seed":18446744073709551615)"));
    ASSERT_TRUE(big.ok());
    EXPECT_EQ(*big->sampling.seed, UINT64_MAX);
    auto neg = chat(chat_body(R"("seed":-1)"));
    ASSERT_TRUE(neg.ok());
    EXPECT_EQ(*neg->sampling.seed, UINT64_MAX);
}

TEST(OpenAiCompletionRequest, PromptShapes) {
    auto text = completion(R"({"prompt":"Once"})");
    ASSERT_TRUE(text.ok());
    ASSERT_EQ(text->prompts.size(), 1u);
    EXPECT_FALSE(text->prompts[0].is_tokens);
    EXPECT_EQ(text->prompts[0].text, "Once");

    auto texts = completion(R"({"prompt":["a","b"],"n":2})");
    ASSERT_TRUE(texts.ok());
    EXPECT_EQ(texts->prompts.size(), 2u);
    EXPECT_EQ(texts->sampling.n, 2);

    auto ids = completion(R"({"prompt":[1,403,407]})");
    ASSERT_TRUE(ids.ok());
    ASSERT_EQ(ids->prompts.size(), 1u);
    EXPECT_TRUE(ids->prompts[0].is_tokens);
    EXPECT_EQ(ids->prompts[0].tokens, (std::vector<TokenId>{1, 403, 407}));

    auto id_lists = completion(R"({"prompt":[[1,2],[3]]})");
    ASSERT_TRUE(id_lists.ok());
    ASSERT_EQ(id_lists->prompts.size(), 2u);
    EXPECT_EQ(id_lists->prompts[1].tokens, std::vector<TokenId>{3});
}

TEST(OpenAiCompletionRequest, FieldsAndErrors) {
    auto r = completion(R"({"prompt":"x","echo":true,"logprobs":3,"suffix":"end","max_tokens":4,"best_of":1})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->echo);
    EXPECT_EQ(*r->logprobs, 3);
    EXPECT_EQ(*r->suffix, "end");

    const std::pair<const char*, const char*> cases[] = {
        {R"({})", "prompt"},
        {R"({"prompt":5})", "prompt"},
        {R"({"prompt":[]})", "prompt"},
        {R"({"prompt":[1,-2]})", "prompt[1]"},
        {R"({"prompt":[1,"a"]})", "prompt[1]"},
        {R"({"prompt":["a",5]})", "prompt[1]"},
        {R"({"prompt":[[1],[]]})", "prompt[1]"},
        {R"({"prompt":"x","logprobs":true})", "logprobs"},
        {R"({"prompt":"x","logprobs":50})", "logprobs"},
        {R"({"prompt":"x","echo":"yes"})", "echo"},
        {R"({"prompt":"x","best_of":3})", "best_of"},
        {R"({"prompt":["a","b"],"suffix":"s"})", "suffix"},
    };
    for (const auto& [body, param] : cases) {
        auto e = completion(body);
        ASSERT_FALSE(e.ok()) << body;
        expect_param_error(e.error(), param);
    }
}

TEST(OpenAiRequestBody, MalformedJsonIsA400) {
    for (const char* body : {"", "{", "{\"messages\":", "not json", "{\"a\":1,}", "\xff\xfe", "[1,2", "{\"s\":\"\xc3\"}"}) {
        auto r = chat(body);
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_EQ(r.error().status, 400);
        EXPECT_TRUE(r.error().param.empty());
    }
}

TEST(OpenAiRequestBody, NonObjectBodiesAreRefused) {
    for (const char* body : {"[]", "5", "\"x\"", "null", "true"}) {
        auto r = chat(body);
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_EQ(r.error().status, 400);
    }
}

TEST(OpenAiRequestBody, DeepNestingIsRefusedBeforeParsing) {
    const std::string deep(1'000'000, '[');
    auto r = chat(deep);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 400);
    EXPECT_NE(r.error().message.find("deeper"), std::string::npos) << r.error().message;

    // Brackets inside strings do not count.
    auto ok = chat(chat_body("\"user\":\"" + std::string(500, '[') + "\""));
    EXPECT_TRUE(ok.ok());

    // Nesting within the limit is fine even in an ignored field.
    std::string nested = "\"x\":";
    for (int i = 0; i < 60; ++i) nested += "[";
    for (int i = 0; i < 60; ++i) nested += "]";
    EXPECT_TRUE(chat(chat_body(nested)).ok());
}

TEST(OpenAiRequestBody, OversizedBodyIs413) {
    ParseLimits limits;
    limits.max_body_bytes = 100;
    auto r = parse_chat_completion_request(chat_body("\"user\":\"" + std::string(200, 'x') + "\""), limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 413);
}

TEST(OpenAiTokenizeRequest, ContentPromptOrMessages) {
    auto a = parse_tokenize_request(R"({"content":"hello","add_special":false,"with_pieces":true})");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a->text, "hello");
    EXPECT_FALSE(a->add_special);
    EXPECT_TRUE(a->with_pieces);
    auto b = parse_tokenize_request(R"({"prompt":"hi","add_special_tokens":false})");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b->text, "hi");
    EXPECT_FALSE(b->add_special);
    auto c = parse_tokenize_request(R"({"messages":[{"role":"user","content":"x"}]})");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->messages.size(), 1u);
    auto d = parse_tokenize_request(R"({})");
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().status, 400);
    auto e = parse_tokenize_request(R"({"content":5})");
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().param, "content");
}

TEST(OpenAiDetokenizeRequest, TokenIds) {
    auto a = parse_detokenize_request(R"({"tokens":[1,2,3]})");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->tokens, (std::vector<TokenId>{1, 2, 3}));
    auto b = parse_detokenize_request(R"({"tokens":[1,"x"]})");
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().param, "tokens[1]");
    auto c = parse_detokenize_request(R"({"tokens":[4294967296]})");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().param, "tokens[0]");
}

TEST(OpenAiError, ShapeMatchesOpenAi) {
    const Json j = invalid_param("temperature", "bad").to_json();
    ASSERT_TRUE(j.contains("error"));
    EXPECT_EQ(j["error"]["message"], "bad");
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
    EXPECT_EQ(j["error"]["param"], "temperature");
    EXPECT_TRUE(j["error"]["code"].is_null());
    const Json nf = model_not_found("x").to_json();
    EXPECT_EQ(nf["error"]["code"], "model_not_found");
    EXPECT_EQ(model_not_found("x").status, 404);
    EXPECT_EQ(unauthorized().status, 401);
    EXPECT_EQ(too_many_requests("busy").status, 429);
}

// Refusals by the engine at submit: an adapter that is no longer loaded is a model that
// does not exist (404); anything else about the request is a 400 naming the parameter.
TEST(SubmitError, AnUnloadedAdapterIsModelNotFoundOtherRefusalsNameTheParameter) {
    const ApiError gone = submit_error(not_found("no LoRA adapter with id 3 is loaded"), "messages");
    EXPECT_EQ(gone.status, 404);
    EXPECT_EQ(gone.code, "model_not_found");
    EXPECT_EQ(gone.param, "model");
    EXPECT_NE(gone.message.find("no LoRA adapter with id 3 is loaded"), std::string::npos) << gone.message;

    const ApiError bad = submit_error(invalid_argument("token id 99999 is outside the vocabulary"), "prompt[1]");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.param, "prompt[1]");
    EXPECT_EQ(submit_error(internal_error("the engine stopped"), "prompt").status, 503);
}

TEST(OpenAiRequestGrammar, ResponseFormatAndGrammarCompileToTheOutputGrammar) {
    auto text = chat(chat_body(R"("response_format":{"type":"text"})"));
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_EQ(text->sampling.grammar, nullptr) << "free text";

    auto object = chat(chat_body(R"("response_format":{"type":"json_object"})"));
    ASSERT_TRUE(object.ok()) << object.error().message;
    EXPECT_NE(object->sampling.grammar, nullptr);

    auto schema = chat(chat_body(R"("response_format":{"type":"json_schema","json_schema":{"name":"person",
        "strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],
        "additionalProperties":false}}})"));
    ASSERT_TRUE(schema.ok()) << schema.error().message;
    ASSERT_NE(schema->sampling.grammar, nullptr);
    EXPECT_NE(grammar::grammar_source(*schema->sampling.grammar).find("name"), std::string::npos);
    EXPECT_EQ(to_sampling_params(schema->sampling, -1, false, 0).grammar, schema->sampling.grammar);

    auto gbnf = completion(R"({"prompt":"Once","grammar":"root ::= \"yes\" | \"no\""})");
    ASSERT_TRUE(gbnf.ok()) << gbnf.error().message;
    EXPECT_NE(gbnf->sampling.grammar, nullptr);
    auto null_grammar = completion(R"({"prompt":"Once","grammar":null})");
    ASSERT_TRUE(null_grammar.ok());
    EXPECT_EQ(null_grammar->sampling.grammar, nullptr);
}

TEST(OpenAiRequestGrammar, BadSchemasAndGrammarsNameTheirParameter) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"("response_format":{"type":"json_schema"})", "response_format"},
        {R"("response_format":{"type":"json_schema","json_schema":{"name":"x"}})", "response_format"},
        {R"("response_format":{"type":"json_schema","json_schema":{"name":"x",
            "schema":{"type":"string","pattern":"^a+$"}}})", "response_format"},
        {R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"tuple"}}})",
         "response_format"},
        {R"("response_format":{"type":"json_schema","json_schema":"x"})", "response_format.json_schema"},
        {R"("response_format":{"type":"xml"})", "response_format.type"},
        {R"("grammar":"root ::= (\"a\"")", "grammar"},
        {R"("grammar":"root ::= other")", "grammar"},
        {R"("grammar":"start ::= \"a\"")", "grammar"},
        {R"("grammar":"root ::= root \"a\"")", "grammar"},
        {R"("grammar":5)", "grammar"},
        {R"("grammar":"root ::= \"a\"","response_format":{"type":"json_object"})", "grammar"},
    };
    for (const auto& [extra, param] : cases) {
        auto r = chat(chat_body(extra));
        ASSERT_FALSE(r.ok()) << extra;
        expect_param_error(r.error(), param);
    }
}

}  // namespace
}  // namespace pagoda::server
