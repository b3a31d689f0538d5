#include "server/lora_catalog.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace pagoda::server {

namespace fs = std::filesystem;

Result<std::pair<std::string, float>> parse_lora_path_scale(const std::string& text) {
    std::string path = text;
    float scale = 1.0f;
    if (const size_t colon = text.rfind(':'); colon != std::string::npos && colon + 1 < text.size()) {
        const std::string tail = text.substr(colon + 1);
        char* end = nullptr;
        const double v = std::strtod(tail.c_str(), &end);
        if (end == tail.c_str() + tail.size()) {
            if (!std::isfinite(v) || v < -100.0 || v > 100.0) {
                return invalid_argument("LoRA scale '" + tail + "' must be a number between -100 and 100");
            }
            scale = static_cast<float>(v);
            path = text.substr(0, colon);
        }
    }
    if (path.empty()) return invalid_argument("LoRA adapter '" + text + "' names no file");
    return std::make_pair(path, scale);
}

Result<LoraEntry> parse_lora_spec(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        return invalid_argument("--lora expects NAME=PATH[:SCALE], got '" + text + "'");
    }
    LoraEntry e;
    e.name = text.substr(0, eq);
    if (const size_t colon = e.name.find(':'); colon != std::string::npos) {
        e.base = e.name.substr(0, colon);
        e.name = e.name.substr(colon + 1);
    }
    if (e.name.empty()) return invalid_argument("--lora '" + text + "' has an empty adapter name");
    auto ps = parse_lora_path_scale(text.substr(eq + 1));
    if (!ps) return ps.status();
    e.path = ps->first;
    e.scale = ps->second;
    return e;
}

std::string lora_cache_identity(const LoraEntry& entry, float scale) {
    // The file's size and time: a file replaced under the same name is another adapter.
    // (For a PEFT folder, the folder's own time.)
    std::error_code ec;
    fs::path p(entry.path);
    fs::path weights = p;
    if (fs::is_directory(p, ec)) {
        for (const char* f : {"adapter_model.safetensors", "adapter_model.bin"}) {
            if (fs::exists(p / f, ec)) {
                weights = p / f;
                break;
            }
        }
    }
    const auto size = fs::is_regular_file(weights, ec) ? static_cast<long long>(fs::file_size(weights, ec)) : -1LL;
    const auto mtime = static_cast<long long>(fs::last_write_time(weights, ec).time_since_epoch().count());
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(scale));
    return entry.name + "|" + fs::absolute(p, ec).string() + "|" + std::to_string(size) + "|" + std::to_string(mtime) +
           "|" + buf;
}

Status LoraCatalog::add(LoraEntry entry) {
    if (entry.name.empty()) return invalid_argument("a LoRA adapter needs a name");
    if (entry.base.empty()) return invalid_argument("LoRA adapter '" + entry.name + "' has no base model");
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.count(entry.name)) {
        return invalid_argument("The LoRA adapter '" + entry.name + "' has already been loaded");
    }
    order_.push_back(entry.name);
    entries_.emplace(entry.name, std::move(entry));
    return Status::ok();
}

Result<LoraEntry> LoraCatalog::remove(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return not_found("The LoRA adapter '" + name + "' cannot be found");
    LoraEntry e = std::move(it->second);
    entries_.erase(it);
    order_.erase(std::find(order_.begin(), order_.end(), name));
    return e;
}

std::optional<LoraEntry> LoraCatalog::find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
}

std::vector<LoraEntry> LoraCatalog::list() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LoraEntry> out;
    for (const std::string& n : order_) out.push_back(entries_.at(n));
    return out;
}

Result<int32_t> LoraCatalog::ensure_loaded(Engine& engine, const LoraEntry& entry) {
    if (auto id = engine.adapter_id(entry.name)) return id;
    std::lock_guard<std::mutex> lock(load_mutex_);
    if (auto id = engine.adapter_id(entry.name)) return id;  // another thread just loaded it
    std::fprintf(stderr, "pagoda serve: loading LoRA adapter %s from %s\n", entry.name.c_str(), entry.path.c_str());
    return engine.load_adapter(entry.path, entry.name);
}

