// Streaming assistant text: appends are buffered and coalesced, written at least every flush
// interval, before any other job, on finish and on close; and a writer killed with SIGKILL
// leaves everything it streamed up to about a second before the kill in the database.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "store_test_util.h"

namespace pagoda::store {
namespace {

using namespace std::chrono_literals;
using test::get_ok;
using test::TempDir;

struct Fixture {
    int64_t session = 0;
    int64_t message = 0;
};

Fixture make_streaming_message(Store& store) {
    Fixture f;
    f.session = get_ok(store.create_session({.title = "stream"}));
    (void)get_ok(store.add_message({.session_id = f.session, .content = "Tell me a story"}));
    f.message = get_ok(store.add_message({.session_id = f.session, .role = Role::assistant, .completed = false}));
    return f;
}

// Polls a second, independent connection until `id`'s content equals `want` (the store's own
// thread is not asked anything, so only its timer can have written it).
bool appears_on_disk(const std::filesystem::path& path, int64_t id, const std::string& want) {
    test::RawDb raw(path);
    const std::string sql = "SELECT content FROM messages WHERE id = " + std::to_string(id);
    for (int i = 0; i < 200; ++i) {  // up to 10 s on a very busy machine
        if (raw.scalar(sql) == want) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

TEST(StoreStreaming, BufferedTextIsWrittenByTheTimerWithoutFinish) {
    TempDir dir;
    auto store = test::open_store(dir / "s.db");
    ASSERT_TRUE(store);
    Fixture f = make_streaming_message(*store);
    store->append_to_message(f.message, "Once upon ");
    store->append_to_message(f.message, "a time");
    EXPECT_TRUE(appears_on_disk(dir / "s.db", f.message, "Once upon a time"));
    EXPECT_GE(store->counters().flushes, 1u);
    EXPECT_FALSE(get_ok(store->get_message(f.message)).completed);
}

TEST(StoreStreaming, ManyAppendsBecomeFewWrites) {
    TempDir dir;
    auto store = test::open_store(dir / "s.db");
    ASSERT_TRUE(store);
    Fixture f = make_streaming_message(*store);
    std::string expected;
    for (int i = 0; i < 2000; ++i) {
        std::string token = " t" + std::to_string(i);
        store->append_to_message(f.message, token);
        expected += token;
    }
    test::expect_ok(store->finish_message(f.message, {.completion_tokens = 2000}));
    Message m = get_ok(store->get_message(f.message));
    EXPECT_EQ(m.content, expected);
    EXPECT_TRUE(m.completed);
    EXPECT_EQ(m.stats.completion_tokens, 2000);
    StoreCounters c = store->counters();
    EXPECT_EQ(c.appends, 2000u);
    // One write per interval (plus the one before finish), not one per token.
    EXPECT_LE(c.flushes, 200u);
    EXPECT_EQ(c.failed_flushes, 0u);
}

TEST(StoreStreaming, ReadsSeeTextAppendedBeforeThem) {
    TempDir dir;
    StoreOptions options;
    options.flush_interval = std::chrono::hours(1);  // only the "before any job" rule can write it
    auto store = test::open_store(dir / "s.db", options);
    ASSERT_TRUE(store);
    Fixture f = make_streaming_message(*store);
    store->append_to_message(f.message, "visible");
    EXPECT_EQ(get_ok(store->get_message(f.message)).content, "visible");
    store->append_to_message(f.message, " and searchable");
    std::vector<Session> found = get_ok(store->search_sessions("searchable"));
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].id, f.session);
    store->append_to_message(f.message, "!");
    test::expect_ok(store->flush());
    EXPECT_TRUE(appears_on_disk(dir / "s.db", f.message, "visible and searchable!"));
}

TEST(StoreStreaming, CloseWritesBufferedText) {
    TempDir dir;
    StoreOptions options;
    options.flush_interval = std::chrono::hours(1);
    int64_t message = 0;
    {
        auto store = test::open_store(dir / "s.db", options);
        ASSERT_TRUE(store);
        message = make_streaming_message(*store).message;
        store->append_to_message(message, "said before closing");
    }
    test::RawDb raw(dir / "s.db");
    EXPECT_EQ(raw.scalar("SELECT content FROM messages WHERE id = " + std::to_string(message)), "said before closing");
    EXPECT_EQ(raw.scalar("SELECT completed FROM messages WHERE id = " + std::to_string(message)), "0");
}

TEST(StoreStreaming, LargeBufferIsWrittenEarly) {
    TempDir dir;
    StoreOptions options;
    options.flush_interval = std::chrono::hours(1);
    options.max_buffered_bytes = 64;
    auto store = test::open_store(dir / "s.db", options);
    ASSERT_TRUE(store);
    Fixture f = make_streaming_message(*store);
    const std::string big(100, 'z');
    store->append_to_message(f.message, big);
    EXPECT_TRUE(appears_on_disk(dir / "s.db", f.message, big));
}

TEST(StoreStreaming, UnknownMessageIsReportedAtFinish) {
    TempDir dir;
    auto store = test::open_store(dir / "s.db");
    ASSERT_TRUE(store);
    Fixture f = make_streaming_message(*store);
    store->append_to_message(987654, "lost");
    store->append_to_message(f.message, "kept");
    Status unknown = store->finish_message(987654).get();
    EXPECT_EQ(unknown.code(), ErrorCode::not_found) << unknown.to_string();
    // The other message in the same batch was written.
    test::expect_ok(store->finish_message(f.message));
    EXPECT_EQ(get_ok(store->get_message(f.message)).content, "kept");
}

TEST(StoreStreaming, UnicodeAndBinarySafeConcatenation) {
    TempDir dir;
    auto store = test::open_store(dir / "s.db");
    ASSERT_TRUE(store);
    Fixture f = make_streaming_message(*store);
    // A multi-byte character split across two deltas (as a tokenizer may produce) is joined.
    const std::string pagoda_kanji = "\xe5\xa1\x94";  // 塔
    store->append_to_message(f.message, pagoda_kanji.substr(0, 1));
    test::expect_ok(store->flush());
    store->append_to_message(f.message, pagoda_kanji.substr(1));
    store->append_to_message(f.message, std::string_view("a\0b", 3));
    test::expect_ok(store->finish_message(f.message));
    EXPECT_EQ(get_ok(store->get_message(f.message)).content, pagoda_kanji + std::string("a\0b", 3));
}

// ---- the kill test ----

struct Report {
    int64_t index;      // chunk number
    int64_t steady_ns;  // CLOCK_MONOTONIC (steady_clock), shared by both processes
};

int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string chunk(int64_t i) { return "<" + std::to_string(i) + ">"; }

// Child: stream chunks forever (until killed), reporting each after handing it to the store.
[[noreturn]] void stream_until_killed(const std::filesystem::path& path, int64_t message, int report_fd) {
    StoreOptions options;
    options.path = path;
    Result<std::unique_ptr<Store>> store = Store::open(options);
    if (!store) _exit(2);
    const int64_t give_up = steady_ns() + 60'000'000'000;  // never outlive a dead parent for long
    for (int64_t i = 0; steady_ns() < give_up; ++i) {
        (*store)->append_to_message(message, chunk(i));
        Report r{i, steady_ns()};
        if (write(report_fd, &r, sizeof(r)) != sizeof(r)) _exit(3);
        usleep(4000);  // ~250 tokens/s
    }
    _exit(4);
}

TEST(StoreStreaming, SigkilledWriterKeepsTextUpToAboutOneSecondBeforeTheKill) {
    TempDir dir;
    const auto path = dir / "killed.db";
    Fixture f;
    {
        auto store = test::open_store(path);
        ASSERT_TRUE(store);
        f = make_streaming_message(*store);
    }

    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        stream_until_killed(path, f.message, fds[1]);
    }
    close(fds[1]);

