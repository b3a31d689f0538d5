// Migrations: a database created at every earlier schema version (from the DDL kept in
// schema.cpp), holding data written the way that version wrote it, opens in the current
// Store with its data intact and the same schema as a fresh database.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store_test_util.h"

namespace pagoda::store {
namespace {

using test::RawDb;
using test::TempDir;

// Builds a database at `version` by applying only the first migration steps.
void create_at_version(const std::filesystem::path& path, int version) {
    Result<SqliteDb> db = SqliteDb::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    Status status = migrate(*db, version);
    ASSERT_TRUE(status.is_ok()) << status.to_string();
    ASSERT_EQ(*schema_version(*db), version);
}

// Each version's own shape of data: a model, a session using it, a user message and an
// assistant reply (plus, from v2 on, an adapter and a session setting).
void insert_old_data(const std::filesystem::path& path, int version) {
    RawDb raw(path);
    raw.exec(
        "INSERT INTO models (id, path, display_name, architecture, parameter_count, quantization, file_size, "
        "context_length, has_chat_template, added_at) VALUES (7, '/m/tiny.gguf', 'Tiny', 'llama', 260000, 'F32', "
        "1185376, 512, 0, 1000);"
        "INSERT INTO sessions (id, title, created_at, updated_at, system_prompt, model_id, sampling_preset) "
        "VALUES (3, 'Old chat', 2000, 3000, 'Be brief.', 7, '{\"temperature\":0.5}');"
        "INSERT INTO messages (id, session_id, parent_id, role, content, created_at, completed) VALUES "
        "(10, 3, NULL, 'user', 'Hello there', 2100, 1), (11, 3, 10, 'assistant', 'Hi! How can I help?', 2200, 1);"
        "INSERT INTO app_settings (key, value) VALUES ('theme', 'dark');");
    if (version >= 2) {
        raw.exec(
            "INSERT INTO adapters (id, path, name, base_model_id, base_architecture, added_at) "
            "VALUES (5, '/a/style.safetensors', 'Style', 7, 'llama', 4000);"
            "UPDATE sessions SET adapters = '[{\"adapter_id\":5,\"scale\":0.5}]' WHERE id = 3;"
            "INSERT INTO session_settings (session_id, key, value) VALUES (3, 'max_tokens', '256');");
    }
}

// (table, column list) of every table, to compare a migrated schema with a fresh one.
std::vector<std::string> schema_shape(const std::filesystem::path& path) {
    RawDb raw(path);
    std::vector<std::string> shape;
    for (const std::string& table :
         raw.column("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
        std::string columns;
        for (const std::string& c : raw.column("SELECT name || ':' || type || ':' || \"notnull\" || ':' || "
                                               "coalesce(dflt_value, '') FROM pragma_table_info('" +
                                               table + "')")) {
            columns += c + ",";
        }
        shape.push_back(table + "(" + columns + ")");
    }
    for (const std::string& index :
         raw.column("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")) {
        shape.push_back("index " + index);
    }
    return shape;
}

TEST(StoreMigration, LatestVersionIsTheLastStepAndStepsAreConsecutive) {
    ASSERT_FALSE(migrations().empty());
    for (size_t i = 0; i < migrations().size(); ++i) EXPECT_EQ(migrations()[i].version, static_cast<int>(i) + 1);
    EXPECT_EQ(latest_schema_version(), migrations().back().version);
}

TEST(StoreMigration, EveryEarlierVersionMigratesWithItsData) {
    TempDir dir;
    const auto fresh = dir / "fresh.db";
    { ASSERT_TRUE(test::open_store(fresh)); }
    const std::vector<std::string> fresh_shape = schema_shape(fresh);

    for (int version = 1; version < latest_schema_version(); ++version) {
        SCOPED_TRACE("from schema version " + std::to_string(version));
        const auto path = dir / ("v" + std::to_string(version) + ".db");
        create_at_version(path, version);
        insert_old_data(path, version);

        auto store = test::open_store(path);
        ASSERT_TRUE(store);
        {
            RawDb raw(path);
            EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(latest_schema_version()));
        }

        Model model = test::get_ok(store->get_model(7));
        EXPECT_EQ(model.display_name, "Tiny");
        EXPECT_EQ(model.parameter_count, 260000);
        EXPECT_EQ(model.context_length, 512);

        Session session = test::get_ok(store->get_session(3));
        EXPECT_EQ(session.title, "Old chat");
        EXPECT_EQ(session.system_prompt, "Be brief.");
        EXPECT_EQ(session.model_id, 7);
        EXPECT_EQ(session.sampling_preset_json, "{\"temperature\":0.5}");
        // v3 made the newest message the active leaf.
        EXPECT_EQ(session.active_leaf_id, 11);

        std::vector<Message> path_messages = test::get_ok(store->active_path(3));
        ASSERT_EQ(path_messages.size(), 2u);
        EXPECT_EQ(path_messages[0].content, "Hello there");
        EXPECT_EQ(path_messages[1].content, "Hi! How can I help?");
        EXPECT_EQ(path_messages[1].stats.completion_tokens, 0);  // new column, default
        EXPECT_TRUE(path_messages[1].completed);

        EXPECT_EQ(test::get_ok(store->get_setting("theme")), std::optional<std::string>("dark"));
        if (version >= 2) {
            EXPECT_EQ(session.adapters_json, "[{\"adapter_id\":5,\"scale\":0.5}]");
            EXPECT_EQ(test::get_ok(store->list_adapters()).size(), 1u);
            EXPECT_EQ(test::get_ok(store->get_session_setting(3, "max_tokens")), std::optional<std::string>("256"));
        } else {
            EXPECT_EQ(session.adapters_json, "[]");
        }

        // The migrated database works like a new one.
        int64_t reply = test::get_ok(store->regenerate_message(11));
        store->append_to_message(reply, "Hello again.");
        test::expect_ok(store->finish_message(reply));
        EXPECT_EQ(test::get_ok(store->siblings(11)).size(), 2u);
        store.reset();

        EXPECT_EQ(schema_shape(path), fresh_shape);
    }
}

TEST(StoreMigration, FailedStepRollsBackAndReportsIt) {
    TempDir dir;
    const auto path = dir / "conflict.db";
    create_at_version(path, 1);
    {
        // Something made by hand that migration 2 trips over.
        RawDb raw(path);
        raw.exec("CREATE TABLE adapters (x)");
    }
    StoreOptions options;
    options.path = path;
    Result<std::unique_ptr<Store>> store = Store::open(options);
    ASSERT_FALSE(store.is_ok());
    EXPECT_NE(store.status().message().find("schema version 2"), std::string::npos) << store.status().message();
    RawDb raw(path);
    EXPECT_EQ(raw.scalar("PRAGMA user_version"), "1");
    // The step's other changes were rolled back with it.
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'adapters'"), "0");
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'session_settings'"), "0");
}

TEST(StoreMigration, MigrateRefusesANewerDatabase) {
    TempDir dir;
    const auto path = dir / "newer.db";
    create_at_version(path, latest_schema_version());
    {
        RawDb raw(path);
        raw.exec("PRAGMA user_version = " + std::to_string(latest_schema_version() + 1));
    }
    Result<SqliteDb> db = SqliteDb::open(path, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.is_ok());
    Status status = migrate(*db);
    EXPECT_EQ(status.code(), ErrorCode::unsupported) << status.to_string();
}

}  // namespace
}  // namespace pagoda::store
