// The Engine: one loaded model, one backend, one paged KV cache, many requests.
//
//   submit(Request, Sink) -> inbox (mutex + condvar) -> engine thread:
//     drain inbox -> schedule (continuous batching, chunked prefill, preemption)
//     -> one forward step for every scheduled sequence -> sample -> Sink callbacks
//
// Thread-safe: submit, cancel and stats may be called from any thread. Sinks are called
// on the engine thread and must not block. No exception crosses this API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pagoda/request.h"
#include "pagoda/status.h"
#include "pagoda/types.h"

namespace pagoda {

class Backend;
class Model;
class Tokenizer;
struct LoraAdapter;
struct ModelConfig;

struct EngineConfig {
    int32_t max_num_seqs = 64;             // sequences running at once (n > 1 samples count each)
    int32_t max_num_batched_tokens = 512;  // token budget of one step (decodes + prefill chunks)
    int32_t max_model_len = 0;             // context per sequence; 0: the model's context length
    int32_t block_size = 16;               // tokens per KV block
    // KV pool size: kv_blocks if set, else kv_memory_bytes, else a default (room for
    // max_num_seqs full contexts, at most 1 GiB, at least one full context).
    int32_t kv_blocks = 0;
    int64_t kv_memory_bytes = 0;
    // Or this fraction (0..1] of the device memory still free once the weights are loaded,
    // less a reserve for activations (backends with memory of their own: CUDA). Ignored
    // on the CPU, whose KV pool then takes the default.
    double kv_memory_fraction = 0.0;
    GgmlType kv_type = GgmlType::F16;  // F16, F32 or Q8_0
    bool enable_prefix_caching = true;
    // Seeds the seeds of requests that bring none (0: from std::random_device).
    uint64_t seed = 0;
    // LoRA adapters: backend memory their matrices may hold (0: no limit). Past it the
    // least recently used adapters lose their backend copy (the host copy stays) and are
    // uploaded again when a request needs them. The adapters of the running step always
    // stay, so one step may go over.
    int64_t lora_memory_bytes = 0;
    GgmlType lora_type = GgmlType::F32;  // backend encoding of A and B: F32 or F16
};

struct EngineStats {
    int32_t running = 0;   // sequences
    int32_t waiting = 0;   // sequences (preempted ones included)
    int32_t requests = 0;  // unfinished requests
    int32_t kv_blocks_total = 0;
    int32_t kv_blocks_used = 0;    // referenced by a sequence
    int32_t kv_blocks_free = 0;    // handed out on demand (cached ones included)
    int32_t kv_blocks_cached = 0;  // holding prefix-cache contents (in use or free)
    int32_t block_size = 0;
    // Of the slots in used blocks, how many hold no token (allocated, unused).
    int64_t kv_slots_allocated = 0;
    int64_t kv_slots_filled = 0;
    // Prefix cache, in prompt tokens looked up / found.
    int64_t prefix_cache_queries = 0;
    int64_t prefix_cache_hits = 0;
    double prefix_cache_hit_rate = 0.0;
    // Over the last few seconds.
    double prompt_tokens_per_s = 0.0;
    double generated_tokens_per_s = 0.0;
    // Since start.
    int64_t steps = 0;
    int64_t prompt_tokens_computed = 0;  // prefill tokens run through the model (recomputation included)
    int64_t generated_tokens = 0;
    int64_t preemptions = 0;
    int64_t requests_finished = 0;
    // LoRA adapters (live, not the last step's snapshot).
    int32_t adapters_loaded = 0;          // loaded and not unloaded
    int64_t adapter_host_bytes = 0;       // host copies (fp32), unloaded ones still in use included
    int64_t adapter_backend_bytes = 0;    // resident backend copies
    int64_t adapter_uploads = 0;          // backend copies made (first use and after eviction)
    int64_t adapter_evictions = 0;        // backend copies dropped for the memory budget
};

// One loaded LoRA adapter (Engine::list_adapters).
struct AdapterInfo {
    int32_t id = 0;
    std::string name;
    std::string source_path;  // file or folder it came from ("" for adapters built in memory)
    int32_t rank = 0;
    float alpha = 0.0f;
    float scale = 1.0f;          // alpha / rank (the per-request scale multiplies it)
    int32_t n_modules = 0;       // (layer, projection) pairs it changes
    int64_t host_bytes = 0;      // fp32 host copy
    int64_t backend_bytes = 0;   // backend copy, when resident
    bool resident = false;       // its matrices are on the backend now
    int32_t in_flight = 0;       // unfinished requests using it
    bool unloading = false;      // unload_adapter was called; it goes when in_flight reaches 0
};

class EngineCore;

class Engine {
public:
    // Takes the backend and a model loaded on it; sizes and allocates the KV cache and
    // starts the engine thread.
    static Result<std::unique_ptr<Engine>> create(std::unique_ptr<Backend> backend, std::unique_ptr<Model> model,
                                                  const EngineConfig& config);
    // Loads a GGUF onto the backend, then create().
    static Result<std::unique_ptr<Engine>> load(const std::string& gguf_path, std::unique_ptr<Backend> backend,
                                                const EngineConfig& config);

    // Finishes every unfinished request as cancelled and stops the thread.
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Checks the request now (empty prompt, token ids outside the vocabulary, a prompt
    // that does not fit the context or the KV cache, bad sampling values, LoRA adapter ids
    // that are not loaded, adapters on a backend without LoRA support): a clear error
    // and no callback. Otherwise queues it and returns its id; the sink then gets its
    // deltas and exactly one on_finish.
    Result<RequestId> submit(Request request, std::shared_ptr<Sink> sink);
    // Finishes the request as cancelled at the next step boundary and frees its KV
    // blocks. Unknown or finished ids are ignored.
    void cancel(RequestId id);
    EngineStats stats() const;

    // Blocks until no request is waiting or running (or timeout_s passes; < 0: forever).
    bool wait_idle(double timeout_s = -1.0) const;

    // ---- LoRA adapters (thread-safe; refused on a backend without supports_lora) -------
    // Registers an adapter checked against the model (shapes, finite values) and returns
    // its id (ids start at 1 and are never reused). `name` overrides adapter.name; names
    // are unique among loaded adapters. The backend copy is made on first use.
    Result<int32_t> load_adapter(const LoraAdapter& adapter, const std::string& name = "");
    Result<int32_t> load_adapter(LoraAdapter&& adapter, const std::string& name = "");
    // Reads a PEFT folder / safetensors or a GGUF LoRA file (lora/load_lora_adapter.h);
    // name defaults to the file stem.
    Result<int32_t> load_adapter(const std::string& path, const std::string& name = "");
    // New requests can no longer use it; requests already submitted keep it until they
    // finish, then its memory is released. Unknown ids / names: not_found.
    Status unload_adapter(int32_t id);
    Status unload_adapter(const std::string& name);
    std::vector<AdapterInfo> list_adapters() const;  // by id
    Result<int32_t> adapter_id(const std::string& name) const;

    const ModelConfig& model_config() const;
    const Tokenizer* tokenizer() const;  // null when the model's tokenizer did not load
    int32_t max_model_len() const;
    std::string backend_name() const;

private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace pagoda
