// The LoRA adapters a server can answer with, per base model: name -> (base model, file,
// default scale). Adapters come from `pagoda serve --lora` or POST /v1/load_lora_adapter.
// Base models load on demand and may be unloaded and loaded again (model_manager.h), so
// the catalog is the lasting record and an Engine only a cache of it: an adapter is loaded
// into its base's Engine when a request (or the load endpoint) first needs it there.
//
// Naming, for a request's "model":
//   "BASE"          the base model. A base model's id wins over an adapter of the same
//                   name, but the catalog refuses such names when they are registered.
//   "ADAPTER"       the adapter (adapter names are unique across the server) on its base.
//   "BASE:ADAPTER"  the same, naming the base explicitly (it must be the adapter's base).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pagoda/engine.h"
#include "pagoda/request.h"
#include "pagoda/status.h"
#include "server/api_error.h"
#include "server/model_manager.h"

namespace pagoda::server {

struct LoraEntry {
    std::string name;
    std::string base;    // the base model's id
    std::string path;    // PEFT folder / .safetensors / GGUF LoRA
    float scale = 1.0f;  // default scale of requests that name it (multiplies alpha / rank)
};

// "PATH[:SCALE]" -> (PATH, SCALE); a suffix that is not a number stays in the path.
// A scale that is not finite or outside [-100, 100] is an error.
Result<std::pair<std::string, float>> parse_lora_path_scale(const std::string& text);
// "[BASE:]NAME=PATH[:SCALE]" (pagoda serve --lora); base "" when not given.
Result<LoraEntry> parse_lora_spec(const std::string& text);

// A request's "model" resolved: the base model plus the adapters to apply.
struct ResolvedModel {
    std::shared_ptr<ServedModel> model;
    std::vector<AdapterRef> adapters;
    // What identifies each adapter across restarts (name, file, its size and time, scale),
    // for the response-cache key: engine ids are per process.
    std::vector<std::string> adapter_keys;
    std::string name;  // the name responses report: the requested name for an adapter, else the base's id
};

class LoraCatalog {
public:
    // Registers an entry (its base must be set). Duplicate names: invalid_argument.
    Status add(LoraEntry entry);
    // Forgets it; not_found when unknown. Returns the entry that was removed.
    Result<LoraEntry> remove(const std::string& name);
    std::optional<LoraEntry> find(const std::string& name) const;
    std::vector<LoraEntry> list() const;  // in registration order

    // The adapter's id in `engine`, loading it from its file when the engine does not have
    // it (yet, or again after the base model was reloaded).
    Result<int32_t> ensure_loaded(Engine& engine, const LoraEntry& entry);

    // Resolves "model" (see the top of this file) and loads what it needs: 404 for an
    // unknown name, 500 when the base model or the adapter file cannot be loaded.
    ApiResult<ResolvedModel> resolve(ModelManager& models, const std::string& requested);

    // POST /v1/load_lora_adapter: registers `entry` (base "" = the default model) after
    // loading it into its base model (which loads on demand) to check it. 400 with the
    // loader's message for a bad file, 400 for a name already taken.
    ApiResult<LoraEntry> load(ModelManager& models, LoraEntry entry);
    // POST /v1/unload_lora_adapter: forgets it and unloads it from a loaded base model;
    // requests already running keep it until they finish. 404 when unknown.
    ApiResult<LoraEntry> unload(ModelManager& models, const std::string& name);

private:
    mutable std::mutex mutex_;
    std::map<std::string, LoraEntry> entries_;
    std::vector<std::string> order_;
    // Serializes loads into engines (two requests must not load the same adapter twice).
    std::mutex load_mutex_;
    std::mutex update_mutex_;  // load() / unload(): check, load and register as one step
};

// The identity string of an adapter file for cache keys: "name|path|size|mtime|scale".
std::string lora_cache_identity(const LoraEntry& entry, float scale);

}  // namespace pagoda::server
