// What one replica shows a load balancer, on a random-weight model: the x-pagoda-replica
// header, the replica label in /metrics, liveness (/health/live) vs readiness (/health,
// /health/ready) while loading and while draining, and the 503 + Retry-After a draining
// replica gives a request that arrives on a connection kept open (nginx retries it elsewhere).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "server_test_fixture.h"

namespace pagoda::server::test {
namespace {

using Json = nlohmann::json;

std::unique_ptr<RunningServer> replica_server(ServerConfig c) {
    auto m = random_served_model("tiny", "", test_engine_config(), 1024);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    if (!m.is_ok()) return nullptr;
    auto models = std::make_shared<ModelManager>(nullptr, ModelManagerConfig{});
    EXPECT_TRUE(models->add_loaded(m.value()).is_ok());
    return start_server(models, c);
}

const std::string kCompletion = R"({"prompt":"a","max_tokens":2})";

TEST(ReplicaHealth, ReplicaIdInHeaderHealthAndMetrics) {
    ServerConfig c;
    c.replica_id = "east-1";
    auto s = replica_server(c);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->server->replica_id(), "east-1");

    const RawResponse r = http_request(s->port(), "POST", "/v1/completions", kCompletion);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.at("x-pagoda-replica"), "east-1");
    EXPECT_EQ(http_request(s->port(), "GET", "/nowhere").headers.at("x-pagoda-replica"), "east-1");

    const RawResponse h = http_request(s->port(), "GET", "/health/live");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(Json::parse(h.body)["replica"], "east-1");

    // A request is counted just after its last byte went out: poll a little.
    const std::string counted =
        "pagoda_requests_total{replica=\"east-1\",endpoint=\"/v1/completions\",status=\"200\"} 1";
    std::string metrics;
    for (int i = 0; i < 200; ++i) {
        metrics = http_request(s->port(), "GET", "/metrics").body;
        if (metrics.find(counted) != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_NE(metrics.find("pagoda_replica_info{replica=\"east-1\"} 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(counted), std::string::npos) << metrics;
}

TEST(ReplicaHealth, DefaultReplicaIdIsHostAndPort) {
    auto s = replica_server(ServerConfig{});
    ASSERT_NE(s, nullptr);
    const std::string id = s->server->replica_id();
    const std::string suffix = ":" + std::to_string(s->port());
    ASSERT_GT(id.size(), suffix.size());
    EXPECT_EQ(id.substr(id.size() - suffix.size()), suffix);
}

TEST(ReplicaHealth, NotReadyWhileLoadingButAlive) {
    ServerConfig c;
    c.start_ready = false;
    auto s = replica_server(c);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(http_request(s->port(), "GET", "/health/live").status, 200);
    const RawResponse ready = http_request(s->port(), "GET", "/health/ready");
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(Json::parse(ready.body)["status"], "loading");
    EXPECT_EQ(http_request(s->port(), "GET", "/health").status, 503);
    const RawResponse gen = http_request(s->port(), "POST", "/v1/completions", kCompletion);
    EXPECT_EQ(gen.status, 503);
    EXPECT_EQ(gen.headers.count("retry-after"), 1u);
    EXPECT_EQ(http_request(s->port(), "GET", "/v1/models").status, 200);  // listing needs no model

    s->server->set_ready(true);
    EXPECT_EQ(http_request(s->port(), "GET", "/health/ready").status, 200);
    EXPECT_EQ(http_request(s->port(), "POST", "/v1/completions", kCompletion).status, 200);
}

TEST(ReplicaHealth, DrainingAnswers503WithRetryAfterAndFinishesStreams) {
    ServerConfig c;
    c.shutdown_grace_s = 30.0;
    c.keep_alive_timeout_s = 1;  // idle keep-alive loops end sooner once stopped
    auto s = replica_server(c);
    ASSERT_NE(s, nullptr);
    const int port = s->port();

    // A connection kept open (as nginx keeps its upstream connections), and a stream running.
    HttpConnection idle(port);
    ASSERT_TRUE(idle.send_request("GET", "/health/ready", "", {}, /*keep_alive=*/true));
    const RawResponse first = idle.read_head();
    ASSERT_EQ(first.status, 200);
    idle.read_body(first);

    HttpConnection running(port);
    const Json body = {{"prompt", "a"}, {"max_tokens", 300}, {"ignore_eos", true}, {"stream", true}};
    running.send_request("POST", "/v1/completions", body.dump());
    const RawResponse head = running.read_head();
    ASSERT_EQ(head.status, 200);
    running.read_until("\"text\"");

    s->server->request_shutdown();
    // New requests on the open connection: 503 at once, with Retry-After, nothing run.
    ASSERT_TRUE(idle.send_request("POST", "/v1/completions", kCompletion, {}, true));
    const RawResponse refused = idle.read_head();
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.headers.count("retry-after"), 1u);
    idle.read_body(refused);
    // The running stream is not cut short: it reaches its max_tokens.
    const std::string rest = running.read_body(head);
    EXPECT_NE(rest.find("\"finish_reason\":\"length\""), std::string::npos);
    ASSERT_GE(rest.size(), 14u);
    EXPECT_EQ(rest.substr(rest.size() - 14), "data: [DONE]\n\n");
    s->server->wait();
}

}  // namespace
}  // namespace pagoda::server::test
