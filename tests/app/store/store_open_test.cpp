// Opening the store: the XDG default path, connection settings, and refusing files that must
// not be touched (newer schema, not a database, damaged, another program's) without changing
// a single byte of them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "fixtures/scoped_env.h"
#include "store/database_file.h"
#include "store/schema.h"
#include "store_test_util.h"

namespace pagoda::store {
namespace {

using test::RawDb;
using test::TempDir;

using fixtures::ScopedEnv;

TEST(StoreOpen, DefaultPathFollowsXdgDataHome) {
    TempDir dir;
    ScopedEnv xdg("XDG_DATA_HOME", dir.path().c_str());
    Result<std::filesystem::path> path = default_database_path();
    ASSERT_TRUE(path.is_ok()) << path.status().to_string();
    EXPECT_EQ(*path, dir.path() / "pagoda" / "pagoda.db");

    // Store::open with no path uses it, creating the directory.
    Result<std::unique_ptr<Store>> store = Store::open({});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    EXPECT_EQ((*store)->path(), dir.path() / "pagoda" / "pagoda.db");
    store->reset();
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "pagoda" / "pagoda.db"));
}

TEST(StoreOpen, DefaultPathFallsBackToHomeWhenXdgIsUnsetOrRelative) {
    TempDir dir;
    ScopedEnv home("HOME", dir.path().c_str());
    {
        ScopedEnv xdg("XDG_DATA_HOME", nullptr);
        Result<std::filesystem::path> path = default_database_path();
        ASSERT_TRUE(path.is_ok());
        EXPECT_EQ(*path, dir.path() / ".local" / "share" / "pagoda" / "pagoda.db");
    }
    {
        // The XDG spec says relative paths are invalid and must be ignored.
        ScopedEnv xdg("XDG_DATA_HOME", "relative/dir");
        Result<std::filesystem::path> path = default_database_path();
        ASSERT_TRUE(path.is_ok());
        EXPECT_EQ(*path, dir.path() / ".local" / "share" / "pagoda" / "pagoda.db");
    }
}

TEST(StoreOpen, NewDatabaseUsesWalForeignKeysNormalSyncAndLatestSchema) {
    TempDir dir;
    DatabaseOptions options;
    options.path = dir / "sub" / "dir" / "store.db";  // missing directories are created
    Result<SqliteDb> db = open_store_database(options);
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    EXPECT_EQ(*db->query_text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(*db->query_int64("PRAGMA foreign_keys"), 1);
    EXPECT_EQ(*db->query_int64("PRAGMA synchronous"), 1);  // NORMAL
    EXPECT_EQ(*db->query_int64("PRAGMA user_version"), latest_schema_version());
    EXPECT_EQ(*db->query_int64("PRAGMA application_id"), kApplicationId);
}

TEST(StoreOpen, ReopeningKeepsData) {
    TempDir dir;
    int64_t session_id = 0;
    {
        auto store = test::open_store(dir / "a.db");
        ASSERT_TRUE(store);
        session_id = test::get_ok(store->create_session({.title = "kept"}));
    }
    auto store = test::open_store(dir / "a.db");
    ASSERT_TRUE(store);
    Result<Session> session = store->get_session(session_id).get();
    ASSERT_TRUE(session.is_ok());
    EXPECT_EQ(session->title, "kept");
}

// Opens `path` expecting a refusal with `code`; checks the file and directory are unchanged.
void expect_refused_untouched(const std::filesystem::path& path, ErrorCode code, const std::string& reason) {
    const std::string before = test::read_bytes(path);
    const std::vector<std::string> files_before = test::list_dir(path.parent_path());
    for (int attempt = 0; attempt < 2; ++attempt) {  // refusing twice changes nothing either
        StoreOptions options;
        options.path = path;
        Result<std::unique_ptr<Store>> store = Store::open(options);
        ASSERT_FALSE(store.is_ok()) << "opened a file that should be refused";
        EXPECT_EQ(store.status().code(), code) << store.status().to_string();
        const std::string message = store.status().message();                  // status() returns a copy
        EXPECT_NE(message.find(path.string()), std::string::npos) << message;  // names the file
        EXPECT_NE(message.find(reason), std::string::npos) << message;
        EXPECT_NE(message.find("did not modify"), std::string::npos) << message;
    }
    EXPECT_EQ(test::read_bytes(path), before) << "the refused file was modified";
    EXPECT_EQ(test::list_dir(path.parent_path()), files_before) << "files appeared beside the refused database";
}

TEST(StoreOpen, RefusesNewerSchemaAndLeavesFileUntouched) {
    TempDir dir;
    const auto path = dir / "newer.db";
    {
        auto store = test::open_store(path);
        ASSERT_TRUE(store);
        (void)test::get_ok(store->create_session({.title = "from the future"}));
    }
    {
        // A future Pagoda with schema version latest+7, back in rollback-journal mode.
        RawDb raw(path);
        raw.exec("PRAGMA journal_mode = DELETE; PRAGMA user_version = " + std::to_string(latest_schema_version() + 7) +
                 "; CREATE TABLE future_things (x);");
    }
    expect_refused_untouched(path, ErrorCode::unsupported, "newer version of Pagoda");
}

TEST(StoreOpen, RefusesNewerSchemaInWalModeWithoutTouchingIt) {
    TempDir dir;
    const auto path = dir / "newer-wal.db";
    {
        RawDb raw(path);
        raw.exec("PRAGMA journal_mode = WAL; PRAGMA application_id = " + std::to_string(kApplicationId) +
                 "; PRAGMA user_version = 1000; CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    }
    ASSERT_FALSE(std::filesystem::exists(dir / "newer-wal.db-wal"));  // checkpointed on close
    expect_refused_untouched(path, ErrorCode::unsupported, "schema version 1000");
}

TEST(StoreOpen, RefusesNewerSchemaWhileANewerPagodaHasItOpen) {
    // The newer version is running: its last commits are still in the -wal file.
    TempDir dir;
    const auto path = dir / "busy.db";
    RawDb newer(path);
    newer.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; PRAGMA application_id = " +
               std::to_string(kApplicationId) + "; CREATE TABLE t (x);");
    newer.exec("PRAGMA user_version = " + std::to_string(latest_schema_version() + 1) + "; INSERT INTO t VALUES (1);");
    ASSERT_TRUE(std::filesystem::exists(dir / "busy.db-wal"));
    const std::string wal_before = test::read_bytes(dir / "busy.db-wal");
    expect_refused_untouched(path, ErrorCode::unsupported, "newer version of Pagoda");
    EXPECT_EQ(test::read_bytes(dir / "busy.db-wal"), wal_before);
    EXPECT_EQ(newer.scalar("SELECT count(*) FROM t"), "1");
}

TEST(StoreOpen, RecoversAHotRollbackJournalBeforeChecking) {
    // A store whose file was left mid-transaction in rollback-journal mode (a filesystem
    // without WAL support, then a crash): SQLite's own recovery rolls the journal back, the
    // committed data is intact and the half-written transaction is gone.
    TempDir dir;
    const auto path = dir / "journal.db";
    {
        auto store = test::open_store(path);
        ASSERT_TRUE(store);
        (void)test::get_ok(store->create_session({.title = "committed"}));
    }
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        sqlite3* db = nullptr;
        if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) _exit(2);
        // A tiny page cache makes SQLite write changed pages into the file before COMMIT.
        sqlite3_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1; BEGIN;", nullptr, nullptr, nullptr);
        for (int i = 0; i < 2000; ++i) {
            std::string sql = "INSERT INTO sessions (title, created_at, updated_at) VALUES ('uncommitted " +
                              std::to_string(i) + "', 1, 1)";
            if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) _exit(3);
        }
        raise(SIGKILL);
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
    ASSERT_TRUE(std::filesystem::exists(dir / "journal.db-journal")) << "no hot journal to recover";

    auto store = test::open_store(path);
    ASSERT_TRUE(store);
    std::vector<Session> sessions = test::get_ok(store->list_sessions());
    ASSERT_EQ(sessions.size(), 1u);
    EXPECT_EQ(sessions[0].title, "committed");
}

