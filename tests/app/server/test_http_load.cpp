// Load (label slow): 64 concurrent streaming clients, three rounds, a quarter of them
// hanging up mid-stream. Every other stream completes correctly; afterwards the KV
// cache holds no blocks, and resident memory does not keep growing from round to round.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "server_test_fixture.h"

namespace pagoda::server::test {
namespace {

using Json = nlohmann::json;

int64_t resident_bytes() {
    std::ifstream f("/proc/self/statm");
    int64_t size = 0, resident = 0;
    f >> size >> resident;
    return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

TEST(ServerLoad, SixtyFourStreamsAQuarterDisconnecting) {
    if (!std::filesystem::exists(kStoriesPath)) GTEST_SKIP() << "needs " << kStoriesPath << " (shared/README.md)";
    constexpr int kClients = 64;
    constexpr int kRounds = 3;
    constexpr int kMaxTokens = 48;
    auto models = std::make_shared<ModelManager>(cpu_factory(test_engine_config(kClients, 1024)), ModelManagerConfig{});
    ASSERT_TRUE(models->add_file(kStoriesPath).is_ok());
    ASSERT_TRUE(models->preload("stories260K").is_ok());
    auto server = start_server(models);
    ASSERT_NE(server, nullptr);
    const auto model = models->acquire("stories260K").value();

    std::vector<int64_t> rss;
    for (int round = 0; round < kRounds; ++round) {
        std::atomic<int> completed{0}, hung_up{0}, failures{0};
        std::vector<std::string> errors(kClients);
        std::vector<std::thread> clients;
        for (int i = 0; i < kClients; ++i) {
            clients.emplace_back([&, i] {
                const bool quitter = i % 4 == 0;
                HttpConnection c(server->port());
                if (!c.ok()) {
                    errors[i] = "connect failed";
                    ++failures;
                    return;
                }
                const Json body = {{"prompt", "Once upon a time"},
                                   {"max_tokens", kMaxTokens},
                                   {"ignore_eos", true},
                                   {"temperature", 0.8},
                                   {"seed", round * 1000 + i},
                                   {"stream", true},
                                   {"stream_options", {{"include_usage", true}}}};
                c.send_request("POST", "/v1/completions", body.dump());
                const RawResponse head = c.read_head();
                if (head.status != 200) {
                    errors[i] = "status " + std::to_string(head.status);
                    ++failures;
                    return;
                }
                if (quitter) {
                    c.read_until("\"text\":\"");
                    c.close();
                    ++hung_up;
                    return;
                }
                const std::string raw = c.read_body(head);
                bool framing = false;
                const auto payloads = sse_payloads(raw, &framing);
                if (!framing || payloads.empty() || payloads.back() != "[DONE]") {
                    errors[i] = "bad framing: " + raw.substr(0, 200);
                    ++failures;
                    return;
                }
                const Json usage = Json::parse(payloads[payloads.size() - 2], nullptr, false);
                if (usage.is_discarded() || usage["usage"]["completion_tokens"] != kMaxTokens) {
                    errors[i] = "bad usage: " + payloads[payloads.size() - 2];
                    ++failures;
                    return;
                }
                ++completed;
            });
        }
        for (auto& t : clients) t.join();
        for (int i = 0; i < kClients; ++i) EXPECT_TRUE(errors[i].empty()) << "client " << i << ": " << errors[i];
        EXPECT_EQ(failures.load(), 0);
        EXPECT_EQ(completed.load(), kClients - kClients / 4);
        EXPECT_EQ(hung_up.load(), kClients / 4);
        EXPECT_TRUE(wait_kv_free(*model->engine)) << "round " << round;
        EXPECT_EQ(model->engine->stats().kv_blocks_used, 0);
        rss.push_back(resident_bytes());
    }
    // Allocator noise aside, the last round must not hold much more than the first.
    EXPECT_LT(rss[2] - rss[0], int64_t{64} << 20) << "rss " << rss[0] << " -> " << rss[2];
}

}  // namespace
}  // namespace pagoda::server::test
