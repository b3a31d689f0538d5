#include "server/model_manager.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "model/gguf_file.h"

namespace pagoda::server {

namespace fs = std::filesystem;

ModelManager::ModelManager(EngineFactory factory, ModelManagerConfig config)
    : factory_(std::move(factory)), config_(config) {}

ModelManager::~ModelManager() = default;

std::string ModelManager::model_id_for_path(const std::string& path) {
    std::string name = fs::path(path).filename().string();
    const std::string ext = ".gguf";
    if (name.size() > ext.size()) {
        std::string tail = name.substr(name.size() - ext.size());
        std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
        if (tail == ext) name.resize(name.size() - ext.size());
    }
    return name;
}

Status ModelManager::add_file(const std::string& path, const std::string& id) {
    const std::string name = id.empty() ? model_id_for_path(path) : id;
    if (name.empty()) return invalid_argument("cannot name a model after '" + path + "'");
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.count(name)) return invalid_argument("two models are named '" + name + "'");
    Entry e;
    e.id = name;
    e.path = path;
    entries_.emplace(name, std::move(e));
    order_.push_back(name);
    return Status::ok();
}

Result<int> ModelManager::add_directory(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return not_found("'" + dir + "' is not a folder");
    std::vector<std::string> files;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) return io_error("cannot list '" + dir + "': " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it.depth() > 2) {
            it.disable_recursion_pending();
            continue;
        }
        const fs::path& p = it->path();
        std::string ext = p.extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        if (ext == ".gguf" && it->is_regular_file(ec)) files.push_back(p.string());
    }
    std::sort(files.begin(), files.end());
    int added = 0;
    for (const std::string& f : files) {
        // The same name twice (two quantizations in different folders): keep the first.
        if (add_file(f)) ++added;
    }
    return added;
}

Status ModelManager::add_loaded(std::shared_ptr<ServedModel> model) {
    if (!model || !model->engine) return invalid_argument("add_loaded needs a model with an engine");
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.count(model->id)) return invalid_argument("two models are named '" + model->id + "'");
    Entry e;
    e.id = model->id;
    e.path = model->path;
    e.pinned = true;
    e.last_used = Clock::now();
    e.model = std::move(model);
    order_.push_back(e.id);
    entries_.emplace(e.id, std::move(e));
    return Status::ok();
}

Result<std::shared_ptr<ServedModel>> ModelManager::load_file(const std::string& id, const std::string& path) {
    auto gguf = GgufFile::open(path);
    if (!gguf) return gguf.status();
    ModelTraits traits = read_model_traits(*gguf.value());
    gguf.value().reset();  // the engine maps the file itself
    if (!factory_) return unsupported("this server cannot load models on demand");
    auto engine = factory_(path);
    if (!engine) return engine.status();
    auto m = std::make_shared<ServedModel>();
    m->id = id;
    m->path = path;
    m->engine = std::move(engine.value());
    m->traits = std::move(traits);
    m->created = static_cast<int64_t>(std::time(nullptr));
    return m;
}

void ModelManager::evict_for_one_more_locked() {
    if (config_.max_loaded <= 0) return;
    for (;;) {
        int loaded = 0;
        Entry* lru = nullptr;
        for (auto& [name, e] : entries_) {
            if (!e.model) continue;
            ++loaded;
            if (!e.pinned && (!lru || e.last_used < lru->last_used)) lru = &e;
        }
        if (loaded < config_.max_loaded || !lru) return;
        std::fprintf(stderr, "pagoda serve: unloading %s (least recently used)\n", lru->id.c_str());
        lru->model.reset();
    }
}

Status ModelManager::preload(const std::string& id) {
    auto r = acquire(id);
    if (!r) return Status::error(ErrorCode::internal, r.error().message);
    return Status::ok();
}

ApiResult<std::shared_ptr<ServedModel>> ModelManager::acquire(const std::string& requested) {
    std::shared_ptr<std::mutex> load_mutex;
    std::string id, path;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        id = requested.empty() && !order_.empty() ? order_.front() : requested;
        auto it = entries_.find(id);
        if (it == entries_.end()) return model_not_found(requested);
        it->second.last_used = Clock::now();
        if (it->second.model) return it->second.model;
        load_mutex = it->second.load_mutex;
        path = it->second.path;
    }
    // One load per model at a time; others asking for it wait here and then find it loaded.
    std::lock_guard<std::mutex> load_lock(*load_mutex);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end()) return model_not_found(requested);
        if (it->second.model) return it->second.model;
        evict_for_one_more_locked();
    }
    std::fprintf(stderr, "pagoda serve: loading %s from %s\n", id.c_str(), path.c_str());
    auto loaded = load_file(id, path);
    if (!loaded) {
        return server_error("The model '" + id + "' could not be loaded: " + loaded.status().message());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& e = entries_.at(id);
    evict_for_one_more_locked();
    e.model = std::move(loaded.value());
    e.last_used = Clock::now();
    return e.model;
}

std::vector<ModelListing> ModelManager::list() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<ModelListing> out;
    for (const std::string& id : order_) {
        const Entry& e = entries_.at(id);
        out.push_back(ModelListing{e.id, e.path, e.model != nullptr, e.model ? e.model->created : 0});
    }
    return out;
}

std::vector<std::shared_ptr<ServedModel>> ModelManager::loaded_models() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::shared_ptr<ServedModel>> out;
    for (const std::string& id : order_) {
        if (const auto& m = entries_.at(id).model) out.push_back(m);
    }
    return out;
}

std::string ModelManager::default_model() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_.empty() ? std::string() : order_.front();
}

int ModelManager::unload_idle(Clock::time_point now) {
    if (config_.idle_ttl_s <= 0) return 0;
    std::vector<std::shared_ptr<ServedModel>> dropped;  // destroyed outside the lock
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& [name, e] : entries_) {
            if (!e.model || e.pinned) continue;
            // In use: requests hold references beyond ours.
            if (e.model.use_count() > 1) {
                e.last_used = now;
                continue;
            }
            if (std::chrono::duration<double>(now - e.last_used).count() >= config_.idle_ttl_s) {
                std::fprintf(stderr, "pagoda serve: unloading %s (idle)\n", e.id.c_str());
                dropped.push_back(std::move(e.model));
            }
        }
    }
    return static_cast<int>(dropped.size());
}

}  // namespace pagoda::server
