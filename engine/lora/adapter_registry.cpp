#include "lora/adapter_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "lora/load_lora_adapter.h"
#include "model/quant/quant.h"

namespace pagoda {

struct AdapterRegistry::Entry {
    int32_t id = 0;
    LoraAdapter host;
    uint64_t host_bytes = 0;
    int32_t n_modules = 0;
    int32_t refs = 0;
    bool removed = false;

    // Backend copy.
    bool resident = false;
    ResidentLora lora;
    std::vector<std::vector<uint16_t>> f16_storage;  // what load_weight was given, for F16
    uint64_t backend_bytes = 0;
    uint64_t last_used = 0;
};

AdapterRegistry::AdapterRegistry(Backend& backend, const ModelConfig& model, AdapterRegistryConfig config)
    : backend_(backend), model_(model), config_(config) {}

AdapterRegistry::~AdapterRegistry() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, e] : entries_) evict_locked(*e);
}

Status AdapterRegistry::check_config(const AdapterRegistryConfig& config) {
    if (config.type != GgmlType::F32 && config.type != GgmlType::F16)
        return invalid_argument("LoRA adapters are kept as F32 or F16 on the backend");
    return Status::ok();
}

Result<int32_t> AdapterRegistry::add(LoraAdapter adapter) {
    if (adapter.name.empty()) return invalid_argument("a LoRA adapter needs a name");
    PAGODA_RETURN_IF_ERROR(validate_lora_adapter(adapter, model_));
    int32_t n_modules = 0;
    for (const auto& layer : adapter.layers) {
        for (const auto& pair : layer) n_modules += pair.has_value();
    }
    auto e = std::make_unique<Entry>();
    e->host_bytes = adapter.bytes();
    e->n_modules = n_modules;
    e->host = std::move(adapter);
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, other] : entries_) {
        if (!other->removed && other->host.name == e->host.name)
            return invalid_argument("a LoRA adapter named \"" + e->host.name + "\" is already loaded (id " +
                                    std::to_string(id) + ")");
    }
    if (next_id_ == INT32_MAX) return internal_error("LoRA adapter ids are used up");
    e->id = next_id_++;
    const int32_t id = e->id;
    host_bytes_ += e->host_bytes;
    entries_.emplace(id, std::move(e));
    return id;
}

Status AdapterRegistry::remove(int32_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->removed)
        return not_found("no LoRA adapter with id " + std::to_string(id) + " is loaded");
    it->second->removed = true;
    return Status::ok();
}

Result<int32_t> AdapterRegistry::find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, e] : entries_) {
        if (!e->removed && e->host.name == name) return id;
    }
    return not_found("no LoRA adapter named \"" + name + "\" is loaded");
}

Status AdapterRegistry::check_locked(std::span<const AdapterRef> set) const {
    for (const AdapterRef& r : set) {
        auto it = entries_.find(r.id);
        if (it == entries_.end() || it->second->removed)
            return not_found("no LoRA adapter with id " + std::to_string(r.id) + " is loaded");
    }
    return Status::ok();
}

Status AdapterRegistry::check(std::span<const AdapterRef> set) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return check_locked(set);
}

Status AdapterRegistry::acquire(std::span<const AdapterRef> set) {
    std::lock_guard<std::mutex> lock(mutex_);
    PAGODA_RETURN_IF_ERROR(check_locked(set));
    for (const AdapterRef& r : set) ++entries_.at(r.id)->refs;
    return Status::ok();
}

void AdapterRegistry::release(std::span<const AdapterRef> set) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const AdapterRef& r : set) {
        auto it = entries_.find(r.id);
        if (it == entries_.end() || it->second->refs <= 0) {
            std::fprintf(stderr, "pagoda: LoRA adapter %d released more often than acquired\n", r.id);
            std::abort();  // an invariant: refs come only from acquire()
        }
        --it->second->refs;
    }
}

std::vector<AdapterInfo> AdapterRegistry::list() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<AdapterInfo> out;
    for (const auto& [id, e] : entries_) {
        AdapterInfo info;
        info.id = id;
        info.name = e->host.name;
        info.source_path = e->host.source_path;
        info.rank = e->host.rank;
        info.alpha = e->host.alpha;
        info.scale = e->host.scale;
        info.n_modules = e->n_modules;
        info.host_bytes = static_cast<int64_t>(e->host_bytes);
        info.backend_bytes = static_cast<int64_t>(e->backend_bytes);
        info.resident = e->resident;
        info.in_flight = e->refs;
        info.unloading = e->removed;
        out.push_back(std::move(info));
    }
    return out;
}

