// Create, read, update, delete: model library, adapters, sessions (with search), settings.
#include <gtest/gtest.h>

#include <string>

#include "store_test_util.h"

namespace pagoda::store {
namespace {

using test::get_ok;
using test::TempDir;

class StoreCrud : public ::testing::Test {
protected:
    void SetUp() override {
        store_ = test::open_store(dir_ / "crud.db");
        ASSERT_TRUE(store_);
    }
    TempDir dir_;
    std::unique_ptr<Store> store_;
};

NewModel tiny_model(const std::string& path) {
    NewModel m;
    m.path = path;
    m.display_name = "Stories 260K";
    m.architecture = "llama";
    m.parameter_count = 260000;
    m.quantization = "F32";
    m.file_size = 1185376;
    m.context_length = 512;
    m.has_chat_template = false;
    return m;
}

TEST_F(StoreCrud, ModelsAddListRefreshRemove) {
    const auto file = dir_ / "stories260K.gguf";
    test::write_bytes(file, "GGUF not really");
    int64_t id = get_ok(store_->add_model(tiny_model(file)));
    EXPECT_GT(id, 0);

    NewModel other = tiny_model(dir_ / "a.gguf");
    other.display_name = "";  // falls back to the file name
    other.quantization = "Q4_K_M";
    other.has_chat_template = true;
    int64_t other_id = get_ok(store_->add_model(other));

    std::vector<Model> models = get_ok(store_->list_models());
    ASSERT_EQ(models.size(), 2u);
    EXPECT_EQ(models[0].display_name, "a.gguf");  // sorted by name
    EXPECT_EQ(models[0].quantization, "Q4_K_M");
    EXPECT_TRUE(models[0].has_chat_template);
    EXPECT_EQ(models[1].display_name, "Stories 260K");
    EXPECT_EQ(models[1].path, file.string());
    EXPECT_EQ(models[1].architecture, "llama");
    EXPECT_EQ(models[1].parameter_count, 260000);
    EXPECT_EQ(models[1].file_size, 1185376);
    EXPECT_EQ(models[1].context_length, 512);
    EXPECT_GT(models[1].added_at, 0);
    EXPECT_FALSE(models[1].last_used_at.has_value());

    // Adding the same path again refreshes its metadata and keeps its id.
    NewModel refreshed = tiny_model(file);
    refreshed.context_length = 1024;
    EXPECT_EQ(get_ok(store_->add_model(refreshed)), id);
    EXPECT_EQ(get_ok(store_->get_model(id)).context_length, 1024);
    EXPECT_EQ(get_ok(store_->list_models()).size(), 2u);

    test::expect_ok(store_->mark_model_used(id));
    EXPECT_TRUE(get_ok(store_->get_model(id)).last_used_at.has_value());

    // A session using the model keeps working when the model leaves the library.
    int64_t session = get_ok(store_->create_session({.title = "uses it", .model_id = id}));
    test::expect_ok(store_->remove_model(id));
    EXPECT_TRUE(std::filesystem::exists(file)) << "removing from the library must not delete the file";
    EXPECT_EQ(test::read_bytes(file), "GGUF not really");
    EXPECT_EQ(store_->get_model(id).get().status().code(), ErrorCode::not_found);
    EXPECT_FALSE(get_ok(store_->get_session(session)).model_id.has_value());
    EXPECT_EQ(store_->remove_model(id).get().code(), ErrorCode::not_found);
    EXPECT_EQ(get_ok(store_->list_models()).size(), 1u);
    EXPECT_EQ(get_ok(store_->list_models())[0].id, other_id);

    EXPECT_EQ(store_->add_model(NewModel{}).get().status().code(), ErrorCode::invalid_argument);
}

TEST_F(StoreCrud, AdaptersWithBaseModel) {
    int64_t model = get_ok(store_->add_model(tiny_model("/models/base.gguf")));
    int64_t a = get_ok(store_->add_adapter(
        {.path = "/loras/pirate", .name = "Pirate", .base_model_id = model, .base_architecture = "llama"}));
    int64_t b = get_ok(store_->add_adapter({.path = "/loras/zz-unknown.gguf", .base_architecture = "qwen3"}));
    std::vector<Adapter> adapters = get_ok(store_->list_adapters());
    ASSERT_EQ(adapters.size(), 2u);
    EXPECT_EQ(adapters[0].id, a);
    EXPECT_EQ(adapters[0].name, "Pirate");
    EXPECT_EQ(adapters[0].base_model_id, model);
    EXPECT_EQ(adapters[0].base_architecture, "llama");
    EXPECT_EQ(adapters[1].id, b);
    EXPECT_EQ(adapters[1].name, "zz-unknown.gguf");
    EXPECT_FALSE(adapters[1].base_model_id.has_value());

    // Unknown base model: a clear not_found, nothing added.
    Result<int64_t> bad = store_->add_adapter({.path = "/loras/x", .base_model_id = 999}).get();
    EXPECT_EQ(bad.status().code(), ErrorCode::not_found);

    // The adapter outlives its base model's library entry.
    test::expect_ok(store_->remove_model(model));
    EXPECT_FALSE(get_ok(store_->list_adapters())[0].base_model_id.has_value());

    test::expect_ok(store_->remove_adapter(a));
    EXPECT_EQ(get_ok(store_->list_adapters()).size(), 1u);
    EXPECT_EQ(store_->remove_adapter(a).get().code(), ErrorCode::not_found);
}

TEST_F(StoreCrud, SessionsCreateUpdateRenameDelete) {
    int64_t model = get_ok(store_->add_model(tiny_model("/m.gguf")));
    NewSession fresh;
    fresh.system_prompt = "You are terse.";
    fresh.model_id = model;
    fresh.sampling_preset_json = R"({"temperature":0.2,"top_p":0.9})";
    fresh.adapters_json = R"([{"adapter_id":1,"scale":0.75}])";
    int64_t id = get_ok(store_->create_session(fresh));

    Session s = get_ok(store_->get_session(id));
    EXPECT_EQ(s.title, "New chat");  // default title
    EXPECT_EQ(s.system_prompt, "You are terse.");
    EXPECT_EQ(s.model_id, model);
    EXPECT_EQ(s.sampling_preset_json, fresh.sampling_preset_json);
    EXPECT_EQ(s.adapters_json, fresh.adapters_json);
    EXPECT_GT(s.created_at, 0);
    EXPECT_EQ(s.created_at, s.updated_at);
    EXPECT_FALSE(s.active_leaf_id.has_value());

    s.title = "Renamed by update";
    s.system_prompt = "";
    s.model_id.reset();
    s.sampling_preset_json = "{}";
    test::expect_ok(store_->update_session(s));
    Session updated = get_ok(store_->get_session(id));
    EXPECT_EQ(updated.title, "Renamed by update");
    EXPECT_EQ(updated.system_prompt, "");
    EXPECT_FALSE(updated.model_id.has_value());
    EXPECT_GE(updated.updated_at, s.created_at);

    test::expect_ok(store_->rename_session(id, "Final title"));
    EXPECT_EQ(get_ok(store_->get_session(id)).title, "Final title");

    // Bad input is refused with invalid_argument / not_found and changes nothing.
    Session broken = updated;
    broken.sampling_preset_json = "{not json";
    EXPECT_EQ(store_->update_session(broken).get().code(), ErrorCode::invalid_argument);
    broken.sampling_preset_json = "[1,2]";
    EXPECT_EQ(store_->update_session(broken).get().code(), ErrorCode::invalid_argument);
    broken = updated;
    broken.adapters_json = "{}";
    EXPECT_EQ(store_->update_session(broken).get().code(), ErrorCode::invalid_argument);
    broken = updated;
    broken.model_id = 12345;
    EXPECT_EQ(store_->update_session(broken).get().code(), ErrorCode::not_found);
    EXPECT_EQ(store_->create_session({.model_id = 12345}).get().status().code(), ErrorCode::not_found);
    EXPECT_EQ(get_ok(store_->get_session(id)).title, "Final title");

    // Delete takes the messages and settings with it.
    int64_t m = get_ok(store_->add_message({.session_id = id, .content = "hi"}));
    test::expect_ok(store_->set_session_setting(id, "k", "v"));
    test::expect_ok(store_->delete_session(id));
    EXPECT_EQ(store_->get_session(id).get().status().code(), ErrorCode::not_found);
    EXPECT_EQ(store_->get_message(m).get().status().code(), ErrorCode::not_found);
    EXPECT_EQ(store_->delete_session(id).get().code(), ErrorCode::not_found);
    EXPECT_TRUE(get_ok(store_->list_sessions()).empty());
}

TEST_F(StoreCrud, ListSessionsMostRecentlyUpdatedFirst) {
    int64_t a = get_ok(store_->create_session({.title = "a"}));
    int64_t b = get_ok(store_->create_session({.title = "b"}));
    int64_t c = get_ok(store_->create_session({.title = "c"}));
    std::vector<Session> list = get_ok(store_->list_sessions());
    ASSERT_EQ(list.size(), 3u);
    // Same millisecond is possible: ties go to the newer id.
    EXPECT_EQ(list[0].id, c);
    EXPECT_EQ(list[2].id, a);
    // A new message makes its session the most recently updated (ties in the same millisecond
    // are possible, so compare times rather than positions).
    (void)get_ok(store_->add_message({.session_id = a, .content = "bump"}));
    std::vector<Session> after = get_ok(store_->list_sessions());
    ASSERT_EQ(after.size(), 3u);
    int64_t a_updated = 0;
    for (size_t i = 0; i < after.size(); ++i) {
        if (i > 0) {
            EXPECT_GE(after[i - 1].updated_at, after[i].updated_at);
        }
        if (after[i].id == a) a_updated = after[i].updated_at;
    }
    EXPECT_EQ(a_updated, after[0].updated_at);
    EXPECT_NE(b, c);
}

TEST_F(StoreCrud, SearchByTitleAndContentOnAnyBranch) {
    int64_t cooking = get_ok(store_->create_session({.title = "Cooking pasta"}));
    int64_t physics = get_ok(store_->create_session({.title = "Physics"}));
    int64_t misc = get_ok(store_->create_session({.title = "100% sure_thing"}));
    int64_t q = get_ok(store_->add_message({.session_id = physics, .content = "What is a Photon?"}));
    // Text only on an abandoned branch is still found.
    (void)get_ok(store_->edit_message(q, "What is an electron?"));

    auto ids = [&](const std::string& query) {
        std::vector<int64_t> out;
        for (const Session& s : get_ok(store_->search_sessions(query))) out.push_back(s.id);
        std::sort(out.begin(), out.end());
        return out;
    };
    EXPECT_EQ(ids("pasta"), std::vector<int64_t>{cooking});
    EXPECT_EQ(ids("PASTA"), std::vector<int64_t>{cooking});  // ASCII case-insensitive
    EXPECT_EQ(ids("photon"), std::vector<int64_t>{physics});
    EXPECT_EQ(ids("electron"), std::vector<int64_t>{physics});
    EXPECT_EQ(ids("%"), std::vector<int64_t>{misc});    // wildcards are literal
    EXPECT_EQ(ids("P_ysics"), std::vector<int64_t>{});  // would match "Physics" if _ were a wildcard
    EXPECT_EQ(ids("sure_thing"), std::vector<int64_t>{misc});
    EXPECT_TRUE(ids("nothing like this").empty());
    EXPECT_EQ(ids("").size(), 3u);  // empty query lists everything
}

TEST_F(StoreCrud, AppAndSessionSettings) {
    EXPECT_EQ(get_ok(store_->get_setting("window/geometry")), std::nullopt);
    test::expect_ok(store_->set_setting("window/geometry", "0,0,800,600"));
    test::expect_ok(store_->set_setting("server/port", "8080"));
    test::expect_ok(store_->set_setting("server/port", "9090"));
    EXPECT_EQ(get_ok(store_->get_setting("window/geometry")), std::optional<std::string>("0,0,800,600"));
    EXPECT_EQ(get_ok(store_->get_setting("server/port")), std::optional<std::string>("9090"));
    EXPECT_EQ(store_->set_setting("", "x").get().code(), ErrorCode::invalid_argument);
    Status removed = store_->submit([](StoreOps& ops) { return ops.remove_setting("server/port"); }).get();
    EXPECT_TRUE(removed.is_ok());
    EXPECT_EQ(get_ok(store_->get_setting("server/port")), std::nullopt);

    int64_t s1 = get_ok(store_->create_session({.title = "one"}));
    int64_t s2 = get_ok(store_->create_session({.title = "two"}));
    test::expect_ok(store_->set_session_setting(s1, "max_tokens", "128"));
    test::expect_ok(store_->set_session_setting(s1, "max_tokens", "512"));
    test::expect_ok(store_->set_session_setting(s2, "max_tokens", "64"));
    EXPECT_EQ(get_ok(store_->get_session_setting(s1, "max_tokens")), std::optional<std::string>("512"));
    EXPECT_EQ(get_ok(store_->get_session_setting(s2, "max_tokens")), std::optional<std::string>("64"));
    EXPECT_EQ(get_ok(store_->get_session_setting(s2, "absent")), std::nullopt);
    EXPECT_EQ(store_->set_session_setting(999, "k", "v").get().code(), ErrorCode::not_found);
}

TEST_F(StoreCrud, CallbackStyleSubmitReportsOnTheStoreThread) {
    std::promise<std::pair<std::thread::id, size_t>> reported;
    std::future<std::pair<std::thread::id, size_t>> seen = reported.get_future();
    (void)get_ok(store_->create_session({.title = "x"}));
    store_->submit([](StoreOps& ops) { return ops.list_sessions(); },
                   [&reported](Result<std::vector<Session>> sessions) {
                       reported.set_value({std::this_thread::get_id(), sessions.is_ok() ? sessions->size() : 0});
                   });
    auto [thread, count] = seen.get();
    EXPECT_NE(thread, std::this_thread::get_id());
    EXPECT_EQ(count, 1u);
}

TEST_F(StoreCrud, ExceptionsInJobsBecomeErrors) {
    Result<int> result = store_->submit([](StoreOps&) -> Result<int> { throw std::runtime_error("boom"); }).get();
    ASSERT_FALSE(result.is_ok());
    EXPECT_EQ(result.status().code(), ErrorCode::internal);
    EXPECT_NE(result.status().message().find("boom"), std::string::npos);
    // The store goes on working.
    EXPECT_TRUE(store_->list_sessions().get().is_ok());
}

TEST_F(StoreCrud, JobsCanGroupOperationsInOneTransaction) {
    // A job that fails half-way leaves nothing behind: the session it created is rolled back.
    Result<int64_t> failed =
        store_
            ->submit([](StoreOps& ops) -> Result<int64_t> {
                return ops.transaction([&]() -> Result<int64_t> {
                    Result<int64_t> s = ops.create_session({.title = "half-made"});
                    if (!s) return s;
                    return ops.add_message({.session_id = *s, .parent_id = 424242, .content = "bad parent"});
                });
            })
            .get();
    EXPECT_EQ(failed.status().code(), ErrorCode::not_found);
    EXPECT_TRUE(get_ok(store_->list_sessions()).empty());
}

}  // namespace
}  // namespace pagoda::store
