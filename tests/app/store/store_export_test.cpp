// Exporting a session: Markdown shows the active branch as a reader sees it; JSON carries
// every branch with parent links.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "store/session_export.h"
#include "store_test_util.h"

namespace pagoda::store {
namespace {

using test::get_ok;
using test::TempDir;

class StoreExport : public ::testing::Test {
protected:
    void SetUp() override {
        store_ = test::open_store(dir_ / "export.db");
        ASSERT_TRUE(store_);
        NewModel model;
        model.path = "/models/stories260K.gguf";
        model.display_name = "Stories 260K";
        model.architecture = "llama";
        model.quantization = "F32";
        model_ = get_ok(store_->add_model(model));
        session_ = get_ok(store_->create_session({.title = "Rust\nvs C++",
                                                  .system_prompt = "Answer with code.",
                                                  .model_id = model_,
                                                  .sampling_preset_json = R"({"temperature":0.3})",
                                                  .adapters_json = R"([{"adapter_id":2,"scale":0.5}])"}));
        q_ = get_ok(store_->add_message({.session_id = session_, .content = "Show a loop"}));
        a_old_ = get_ok(store_->add_message({.session_id = session_, .role = Role::assistant, .content = "old"}));
        a_ = get_ok(store_->regenerate_message(a_old_));
        store_->append_to_message(a_, "```cpp\nfor (int i = 0; i < 3; ++i) {}\n```");
        test::expect_ok(store_->finish_message(a_, {.prompt_tokens = 9, .completion_tokens = 20, .tokens_per_s = 50}));
        test::expect_ok(store_->set_session_setting(session_, "max_tokens", "128"));
    }

    TempDir dir_;
    std::unique_ptr<Store> store_;
    int64_t model_ = 0, session_ = 0, q_ = 0, a_old_ = 0, a_ = 0;
};

TEST_F(StoreExport, MarkdownShowsTheActiveBranch) {
    Session s = get_ok(store_->get_session(session_));
    std::string md = get_ok(store_->export_markdown(session_));
    std::string expected =
        "# Rust vs C++\n\n"
        "- Model: Stories 260K\n"
        "- Created: " +
        format_utc(s.created_at) +
        "\n"
        "- Updated: " +
        format_utc(s.updated_at) +
        "\n"
        "\n## System prompt\n\nAnswer with code.\n"
        "\n## User\n\nShow a loop\n"
        "\n## Assistant\n\n```cpp\nfor (int i = 0; i < 3; ++i) {}\n```\n"
        "\n*20 tokens, 50.0 tokens/s*\n";
    EXPECT_EQ(md, expected);
    EXPECT_EQ(md.find("old"), std::string::npos);  // the other branch is not in the reading view
}

TEST_F(StoreExport, MarkdownMarksAnIncompleteReply) {
    int64_t streaming = get_ok(store_->regenerate_message(a_));
    store_->append_to_message(streaming, "half a sen");
    std::string md = get_ok(store_->export_markdown(session_));
    EXPECT_NE(md.find("\n## Assistant\n\nhalf a sen\n\n*(incomplete)*\n"), std::string::npos) << md;
    (void)streaming;
}

TEST_F(StoreExport, JsonHasEveryBranchAndTheActivePath) {
    std::string text = get_ok(store_->export_json(session_));
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << text;
    EXPECT_EQ(doc["format"], "pagoda.chat_session");
    EXPECT_EQ(doc["format_version"], 1);
    EXPECT_EQ(doc["title"], "Rust\nvs C++");
    EXPECT_EQ(doc["system_prompt"], "Answer with code.");
    EXPECT_EQ(doc["model"]["id"], model_);
    EXPECT_EQ(doc["model"]["display_name"], "Stories 260K");
    EXPECT_EQ(doc["model"]["path"], "/models/stories260K.gguf");
    EXPECT_DOUBLE_EQ(doc["sampling_preset"]["temperature"].get<double>(), 0.3);
    EXPECT_EQ(doc["adapters"][0]["adapter_id"], 2);
    EXPECT_EQ(doc["settings"]["max_tokens"], "128");
    EXPECT_EQ(doc["active_path"], nlohmann::json::array({q_, a_}));

    const nlohmann::json& messages = doc["messages"];
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0]["id"], q_);
    EXPECT_TRUE(messages[0]["parent_id"].is_null());
    EXPECT_EQ(messages[0]["role"], "user");
    EXPECT_EQ(messages[1]["id"], a_old_);
    EXPECT_EQ(messages[1]["parent_id"], q_);
    EXPECT_EQ(messages[1]["content"], "old");
    EXPECT_EQ(messages[2]["id"], a_);
    EXPECT_EQ(messages[2]["parent_id"], q_);
    EXPECT_EQ(messages[2]["role"], "assistant");
    EXPECT_EQ(messages[2]["content"], "```cpp\nfor (int i = 0; i < 3; ++i) {}\n```");
    EXPECT_EQ(messages[2]["completed"], true);
    EXPECT_EQ(messages[2]["prompt_tokens"], 9);
    EXPECT_EQ(messages[2]["completion_tokens"], 20);
    EXPECT_DOUBLE_EQ(messages[2]["tokens_per_s"].get<double>(), 50.0);
    EXPECT_TRUE(messages[2]["created_at"].is_number_integer());
}

TEST_F(StoreExport, JsonReplacesInvalidUtf8InsteadOfFailing) {
    store_->append_to_message(a_, "\xe5\xa1");  // a cut multi-byte sequence
    Result<std::string> text = store_->export_json(session_).get();
    ASSERT_TRUE(text.is_ok()) << text.status().to_string();
    nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
    ASSERT_FALSE(doc.is_discarded());
    std::string content = doc["messages"][2]["content"];
    EXPECT_NE(content.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
}

TEST_F(StoreExport, MissingSessionIsNotFound) {
    EXPECT_EQ(store_->export_markdown(4242).get().status().code(), ErrorCode::not_found);
    EXPECT_EQ(store_->export_json(4242).get().status().code(), ErrorCode::not_found);
}

TEST_F(StoreExport, RemovedModelIsNullInJsonAndAbsentInMarkdown) {
    test::expect_ok(store_->remove_model(model_));
    nlohmann::json doc = nlohmann::json::parse(get_ok(store_->export_json(session_)));
    EXPECT_TRUE(doc["model"].is_null());
    EXPECT_EQ(get_ok(store_->export_markdown(session_)).find("- Model:"), std::string::npos);
}

}  // namespace
}  // namespace pagoda::store
