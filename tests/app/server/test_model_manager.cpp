// Model switching by name: files found in a folder are loaded on demand, at most
// max_loaded stay loaded (least recently used goes first), idle ones are unloaded after
// the TTL, and a request holding a model keeps it alive through an unload.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fixtures/random_model.h"
#include "server_test_fixture.h"

namespace pagoda::server::test {
namespace {

namespace fs = std::filesystem;

class ModelFolder : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("pagoda_models_" + std::to_string(::getpid()));
        fs::create_directories(dir_ / "sub");
        for (const auto& [name, seed] : {std::pair<std::string, uint64_t>{"alpha.gguf", 1}, {"sub/beta.gguf", 2}}) {
            fixtures::RandomModelConfig c;
            c.seed = seed;
            c.dim = 64;
            c.n_layers = 1;
            c.ffn = 128;
            c.n_heads = 4;
            c.n_kv_heads = 2;
            ASSERT_TRUE(fixtures::write_random_model(c, (dir_ / name).string()).is_ok());
        }
        std::ofstream(dir_ / "notes.txt") << "not a model";
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::shared_ptr<ModelManager> manager(ModelManagerConfig config) {
        auto m = std::make_shared<ModelManager>(cpu_factory(test_engine_config(4, 64)), config);
        auto n = m->add_directory(dir_.string());
        EXPECT_TRUE(n.is_ok());
        if (n) {
            EXPECT_EQ(*n, 2);
        }
        return m;
    }

    fs::path dir_;
};

bool loaded(const ModelManager& m, const std::string& id) {
    for (const auto& l : m.list()) {
        if (l.id == id) return l.loaded;
    }
    return false;
}

TEST_F(ModelFolder, LoadsOnDemandAndKeepsTheMostRecentlyUsed) {
    auto m = manager(ModelManagerConfig{1, 0.0});
    const auto listed = m->list();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].id, "alpha");
    EXPECT_EQ(listed[1].id, "beta");
    EXPECT_FALSE(listed[0].loaded);

    auto a = m->acquire("alpha");
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_TRUE(loaded(*m, "alpha"));
    EXPECT_EQ(a.value()->id, "alpha");

    auto b = m->acquire("beta");
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_TRUE(loaded(*m, "beta"));
    EXPECT_FALSE(loaded(*m, "alpha"));  // max_loaded 1: alpha went
    // ...but the holder of alpha still has a working engine.
    EXPECT_GT(a.value()->engine->max_model_len(), 0);

    auto missing = m->acquire("gamma");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().status, 404);
    EXPECT_EQ(missing.error().code, "model_not_found");
    // "" is the default model, the first registered.
    auto def = m->acquire("");
    ASSERT_TRUE(def.ok());
    EXPECT_EQ(def.value()->id, "alpha");
}

TEST_F(ModelFolder, IdleModelsAreUnloadedAfterTheTtl) {
    auto m = manager(ModelManagerConfig{0, 5.0});
    {
        auto a = m->acquire("alpha");
        ASSERT_TRUE(a.ok());
        // In use: never unloaded, however long.
        EXPECT_EQ(m->unload_idle(ModelManager::Clock::now() + std::chrono::seconds(60)), 0);
    }
    EXPECT_EQ(m->unload_idle(ModelManager::Clock::now() + std::chrono::seconds(1)), 0);
    EXPECT_TRUE(loaded(*m, "alpha"));
    EXPECT_EQ(m->unload_idle(ModelManager::Clock::now() + std::chrono::seconds(120)), 1);
    EXPECT_FALSE(loaded(*m, "alpha"));
    EXPECT_TRUE(m->acquire("alpha").ok());  // and back on demand
}

TEST_F(ModelFolder, ABrokenFileIsA500NotACrash) {
    auto m = manager(ModelManagerConfig{1, 0.0});
    std::ofstream(dir_ / "broken.gguf") << "GGUF but not really";
    ASSERT_TRUE(m->add_file((dir_ / "broken.gguf").string()).is_ok());
    auto r = m->acquire("broken");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 500);
    EXPECT_NE(r.error().message.find("could not be loaded"), std::string::npos);
    EXPECT_FALSE(m->add_file((dir_ / "alpha.gguf").string()).is_ok());  // the name is taken
}

TEST(ModelIds, BaseNameWithoutGguf) {
    EXPECT_EQ(ModelManager::model_id_for_path("/models/TinyLlama-1.1B.Q4_0.gguf"), "TinyLlama-1.1B.Q4_0");
    EXPECT_EQ(ModelManager::model_id_for_path("x/MODEL.GGUF"), "MODEL");
    EXPECT_EQ(ModelManager::model_id_for_path("plain"), "plain");
}

}  // namespace
}  // namespace pagoda::server::test
