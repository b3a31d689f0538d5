// The engine's loaded LoRA adapters: ids, names, reference counts of the requests using
// them, and their backend copies under a memory budget.
//
// Three places an adapter can be:
//   host     the fp32 LoraAdapter, from add() until it is removed and no request uses it;
//   backend  A and B uploaded with Backend::load_weight (F32 or F16), made on first use,
//            dropped (least recently used first) when the resident adapters would exceed
//            the budget, and made again from the host copy when needed;
//   gone     remove() hides the adapter from new requests at once; the requests holding it
//            keep it, and its memory is released by the first collect_garbage() after the
//            last of them let go.
//
// Threads: add/remove/find/check/acquire/release/list/stats may be called from any thread
// (one mutex). make_resident, resident, collect_garbage and the destructor call the
// backend, so they belong to the thread that runs the steps (the engine thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "lora/lora_adapter.h"
#include "lora/lora_step_plan.h"
#include "model/model_config.h"
#include "pagoda/engine.h"
#include "pagoda/request.h"
#include "pagoda/status.h"

namespace pagoda {

struct AdapterRegistryConfig {
    uint64_t backend_budget_bytes = 0;  // 0: no limit
    GgmlType type = GgmlType::F32;      // F32 or F16
};

struct AdapterRegistryStats {
    int32_t adapters = 0;             // not removed
    int32_t removed_in_use = 0;       // removed, still held by requests
    uint64_t host_bytes = 0;
    uint64_t backend_bytes = 0;
    int32_t resident = 0;             // adapters with a backend copy
    int64_t uploads = 0;
    int64_t evictions = 0;
};

class AdapterRegistry {
public:
    // backend and model config must outlive the registry.
    AdapterRegistry(Backend& backend, const ModelConfig& model, AdapterRegistryConfig config = {});
    ~AdapterRegistry();  // frees every backend copy
    AdapterRegistry(const AdapterRegistry&) = delete;
    AdapterRegistry& operator=(const AdapterRegistry&) = delete;

    static Status check_config(const AdapterRegistryConfig& config);

    // ---- any thread --------------------------------------------------------------------
    // Checks the adapter against the model (layer count, each module's shapes and rank,
    // finite values and scale) and registers it under adapter.name (non-empty, not used by
    // another loaded adapter). Returns its id.
    Result<int32_t> add(LoraAdapter adapter);
    Status remove(int32_t id);
    Result<int32_t> find(const std::string& name) const;
    // Every id is loaded and not removed.
    Status check(std::span<const AdapterRef> set) const;
    // check() and one reference per adapter, all or nothing.
    Status acquire(std::span<const AdapterRef> set);
    // Drops what acquire() took (ids are not checked again; removed adapters included).
    void release(std::span<const AdapterRef> set);
    std::vector<AdapterInfo> list() const;
    AdapterRegistryStats stats() const;
    // Removed adapters that no request holds (their memory waits for collect_garbage).
    bool has_garbage() const;

    // ---- the step thread ---------------------------------------------------------------
    // Gives every id in `ids` a backend copy, evicting the least recently used copies of
    // other adapters to stay within the budget. The ids must be held (acquire).
    Status make_resident(std::span<const int32_t> ids);
    // The backend matrices of a resident adapter (null if it has none); valid until the
    // next make_resident or collect_garbage.
    const ResidentLora* resident(int32_t id) const;
    // Releases removed adapters no request holds: backend copy and host copy.
    void collect_garbage();

private:
    struct Entry;

    Status check_locked(std::span<const AdapterRef> set) const;
    Status upload_locked(Entry& e);
    void evict_locked(Entry& e);

    Backend& backend_;
    const ModelConfig& model_;
    AdapterRegistryConfig config_;

    mutable std::mutex mutex_;
    std::map<int32_t, std::unique_ptr<Entry>> entries_;  // by id; unique_ptr: stable addresses
    int32_t next_id_ = 1;
    uint64_t use_clock_ = 0;
    uint64_t host_bytes_ = 0;
    uint64_t backend_bytes_ = 0;
    int64_t uploads_ = 0;
    int64_t evictions_ = 0;
};

}  // namespace pagoda
