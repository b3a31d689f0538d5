// Messages form a tree: editing a user message or regenerating a reply adds a sibling, and the
// old branch stays reachable (siblings + select_branch), also after a restart.
#include <gtest/gtest.h>

#include <string>

#include "store_test_util.h"

namespace pagoda::store {
namespace {

using test::get_ok;
using test::TempDir;

std::vector<std::string> contents(const std::vector<Message>& messages) {
    std::vector<std::string> out;
    for (const Message& m : messages) out.push_back(m.content);
    return out;
}

std::vector<int64_t> ids(const std::vector<Message>& messages) {
    std::vector<int64_t> out;
    for (const Message& m : messages) out.push_back(m.id);
    return out;
}

class StoreBranches : public ::testing::Test {
protected:
    void SetUp() override {
        store_ = test::open_store(dir_ / "branches.db");
        ASSERT_TRUE(store_);
        session_ = get_ok(store_->create_session({.title = "branchy"}));
        // user: Q1 -> assistant: A1 -> user: Q2 -> assistant: A2
        q1_ = add(Role::user, "Q1");
        a1_ = add(Role::assistant, "A1");
        q2_ = add(Role::user, "Q2");
        a2_ = add(Role::assistant, "A2");
    }
    int64_t add(Role role, const std::string& text) {
        return get_ok(store_->add_message({.session_id = session_, .role = role, .content = text}));
    }
    std::vector<std::string> path() { return contents(get_ok(store_->active_path(session_))); }

    TempDir dir_;
    std::unique_ptr<Store> store_;
    int64_t session_ = 0, q1_ = 0, a1_ = 0, q2_ = 0, a2_ = 0;
};

TEST_F(StoreBranches, AddMessageFollowsTheActiveLeaf) {
    std::vector<Message> messages = get_ok(store_->active_path(session_));
    EXPECT_EQ(contents(messages), (std::vector<std::string>{"Q1", "A1", "Q2", "A2"}));
    EXPECT_FALSE(messages[0].parent_id.has_value());
    EXPECT_EQ(messages[1].parent_id, q1_);
    EXPECT_EQ(messages[2].parent_id, a1_);
    EXPECT_EQ(messages[3].parent_id, q2_);
    EXPECT_EQ(messages[1].role, Role::assistant);
    EXPECT_EQ(get_ok(store_->get_session(session_)).active_leaf_id, a2_);
}

TEST_F(StoreBranches, EditCreatesANewBranchAndKeepsTheOld) {
    int64_t q2b = get_ok(store_->edit_message(q2_, "Q2 edited"));
    EXPECT_NE(q2b, q2_);
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2 edited"}));
    Message edited = get_ok(store_->get_message(q2b));
    EXPECT_EQ(edited.parent_id, a1_);
    EXPECT_EQ(edited.role, Role::user);

    // The reply to the edited question continues the new branch.
    int64_t a2b = add(Role::assistant, "A2 for the edit");
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2 edited", "A2 for the edit"}));
    EXPECT_EQ(get_ok(store_->get_message(a2b)).parent_id, q2b);

    // Both versions of the question are siblings, oldest first, from either side.
    EXPECT_EQ(ids(get_ok(store_->siblings(q2_))), (std::vector<int64_t>{q2_, q2b}));
    EXPECT_EQ(ids(get_ok(store_->siblings(q2b))), (std::vector<int64_t>{q2_, q2b}));
    EXPECT_EQ(ids(get_ok(store_->siblings(a1_))), (std::vector<int64_t>{a1_}));

    // Switching back shows the original branch down to its last message.
    test::expect_ok(store_->select_branch(q2_));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2", "A2"}));
    test::expect_ok(store_->select_branch(q2b));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2 edited", "A2 for the edit"}));

    // Nothing was lost.
    EXPECT_EQ(get_ok(store_->all_messages(session_)).size(), 6u);
}

TEST_F(StoreBranches, EditingTheFirstMessageMakesASecondRoot) {
    int64_t q1b = get_ok(store_->edit_message(q1_, "Q1 again"));
    EXPECT_FALSE(get_ok(store_->get_message(q1b)).parent_id.has_value());
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1 again"}));
    EXPECT_EQ(ids(get_ok(store_->siblings(q1_))), (std::vector<int64_t>{q1_, q1b}));
    test::expect_ok(store_->select_branch(q1_));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2", "A2"}));
}

TEST_F(StoreBranches, RegenerateAddsAnIncompleteSiblingToStreamInto) {
    int64_t a2b = get_ok(store_->regenerate_message(a2_));
    Message fresh = get_ok(store_->get_message(a2b));
    EXPECT_EQ(fresh.role, Role::assistant);
    EXPECT_EQ(fresh.parent_id, q2_);
    EXPECT_FALSE(fresh.completed);
    EXPECT_EQ(fresh.content, "");
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2", ""}));

    store_->append_to_message(a2b, "A2 take ");
    store_->append_to_message(a2b, "two");
    test::expect_ok(store_->finish_message(a2b, {.prompt_tokens = 12, .completion_tokens = 3, .tokens_per_s = 42.5}));
    Message done = get_ok(store_->get_message(a2b));
    EXPECT_EQ(done.content, "A2 take two");
    EXPECT_TRUE(done.completed);
    EXPECT_EQ(done.stats.prompt_tokens, 12);
    EXPECT_EQ(done.stats.completion_tokens, 3);
    EXPECT_DOUBLE_EQ(done.stats.tokens_per_s, 42.5);

    int64_t a2c = get_ok(store_->regenerate_message(a2b));
    EXPECT_EQ(ids(get_ok(store_->siblings(a2_))), (std::vector<int64_t>{a2_, a2b, a2c}));
    test::expect_ok(store_->select_branch(a2_));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2", "A2"}));

    // Only assistant replies are regenerated.
    EXPECT_EQ(store_->regenerate_message(q2_).get().status().code(), ErrorCode::invalid_argument);
}

TEST_F(StoreBranches, SelectBranchFollowsTheNewestChildToALeaf) {
    int64_t a1b = get_ok(store_->regenerate_message(a1_));
    store_->append_to_message(a1b, "A1 second");
    test::expect_ok(store_->finish_message(a1b));
    int64_t q2b = add(Role::user, "Q2 on second");
    EXPECT_EQ(get_ok(store_->get_message(q2b)).parent_id, a1b);
    // From the top: Q1 has two replies; the newest is followed.
    test::expect_ok(store_->select_branch(q1_));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1 second", "Q2 on second"}));
    test::expect_ok(store_->select_branch(a1_));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2", "A2"}));
    EXPECT_EQ(store_->select_branch(987654).get().code(), ErrorCode::not_found);
}

TEST_F(StoreBranches, ExplicitParentsAndRootsAreChecked) {
    int64_t other = get_ok(store_->create_session({.title = "other"}));
    Result<int64_t> foreign =
        store_->add_message({.session_id = other, .parent_id = a1_, .content = "wrong session"}).get();
    EXPECT_EQ(foreign.status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(store_->add_message({.session_id = session_, .parent_id = 55555}).get().status().code(),
              ErrorCode::not_found);
    EXPECT_EQ(store_->add_message({.session_id = 55555}).get().status().code(), ErrorCode::not_found);

    int64_t branch = get_ok(store_->add_message({.session_id = session_, .parent_id = a1_, .content = "side"}));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "side"}));
    int64_t root = get_ok(store_->add_message({.session_id = session_, .root = true, .content = "fresh start"}));
    EXPECT_EQ(path(), (std::vector<std::string>{"fresh start"}));
    EXPECT_EQ(ids(get_ok(store_->siblings(branch))), (std::vector<int64_t>{q2_, branch}));
    EXPECT_EQ(ids(get_ok(store_->siblings(root))), (std::vector<int64_t>{q1_, root}));
}

