// kv_write: each token's K and V rows, converted to the cache type, into its KV slot.
#include <algorithm>
#include <string>

#include "backend/cpu/cpu_backend.h"

namespace pagoda::cpu {

void CpuBackend::kv_write(int32_t layer, const Tensor& k, const Tensor& v) {
    if (failed() || !check_step("kv_write") || !check_kv("kv_write", layer)) return;
    const KvCacheConfig& c = kv_.config();
    const int32_t n_tokens = step_.n_tokens();
    const int64_t cols = static_cast<int64_t>(c.n_kv_heads) * c.head_dim;  // [n_kv_heads, head_dim]
    if (!check_f32("kv_write", "k", k, n_tokens, cols) || !check_f32("kv_write", "v", v, n_tokens, cols)) return;
    const GgmlType type = c.type;
    pool_.parallel_for(n_tokens, std::max<int64_t>(1, 4096 / cols), [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; ++i) {
            const int64_t slot = step_.slot_mapping[static_cast<size_t>(i)];  // validated by begin_step
            kv_encode_row(type, static_cast<const float*>(k.data) + i * cols, kv_.k_slot(layer, slot), cols);
            kv_encode_row(type, static_cast<const float*>(v.data) + i * cols, kv_.v_slot(layer, slot), cols);
        }
    });
}

}  // namespace pagoda::cpu
