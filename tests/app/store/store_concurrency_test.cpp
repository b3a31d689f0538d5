// Many threads calling one Store at once (the GUI thread, engine sinks streaming several
// replies, HTTP handlers), and two Stores (two app instances) sharing one file.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store_test_util.h"

namespace pagoda::store {
namespace {

using test::get_ok;
using test::TempDir;

TEST(StoreConcurrency, ManyThreadsCreateStreamAndRead) {
    TempDir dir;
    auto store = test::open_store(dir / "c.db");
    ASSERT_TRUE(store);
    constexpr int kThreads = 8;
    constexpr int kSessionsPerThread = 5;
    constexpr int kTokens = 50;
    std::atomic<int> failures{0};

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int s = 0; s < kSessionsPerThread; ++s) {
                std::string title = "t" + std::to_string(t) + "s" + std::to_string(s);
                Result<int64_t> session = store->create_session({.title = title}).get();
                if (!session) {
                    ++failures;
                    continue;
                }
                Result<int64_t> question = store->add_message({.session_id = *session, .content = "Q " + title}).get();
                Result<int64_t> reply =
                    store->add_message({.session_id = *session, .role = Role::assistant, .completed = false}).get();
                if (!question || !reply) {
                    ++failures;
                    continue;
                }
                for (int i = 0; i < kTokens; ++i) {
                    store->append_to_message(*reply, "[" + std::to_string(i) + "]");
                    if (i % 10 == 0 && !store->list_sessions().get().is_ok()) ++failures;
                }
                if (!store->finish_message(*reply, {.completion_tokens = kTokens}).get().is_ok()) ++failures;
                if (!store->set_session_setting(*session, "owner", std::to_string(t)).get().is_ok()) ++failures;
                if (!store->set_setting("last/" + std::to_string(t), title).get().is_ok()) ++failures;
            }
        });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_EQ(failures.load(), 0);

    std::string expected_reply;
    for (int i = 0; i < kTokens; ++i) expected_reply += "[" + std::to_string(i) + "]";
    std::vector<Session> sessions = get_ok(store->list_sessions());
    ASSERT_EQ(sessions.size(), static_cast<size_t>(kThreads * kSessionsPerThread));
    for (const Session& s : sessions) {
        std::vector<Message> path = get_ok(store->active_path(s.id));
        ASSERT_EQ(path.size(), 2u) << s.title;
        EXPECT_EQ(path[0].content, "Q " + s.title);
        EXPECT_EQ(path[1].content, expected_reply) << s.title;  // no interleaving across replies
        EXPECT_TRUE(path[1].completed);
        EXPECT_EQ(path[1].stats.completion_tokens, kTokens);
    }
    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(get_ok(store->get_setting("last/" + std::to_string(t))),
                  std::optional<std::string>("t" + std::to_string(t) + "s" + std::to_string(kSessionsPerThread - 1)));
    }
    EXPECT_LT(store->counters().flushes, store->counters().appends);
}

TEST(StoreConcurrency, TwoStoresOnOneFile) {
    TempDir dir;
    auto first = test::open_store(dir / "shared.db");
    auto second = test::open_store(dir / "shared.db");
    ASSERT_TRUE(first && second);
    std::atomic<int> failures{0};
    auto writer = [&failures](Store* store, const std::string& prefix) {
        for (int i = 0; i < 40; ++i) {
            Result<int64_t> s = store->create_session({.title = prefix + std::to_string(i)}).get();
            if (!s || !store->add_message({.session_id = *s, .content = "x"}).get().is_ok()) ++failures;
        }
    };
    std::thread a(writer, first.get(), "a");
    std::thread b(writer, second.get(), "b");
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(get_ok(first->list_sessions()).size(), 80u);
    EXPECT_EQ(get_ok(second->list_sessions()).size(), 80u);
}

}  // namespace
}  // namespace pagoda::store
