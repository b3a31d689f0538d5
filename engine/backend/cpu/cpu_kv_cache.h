// The CPU backend's paged KV cache: per layer, a K pool and a V pool of
// [n_blocks, block_size, n_kv_heads, head_dim] values in F32, F16 or Q8_0 (Q8_0 blocks of
// 32 run along head_dim, so a block never straddles two heads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace pagoda::cpu {

class KvCache {
public:
    // Validates the configuration and allocates zeroed pools; refuses (out_of_memory)
    // sizes the machine cannot hold instead of letting the allocation fail later.
    Status init(const KvCacheConfig& config);
    bool initialized() const { return !k_.empty(); }
    const KvCacheConfig& config() const { return config_; }

    int64_t n_slots() const { return static_cast<int64_t>(config_.n_blocks) * config_.block_size; }
    size_t token_bytes() const { return token_bytes_; }  // one slot: [n_kv_heads, head_dim]
    size_t head_bytes() const { return head_bytes_; }    // one head of one slot: [head_dim]

    uint8_t* k_slot(int32_t layer, int64_t slot) const { return k_[layer].get() + slot * token_bytes_; }
    uint8_t* v_slot(int32_t layer, int64_t slot) const { return v_[layer].get() + slot * token_bytes_; }

private:
    struct FreeDeleter {
        void operator()(uint8_t* p) const;
    };
    using Pool = std::unique_ptr<uint8_t, FreeDeleter>;

    KvCacheConfig config_;
    size_t token_bytes_ = 0;
    size_t head_bytes_ = 0;
    std::vector<Pool> k_;  // [n_layers]
    std::vector<Pool> v_;  // [n_layers]
};

// Converts n fp32 values into the cache encoding (F32, F16 or Q8_0; n a multiple of 32 for Q8_0).
void kv_encode_row(GgmlType type, const float* src, void* dst, int64_t n);
// Decodes n values of the cache encoding into fp32.
void kv_decode_row(GgmlType type, const void* src, float* dst, int64_t n);

// kv_decode_row for F16, inline: attention widens one short row per KV position, where
// a call per row shows up in profiles.
inline void f16_row_to_f32(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    }
#endif
    if (i < n) kv_decode_row(GgmlType::F16, src + i, dst + i, n - i);
}

}  // namespace pagoda::cpu