    // Let it stream for 1.5 s of its own clock, then kill it mid-stream.
    std::vector<Report> reports;
    auto read_report = [&](int timeout_ms) {
        pollfd p{fds[0], POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
        Report r{};
        if (read(fds[0], &r, sizeof(r)) != sizeof(r)) return false;
        reports.push_back(r);
        return true;
    };
    while (reports.empty() || reports.back().steady_ns - reports.front().steady_ns < 1'500'000'000) {
        if (!read_report(20'000)) break;
    }
    const int64_t kill_ns = steady_ns();
    kill(pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "the child ended on its own: " << wstatus;
    while (read_report(0)) {
    }
    close(fds[0]);
    ASSERT_GE(reports.size(), 2u) << "the child did not stream";

    // Everything handed to the store at least one second before the kill must be there.
    int64_t must_have = -1;
    for (const Report& r : reports) {
        if (r.steady_ns <= kill_ns - 1'000'000'000) must_have = r.index;
    }
    ASSERT_GE(must_have, 0) << "the child streamed for less than a second";

    test::RawDb raw(path);  // the file must still open; WAL recovery happens here
    const std::string content = raw.scalar("SELECT content FROM messages WHERE id = " + std::to_string(f.message));
    // The stored text is exactly chunks 0..k-1 in order: nothing garbled, nothing skipped.
    int64_t k = 0;
    std::string expected;
    while (expected.size() < content.size()) expected += chunk(k++);
    EXPECT_EQ(content, expected) << "stored text is not a clean prefix of the stream";
    EXPECT_GT(k, must_have) << "lost chunk " << must_have << " streamed >= 1 s before the kill; stored " << k
                            << " chunks of " << reports.size() << " reported";
    EXPECT_LE(k, static_cast<int64_t>(reports.size()) + 1);
    // For the record (--gtest_output=xml): how much of the stream the kill cost.
    int64_t last_stored_ns = 0;
    for (const Report& r : reports) {
        if (r.index == k - 1) last_stored_ns = r.steady_ns;
    }
    RecordProperty("chunks_streamed", static_cast<int>(reports.size()));
    RecordProperty("chunks_stored", static_cast<int>(k));
    RecordProperty("ms_lost_before_kill", static_cast<int>((kill_ns - last_stored_ns) / 1'000'000));

    // And the store opens it normally afterwards, the message still marked incomplete.
    auto store = test::open_store(path);
    ASSERT_TRUE(store);
    Message m = get_ok(store->get_message(f.message));
    EXPECT_EQ(m.content, content);
    EXPECT_FALSE(m.completed);
}

}  // namespace
}  // namespace pagoda::store
