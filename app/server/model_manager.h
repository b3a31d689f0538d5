// The models a server can answer with, by name. Files (from --model and --models-dir,
// or registered by the app) are loaded on demand; at most max_loaded stay loaded (the
// least recently used one is unloaded first) and one idle for idle_ttl_s is unloaded.
// Requests hold a shared_ptr to their model, so unloading never pulls an engine out
// from under a running request: it goes away when the last one finishes.
//
// Thread-safe. Loading runs on the caller's thread, once per model at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pagoda/engine.h"
#include "pagoda/status.h"
#include "server/api_error.h"
#include "server/served_model.h"

namespace pagoda::server {

// Builds an Engine for a GGUF path (the caller picks the backend and the KV size).
using EngineFactory = std::function<Result<std::unique_ptr<Engine>>(const std::string& path)>;

struct ModelManagerConfig {
    int max_loaded = 1;        // 0: no limit
    double idle_ttl_s = 0.0;   // 0: never unload for idleness
};

struct ModelListing {
    std::string id;
    std::string path;
    bool loaded = false;
    int64_t created = 0;
};

class ModelManager {
public:
    using Clock = std::chrono::steady_clock;

    ModelManager(EngineFactory factory, ModelManagerConfig config);
    ~ModelManager();

    // The API name of a file: its base name without ".gguf".
    static std::string model_id_for_path(const std::string& path);

    // Registers a file under its id (or `id`). An id already taken is an error.
    Status add_file(const std::string& path, const std::string& id = {});
    // Registers every *.gguf under dir (two folder levels deep); returns how many.
    Result<int> add_directory(const std::string& dir);
    // Registers a model built by the caller (tests, the desktop app); it stays loaded.
    Status add_loaded(std::shared_ptr<ServedModel> model);

    // Loads now (pagoda serve's --model, so the first request is fast).
    Status preload(const std::string& id);

    // The model for a request: "" means the default one (the first registered). Loads
    // on demand. 404 for an unknown name, 500 when loading fails.
    ApiResult<std::shared_ptr<ServedModel>> acquire(const std::string& id);

    std::vector<ModelListing> list() const;
    std::vector<std::shared_ptr<ServedModel>> loaded_models() const;
    std::string default_model() const;

    // Unloads models idle for longer than idle_ttl_s; returns how many.
    int unload_idle(Clock::time_point now = Clock::now());

private:
    struct Entry {
        std::string id, path;
        std::shared_ptr<ServedModel> model;  // null while not loaded
        bool pinned = false;                 // registered loaded: never unloaded
        Clock::time_point last_used{};
        std::shared_ptr<std::mutex> load_mutex = std::make_shared<std::mutex>();
    };

    Result<std::shared_ptr<ServedModel>> load_file(const std::string& id, const std::string& path);
    void evict_for_one_more_locked();

    EngineFactory factory_;
    ModelManagerConfig config_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    std::vector<std::string> order_;  // registration order
};

}  // namespace pagoda::server