AdapterRegistryStats AdapterRegistry::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    AdapterRegistryStats s;
    for (const auto& [id, e] : entries_) {
        if (!e->removed) ++s.adapters;
        if (e->removed && e->refs > 0) ++s.removed_in_use;
        if (e->resident) ++s.resident;
    }
    s.host_bytes = host_bytes_;
    s.backend_bytes = backend_bytes_;
    s.uploads = uploads_;
    s.evictions = evictions_;
    return s;
}

bool AdapterRegistry::has_garbage() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, e] : entries_) {
        if (e->removed && e->refs == 0) return true;
    }
    return false;
}

Status AdapterRegistry::upload_locked(Entry& e) {
    const bool f16 = config_.type == GgmlType::F16;
    ResidentLora lora;
    lora.scale = e.host.scale;
    lora.layers.resize(e.host.layers.size());
    std::vector<std::vector<uint16_t>> storage;
    uint64_t bytes = 0;
    Status failed;
    auto upload = [&](const std::vector<float>& values, int64_t rows, int64_t cols, Tensor& out) {
        const void* data = values.data();
        if (f16) {
            std::vector<uint16_t>& h = storage.emplace_back(values.size());
            for (size_t i = 0; i < values.size(); ++i) h[i] = fp32_to_fp16(values[i]);
            data = h.data();
        }
        Result<Tensor> t = backend_.load_weight(config_.type, rows, cols, data);
        if (!t) {
            failed = t.status();
            return false;
        }
        out = t.value();
        bytes += values.size() * (f16 ? 2 : 4);
        return true;
    };
    for (size_t l = 0; l < e.host.layers.size() && failed.is_ok(); ++l) {
        for (int32_t t = 0; t < kLoraTargetCount && failed.is_ok(); ++t) {
            const auto& pair = e.host.layers[l][static_cast<size_t>(t)];
            if (!pair) continue;
            ResidentLora::Module& m = lora.layers[l][static_cast<size_t>(t)];
            if (!upload(pair->a, pair->rank, pair->in_features, m.a)) break;
            if (!upload(pair->b, pair->out_features, pair->rank, m.b)) {
                backend_.free_weight(m.a);
                break;
            }
            m.present = true;
        }
    }
    if (!failed.is_ok()) {
        for (auto& layer : lora.layers) {
            for (auto& m : layer) {
                if (!m.present) continue;
                backend_.free_weight(m.a);
                backend_.free_weight(m.b);
            }
        }
        return Status::error(failed.code(), "adapter " + e.host.name + ": upload failed: " + failed.message());
    }
    e.lora = std::move(lora);
    e.f16_storage = std::move(storage);
    e.backend_bytes = bytes;
    e.resident = true;
    backend_bytes_ += bytes;
    ++uploads_;
    return Status::ok();
}

void AdapterRegistry::evict_locked(Entry& e) {
    if (!e.resident) return;
    for (auto& layer : e.lora.layers) {
        for (auto& m : layer) {
            if (!m.present) continue;
            backend_.free_weight(m.a);
            backend_.free_weight(m.b);
        }
    }
    e.lora = ResidentLora{};
    e.f16_storage.clear();
    e.f16_storage.shrink_to_fit();
    backend_bytes_ -= e.backend_bytes;
    e.backend_bytes = 0;
    e.resident = false;
}

Status AdapterRegistry::make_resident(std::span<const int32_t> ids) {
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t now = ++use_clock_;
    std::vector<Entry*> needed;
    for (int32_t id : ids) {
        auto it = entries_.find(id);
        if (it == entries_.end()) return not_found("no LoRA adapter with id " + std::to_string(id));
        it->second->last_used = now;
        needed.push_back(it->second.get());
    }
    for (Entry* e : needed) {
        if (e->resident) continue;
        if (config_.backend_budget_bytes > 0) {
            // What the upload will take: host values times the backend encoding's width.
            const uint64_t want = e->host_bytes / 4 * (config_.type == GgmlType::F16 ? 2 : 4);
            while (backend_bytes_ + want > config_.backend_budget_bytes) {
                Entry* victim = nullptr;
                for (auto& [id, other] : entries_) {
                    if (!other->resident || other->last_used == now) continue;
                    if (!victim || other->last_used < victim->last_used) victim = other.get();
                }
                if (!victim) break;  // only this step's adapters are left: go over the budget
                evict_locked(*victim);
                ++evictions_;
            }
        }
        PAGODA_RETURN_IF_ERROR(upload_locked(*e));
    }
    return Status::ok();
}

const ResidentLora* AdapterRegistry::resident(int32_t id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second->resident) return nullptr;
    return &it->second->lora;
}

void AdapterRegistry::collect_garbage() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& e = *it->second;
        if (e.removed && e.refs == 0) {
            evict_locked(e);
            host_bytes_ -= e.host_bytes;
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace pagoda
