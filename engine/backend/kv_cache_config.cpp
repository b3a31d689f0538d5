#include "backend/backend.h"
#include "model/ggml_type.h"

namespace pagoda {

uint64_t KvCacheConfig::bytes_per_block() const {
    const int64_t values = static_cast<int64_t>(block_size) * n_kv_heads * head_dim;
    const uint64_t per_layer = ggml_row_bytes(type, values).value_or(0);
    return 2ull * static_cast<uint64_t>(n_layers) * per_layer;  // K and V
}

}  // namespace pagoda
