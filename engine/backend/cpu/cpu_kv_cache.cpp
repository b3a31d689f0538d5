#include "backend/cpu/cpu_kv_cache.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "backend/cpu/scratch_arena.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda::cpu {

void KvCache::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

Status KvCache::init(const KvCacheConfig& c) {
    k_.clear();
    v_.clear();
    config_ = KvCacheConfig{};
    token_bytes_ = 0;
    head_bytes_ = 0;

    if (c.n_layers <= 0 || c.n_kv_heads <= 0 || c.head_dim <= 0 || c.block_size <= 0 || c.n_blocks <= 0) {
        return invalid_argument("KV cache: n_layers, n_kv_heads, head_dim, block_size and n_blocks must be positive");
    }
    if (c.type != GgmlType::F32 && c.type != GgmlType::F16 && c.type != GgmlType::Q8_0) {
        return unsupported("KV cache: type must be f32, f16 or q8_0");
    }
    if (c.type == GgmlType::Q8_0 && c.head_dim % 32 != 0) {
        return invalid_argument("KV cache: q8_0 needs head_dim a multiple of 32, got " + std::to_string(c.head_dim));
    }
    const int64_t token_values = static_cast<int64_t>(c.n_kv_heads) * c.head_dim;
    const auto token_bytes = ggml_row_bytes(c.type, token_values);
    const auto head_bytes = ggml_row_bytes(c.type, c.head_dim);
    if (!token_bytes || !head_bytes) return invalid_argument("KV cache: bad head shape");

    // One pool: n_blocks * block_size slots of token_bytes; 2 * n_layers pools in all.
    uint64_t pool_bytes = 0;
    uint64_t total_bytes = 0;
    const uint64_t slots = static_cast<uint64_t>(c.n_blocks) * static_cast<uint64_t>(c.block_size);
    if (__builtin_mul_overflow(slots, *token_bytes, &pool_bytes) ||
        __builtin_mul_overflow(pool_bytes, 2ull * static_cast<uint64_t>(c.n_layers), &total_bytes)) {
        return out_of_memory("KV cache: size overflows");
    }
    if (total_bytes > host_memory_bytes() || pool_bytes > SIZE_MAX / 2) {
        return out_of_memory("KV cache: " + std::to_string(total_bytes >> 20) + " MiB is more than this machine's " +
                             std::to_string(host_memory_bytes() >> 20) + " MiB of memory");
    }

    try {
        std::vector<Pool> k(static_cast<size_t>(c.n_layers));
        std::vector<Pool> v(static_cast<size_t>(c.n_layers));
        for (int32_t l = 0; l < c.n_layers; ++l) {
            // calloc: zero pages come lazily from the OS, so untouched blocks cost nothing
            // and a slot read before its first write holds zeros, not garbage.
            k[l].reset(static_cast<uint8_t*>(std::calloc(pool_bytes, 1)));
            v[l].reset(static_cast<uint8_t*>(std::calloc(pool_bytes, 1)));
            if (!k[l] || !v[l]) {
                return out_of_memory("KV cache: cannot allocate " + std::to_string(total_bytes >> 20) + " MiB");
            }
        }
        k_ = std::move(k);
        v_ = std::move(v);
    } catch (const std::bad_alloc&) {
        return out_of_memory("KV cache: out of memory");
    }
    config_ = c;
    token_bytes_ = static_cast<size_t>(*token_bytes);
    head_bytes_ = static_cast<size_t>(*head_bytes);
    return Status::ok();
}

void kv_encode_row(GgmlType type, const float* src, void* dst, int64_t n) {
    switch (type) {
        case GgmlType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case GgmlType::F16: {
            auto* out = static_cast<uint16_t*>(dst);
            int64_t i = 0;
#if defined(__F16C__)
            for (; i + 8 <= n; i += 8) {
                const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
            }
#endif
            for (; i < n; ++i) out[i] = fp32_to_fp16(src[i]);
            return;
        }
        default:
            (void)quantize_row(type, src, dst, n);  // shapes were checked by the caller
            return;
    }
}

void kv_decode_row(GgmlType type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case GgmlType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case GgmlType::F16: {
            const auto* in = static_cast<const uint16_t*>(src);
            int64_t i = 0;
#if defined(__F16C__)
            for (; i + 8 <= n; i += 8) {
                const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
                _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
            }
#endif
            for (; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
            return;
        }
        default:
            dequantize_row(type, src, dst, n);
            return;
    }
}

}  // namespace pagoda::cpu