TEST_F(StoreBranches, BranchesAndTheActiveLeafSurviveARestart) {
    int64_t q2b = get_ok(store_->edit_message(q2_, "Q2 edited"));
    int64_t a2b = add(Role::assistant, "A2b");
    int64_t a2c = get_ok(store_->regenerate_message(a2b));
    store_->append_to_message(a2c, "A2c streamed");
    test::expect_ok(store_->finish_message(a2c));
    store_.reset();

    store_ = test::open_store(dir_ / "branches.db");
    ASSERT_TRUE(store_);
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2 edited", "A2c streamed"}));
    EXPECT_EQ(ids(get_ok(store_->siblings(q2b))), (std::vector<int64_t>{q2_, q2b}));
    EXPECT_EQ(ids(get_ok(store_->siblings(a2c))), (std::vector<int64_t>{a2b, a2c}));
    test::expect_ok(store_->select_branch(q2_));
    EXPECT_EQ(path(), (std::vector<std::string>{"Q1", "A1", "Q2", "A2"}));
}

TEST_F(StoreBranches, DanglingOrCyclicLinksDoNotHang) {
    // A hand-edited database: the active leaf points nowhere, and two messages point at each
    // other. The store must answer (with the newest message's branch), not loop.
    store_.reset();
    {
        test::RawDb raw(dir_ / "branches.db");
        raw.exec(
            "PRAGMA foreign_keys = OFF; UPDATE sessions SET active_leaf_id = 99999; "
            "UPDATE messages SET parent_id = " +
            std::to_string(a2_) + " WHERE id = " + std::to_string(q1_));
    }
    store_ = test::open_store(dir_ / "branches.db");
    ASSERT_TRUE(store_);
    Result<std::vector<Message>> cyclic = store_->active_path(session_).get();
    ASSERT_TRUE(cyclic.is_ok()) << cyclic.status().to_string();
    EXPECT_FALSE(cyclic->empty());
    EXPECT_EQ(cyclic->back().id, a2_);  // newest message
    EXPECT_TRUE(store_->select_branch(q1_).get().is_ok());
}

}  // namespace
}  // namespace pagoda::store