TEST(StoreOpen, RefusesAFileThatIsNotADatabase) {
    TempDir dir;
    const auto path = dir / "notes.db";
    test::write_bytes(path, std::string("these are my precious notes, not a database\n") + std::string(300, 'x'));
    expect_refused_untouched(path, ErrorCode::invalid_format, "not a SQLite database");
}

TEST(StoreOpen, RefusesAShortFileWithoutHeader) {
    TempDir dir;
    const auto path = dir / "short.db";
    test::write_bytes(path, "SQLite format 3");  // 15 bytes: a truncated header
    expect_refused_untouched(path, ErrorCode::invalid_format, "not a SQLite database");
}

TEST(StoreOpen, RefusesADamagedDatabaseAndLeavesItUntouched) {
    TempDir dir;
    const auto path = dir / "damaged.db";
    {
        auto store = test::open_store(path);
        ASSERT_TRUE(store);
        int64_t s = test::get_ok(store->create_session({.title = "precious"}));
        for (int i = 0; i < 200; ++i) {
            (void)test::get_ok(store->add_message({.session_id = s, .content = "message " + std::to_string(i)}));
        }
    }
    ASSERT_FALSE(std::filesystem::exists(dir / "damaged.db-wal"));  // everything is in the main file
    std::string bytes = test::read_bytes(path);
    const size_t page_size = 4096;
    ASSERT_GT(bytes.size(), 4 * page_size);
    // Scribble over the b-tree pages after page 1 (the header page stays valid, so SQLite opens
    // the file and only the integrity check can tell).
    for (size_t i = page_size; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(0xA5 ^ (i & 0xff));
    test::write_bytes(path, bytes);
    expect_refused_untouched(path, ErrorCode::invalid_format, "");
    // Either the integrity check lists the damage or SQLite stops at the first bad page.
    StoreOptions options;
    options.path = path;
    const std::string message = Store::open(options).status().message();
    EXPECT_TRUE(message.find("damaged") != std::string::npos || message.find("malformed") != std::string::npos)
        << message;
}

TEST(StoreOpen, RefusesAnotherProgramsDatabase) {
    TempDir dir;
    {
        RawDb raw(dir / "other.db");
        raw.exec("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('Ada');");
    }
    expect_refused_untouched(dir / "other.db", ErrorCode::invalid_format, "another program");
    {
        RawDb raw(dir / "other-app-id.db");
        raw.exec("PRAGMA application_id = 12345; PRAGMA user_version = 1;");
    }
    expect_refused_untouched(dir / "other-app-id.db", ErrorCode::invalid_format, "another program");
}

TEST(StoreOpen, EmptyFileBecomesANewStore) {
    TempDir dir;
    test::write_bytes(dir / "empty.db", "");
    auto store = test::open_store(dir / "empty.db");
    ASSERT_TRUE(store);
    EXPECT_TRUE(test::get_ok(store->list_sessions()).empty());
}

TEST(StoreOpen, RefusesADirectory) {
    TempDir dir;
    std::filesystem::create_directory(dir / "a-dir.db");
    StoreOptions options;
    options.path = dir / "a-dir.db";
    Result<std::unique_ptr<Store>> store = Store::open(options);
    ASSERT_FALSE(store.is_ok());
    EXPECT_NE(store.status().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace pagoda::store