namespace {

bool is_model_id(const ModelManager& models, const std::string& id) {
    for (const ModelListing& l : models.list()) {
        if (l.id == id) return true;
    }
    return false;
}

}  // namespace

ApiResult<ResolvedModel> LoraCatalog::resolve(ModelManager& models, const std::string& requested) {
    std::optional<LoraEntry> entry;
    if (!requested.empty() && !is_model_id(models, requested)) {
        entry = find(requested);
        if (!entry) {
            // "BASE:ADAPTER" (model ids may hold ':' too: those matched above).
            if (const size_t colon = requested.rfind(':'); colon != std::string::npos) {
                entry = find(requested.substr(colon + 1));
                if (entry && entry->base != requested.substr(0, colon)) entry.reset();
            }
        }
        if (!entry) return model_not_found(requested);
    }
    ResolvedModel r;
    auto model = models.acquire(entry ? entry->base : requested);
    if (!model) return model.error();
    r.model = std::move(model.value());
    r.name = r.model->id;
    if (!entry) return r;
    auto id = ensure_loaded(*r.model->engine, *entry);
    if (!id) {
        return server_error("The LoRA adapter '" + entry->name + "' could not be loaded: " + id.status().message());
    }
    r.adapters.push_back(AdapterRef{id.value(), entry->scale});
    r.adapter_keys.push_back(lora_cache_identity(*entry, entry->scale));
    r.name = requested;  // echoed as asked ("ADAPTER" or "BASE:ADAPTER"), as vLLM does
    return r;
}

ApiResult<LoraEntry> LoraCatalog::load(ModelManager& models, LoraEntry entry) {
    if (entry.name.empty() || entry.path.empty()) {
        return invalid_request("Both 'lora_name' and 'lora_path' must be given");
    }
    if (entry.name.size() > 256) return invalid_param("lora_name", "lora_name is longer than 256 characters");
    if (entry.base.empty()) entry.base = models.default_model();
    if (!is_model_id(models, entry.base))
        return invalid_param("base_model_name", "no model is named '" + entry.base + "'");
    if (is_model_id(models, entry.name)) {
        return invalid_param("lora_name", "'" + entry.name + "' is already the name of a model");
    }
    std::lock_guard<std::mutex> update(update_mutex_);
    if (find(entry.name)) {
        return invalid_param("lora_name", "The LoRA adapter '" + entry.name + "' has already been loaded");
    }
    auto model = models.acquire(entry.base);
    if (!model) return model.error();
    Engine& engine = *model.value()->engine;
    {
        std::lock_guard<std::mutex> lock(load_mutex_);
        // An earlier adapter of this name that was unloaded but still finishes requests does
        // not block the name: those requests keep the old one, new ones get this one.
        auto id = engine.load_adapter(entry.path, entry.name);
        if (!id) return invalid_param("lora_path", id.status().message());
    }
    if (Status s = add(entry); !s) {
        (void)engine.unload_adapter(entry.name);
        return invalid_param("lora_name", s.message());
    }
    std::fprintf(stderr, "pagoda serve: LoRA adapter %s loaded on %s from %s\n", entry.name.c_str(), entry.base.c_str(),
                 entry.path.c_str());
    return entry;
}

ApiResult<LoraEntry> LoraCatalog::unload(ModelManager& models, const std::string& name) {
    if (name.empty()) return invalid_param("lora_name", "'lora_name' must be given");
    std::lock_guard<std::mutex> update(update_mutex_);
    auto removed = remove(name);
    if (!removed) {
        ApiError e = invalid_param("lora_name", removed.status().message());
        e.status = 404;
        e.type = "not_found_error";
        e.code = "lora_not_found";
        return e;
    }
    for (const auto& m : models.loaded_models()) {
        if (m->id == removed->base && m->engine) (void)m->engine->unload_adapter(name);  // not loaded there: fine
    }
    std::fprintf(stderr, "pagoda serve: LoRA adapter %s unloaded\n", name.c_str());
    return removed.value();
}

}  // namespace pagoda::server
