// In-process servers for the HTTP tests: stories260K (from ../shared, through the same
// on-demand loading path `pagoda serve` uses) or a seeded random-weight model with a
// given chat template, served on an ephemeral 127.0.0.1 port.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "backend/cpu/create_cpu_backend.h"
#include "fixtures/random_model.h"
#include "model/gguf_file.h"
#include "model/model.h"
#include "server/http_server.h"
#include "server/model_manager.h"

namespace pagoda::server::test {

inline const std::string kStoriesPath = std::string(PAGODA_SHARED_DIR) + "/models/stories260K.gguf";

inline EngineConfig test_engine_config(int32_t max_seqs = 16, int32_t kv_blocks = 512) {
    EngineConfig c;
    c.max_num_seqs = max_seqs;
    c.kv_blocks = kv_blocks;
    c.seed = 7;
    return c;
}

inline EngineFactory cpu_factory(EngineConfig config) {
    return [config](const std::string& path) { return Engine::load(path, create_cpu_backend(1), config); };
}

// A random-weight llama model whose GGUF carries `chat_template`.
inline Result<std::shared_ptr<ServedModel>> random_served_model(const std::string& id,
                                                                const std::string& chat_template,
                                                                EngineConfig config = test_engine_config(),
                                                                int32_t ctx = 1024) {
    fixtures::RandomModelConfig rc;
    rc.seed = 3;
    rc.dim = 64;
    rc.n_layers = 1;
    rc.ffn = 128;
    rc.n_heads = 4;
    rc.n_kv_heads = 2;
    rc.vocab = 512;
    rc.ctx = ctx;
    GgufWriter w;
    PAGODA_RETURN_IF_ERROR(fixtures::build_random_model(rc, w));
    if (!chat_template.empty()) w.set_string("tokenizer.chat_template", chat_template);
    // The model maps these bytes: they live as long as the process (tests only).
    auto* bytes = new std::vector<uint8_t>(w.to_bytes());
    auto file = GgufFile::parse(*bytes, id + ".gguf");
    if (!file) return file.status();
    auto m = std::make_shared<ServedModel>();
    m->id = id;
    m->traits = read_model_traits(*file.value());
    auto backend = create_cpu_backend(1);
    auto model = Model::load(std::move(file.value()), *backend);
    if (!model) return model.status();
    auto engine = Engine::create(std::move(backend), std::move(model.value()), config);
    if (!engine) return engine.status();
    m->engine = std::move(engine.value());
    return m;
}

struct RunningServer {
    std::shared_ptr<ModelManager> models;
    std::unique_ptr<HttpServer> server;
    int port() const { return server->port(); }
};

inline std::unique_ptr<RunningServer> start_server(std::shared_ptr<ModelManager> models, ServerConfig config = {}) {
    config.host = "127.0.0.1";
    config.port = 0;
    auto s = std::make_unique<RunningServer>();
    s->models = models;
    s->server = std::make_unique<HttpServer>(config, models);
    const Status st = s->server->start();
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    if (!st) return nullptr;
    return s;
}

// Waits (bounded) until the model's engine holds no KV blocks and runs nothing.
inline bool wait_kv_free(const Engine& engine, double timeout_s = 30.0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
        const EngineStats s = engine.stats();
        if (s.kv_blocks_used == 0 && s.running == 0 && s.waiting == 0 && s.requests == 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

}  // namespace pagoda::server::test
