// The server's guards, on a random-weight model (no test data needed): API key (401),
// body limit (413), queue limit (429 + Retry-After), CORS, malformed and hostile
// requests (always 4xx, never 5xx or a crash), and the graceful shutdown.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "server_test_fixture.h"

namespace pagoda::server::test {
namespace {

using Json = nlohmann::json;

constexpr const char* kKey = "sekrit-key-123";
const Headers kAuth = {{"Authorization", std::string("Bearer ") + kKey}};

class GuardedServer : public ::testing::Test {
protected:
    void SetUp() override {
        auto m = random_served_model("tiny", "", test_engine_config(), 8192);
        ASSERT_TRUE(m.is_ok()) << m.status().to_string();
        model_ = m.value();
        auto models = std::make_shared<ModelManager>(nullptr, ModelManagerConfig{});
        ASSERT_TRUE(models->add_loaded(model_).is_ok());
        ServerConfig c;
        c.api_key = kKey;
        c.max_body_bytes = 4096;
        c.api.limits.max_body_bytes = 4096;
        c.api.max_active_requests = 1;
        c.allowed_origins = {"http://ok.example"};
        c.shutdown_grace_s = 0.0;
        server_ = start_server(models, c);
        ASSERT_NE(server_, nullptr);
    }
    int port() const { return server_->port(); }
    RawResponse post(const std::string& path, const std::string& body, Headers h = kAuth) {
        return http_request(port(), "POST", path, body, h);
    }
    // The admission slot of a finished request is given back just after its last byte is
    // sent, so with room for one request a client can see 429 if it posts again at once.
    void wait_until_no_request_runs() {
        for (int i = 0; i < 500 && server_->server->api().registry().active() > 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    static void expect_openai_error(const RawResponse& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        const Json j = Json::parse(r.body, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << r.body;
        ASSERT_TRUE(j.contains("error")) << r.body;
        EXPECT_TRUE(j["error"]["message"].is_string());
        EXPECT_TRUE(j["error"]["type"].is_string());
        EXPECT_TRUE(j["error"].contains("param"));
        EXPECT_TRUE(j["error"].contains("code"));
    }

    std::shared_ptr<ServedModel> model_;
    std::unique_ptr<RunningServer> server_;
};

const std::string kSmallChat = R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})";

TEST_F(GuardedServer, ApiKeyIsRequiredEverywhereButHealth) {
    expect_openai_error(post("/v1/chat/completions", kSmallChat, {}), 401);
    expect_openai_error(post("/v1/chat/completions", kSmallChat, {{"Authorization", "Bearer wrong"}}), 401);
    expect_openai_error(post("/v1/chat/completions", kSmallChat, {{"Authorization", std::string("Bearer ") + kKey + "x"}}),
                        401);
    expect_openai_error(post("/v1/chat/completions", kSmallChat, {{"Authorization", kKey}}), 401);
    expect_openai_error(http_request(port(), "GET", "/v1/models"), 401);
    expect_openai_error(post("/tokenize", R"({"content":"x"})", {}), 401);
    EXPECT_EQ(Json::parse(post("/v1/chat/completions", kSmallChat).body)["object"], "chat.completion");
    EXPECT_EQ(http_request(port(), "GET", "/v1/models", "", kAuth).status, 200);
    EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
    // The scheme is case-insensitive, as in RFC 9110.
    wait_until_no_request_runs();
    EXPECT_EQ(post("/v1/chat/completions", kSmallChat, {{"Authorization", std::string("bearer ") + kKey}}).status, 200);
}

TEST_F(GuardedServer, BodiesOverTheLimitAre413) {
    const std::string big = R"({"messages":[{"role":"user","content":")" + std::string(10000, 'x') + R"("}]})";
    expect_openai_error(post("/v1/chat/completions", big), 413);
    // A Content-Length that announces far more than the limit is refused without reading it.
    const RawResponse lie = http_raw(port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                                 std::string(kKey) +
                                                 "\r\nContent-Type: application/json\r\nContent-Length: "
                                                 "99999999999\r\nConnection: close\r\n\r\n{\"prompt\":");
    EXPECT_EQ(lie.status, 413);
}

TEST_F(GuardedServer, QueueLimitGives429WithRetryAfter) {
    HttpConnection running(port());
    ASSERT_TRUE(running.ok());
    const Json body = {{"prompt", "a"}, {"max_tokens", 8000}, {"ignore_eos", true}, {"stream", true}};
    running.send_request("POST", "/v1/completions", body.dump(), kAuth);
    ASSERT_EQ(running.read_head().status, 200);
    const RawResponse busy = post("/v1/completions", R"({"prompt":"b","max_tokens":2})");
    expect_openai_error(busy, 429);
    EXPECT_EQ(busy.headers.count("retry-after"), 1u);
    running.close();
    // The hung-up stream gives its place back.
    for (int i = 0; i < 3000 && server_->server->api().registry().active() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(post("/v1/completions", R"({"prompt":"b","max_tokens":2})").status, 200);
    EXPECT_TRUE(wait_kv_free(*model_->engine));
}

TEST_F(GuardedServer, CorsOnlyForAllowedOrigins) {
    RawResponse ok = http_request(port(), "GET", "/v1/models", "", {kAuth[0], {"Origin", "http://ok.example"}});
    EXPECT_EQ(ok.headers["access-control-allow-origin"], "http://ok.example");
    const RawResponse other = http_request(port(), "GET", "/v1/models", "", {kAuth[0], {"Origin", "http://evil.example"}});
    EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
    RawResponse preflight =
        http_request(port(), "OPTIONS", "/v1/chat/completions", "",
                     {{"Origin", "http://ok.example"}, {"Access-Control-Request-Headers", "authorization,content-type"}});
    EXPECT_EQ(preflight.status, 204);
    EXPECT_EQ(preflight.headers["access-control-allow-origin"], "http://ok.example");
    EXPECT_NE(preflight.headers["access-control-allow-methods"].find("POST"), std::string::npos);
}

TEST_F(GuardedServer, HostileRequestsAreAlways4xx) {
    std::vector<std::string> bodies = {
        "",
        "{",
        "null",
        "[]",
        "\"str\"",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":1e308}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":-1e308}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":1e999}",
        "{\"prompt\":[1,2,3],\"logit_bias\":{\"1\":null,\"x\":1}}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":{}}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
        "{\"tokens\":[-1]}",
        "{\"content\":{\"a\":1}}",
        "\xff\xfe\x00\x01",
        std::string(4000, '['),
        std::string(2000, '{'),
        "{\"a\":" + std::string(3000, '[') + std::string(3000, ']') + "}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[" + std::string(100, '"') + "]}",
    };
    for (const char* path : {"/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize"}) {
        for (const std::string& b : bodies) {
            const RawResponse r = post(path, b);
            // /tokenize takes a chat body as "messages" and ignores sampling fields: those two are fine there.
            const bool valid_there = std::string(path) == "/tokenize" && b.find("\"x\"}],\"") != std::string::npos &&
                                     b.find("\"text\":{}") == std::string::npos;
            if (!valid_there) {
                EXPECT_GE(r.status, 400) << path << " " << b.substr(0, 80) << " -> " << r.body;
            }
            EXPECT_LT(r.status, 500) << path << " " << b.substr(0, 80) << " -> " << r.body;
        }
    }
    // Broken HTTP itself.
    for (const std::string& raw : {std::string("GARBAGE\r\n\r\n"), std::string("POST /v1/completions HTTP/1.1\r\n"
                                                                                 "Content-Length: abc\r\n\r\n"),
                                  "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n"}) {
        const RawResponse r = http_raw(port(), raw);
        if (r.status != 0) {  // httplib may also just close the connection
            EXPECT_GE(r.status, 400);
            EXPECT_LT(r.status, 500);
        }
    }
    // Still serving.
    wait_until_no_request_runs();
    EXPECT_EQ(post("/v1/chat/completions", kSmallChat).status, 200);
}

TEST(ServerShutdown, StopsAcceptingAndEndsRunningStreamsCleanly) {
    auto m = random_served_model("tiny", "", test_engine_config(), 8192);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    auto models = std::make_shared<ModelManager>(nullptr, ModelManagerConfig{});
    ASSERT_TRUE(models->add_loaded(m.value()).is_ok());
    ServerConfig c;
    c.shutdown_grace_s = 0.2;
    c.keep_alive_timeout_s = 1;
    auto server = start_server(models, c);
    ASSERT_NE(server, nullptr);
    const int port = server->port();

    HttpConnection running(port);
    const Json body = {{"prompt", "a"}, {"max_tokens", 8000}, {"ignore_eos", true}, {"stream", true}};
    running.send_request("POST", "/v1/completions", body.dump());
    const RawResponse head = running.read_head();
    ASSERT_EQ(head.status, 200);
    running.read_until("\"text\"");

    server->server->request_shutdown();
    const std::string rest = running.read_body(head);
    // The stream ends with a finish chunk and [DONE], and the chunked body is terminated.
    ASSERT_GE(rest.size(), 14u);
    EXPECT_EQ(rest.substr(rest.size() - 14), "data: [DONE]\n\n");
    EXPECT_NE(rest.find("\"finish_reason\":\"length\""), std::string::npos);

    server->server->wait();
    EXPECT_EQ(http_request(port, "GET", "/health").status, 0);  // nobody listens any more
    EXPECT_TRUE(wait_kv_free(*m.value()->engine));
}

}  // namespace
}  // namespace pagoda::server::test
