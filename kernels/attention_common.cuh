// Shared pieces of the paged-attention kernels: reading KV values out of the pools
// (F32, F16 or Q8_0, layout [n_slots, n_kv_heads * head_dim]) and mapping a sequence
// position to its pool slot through the block table.
#pragma once

#include <cstdint>

#include "cuda_common.cuh"
#include "pagoda/types.h"

namespace pagoda::cuda {

// Slot of KV position `pos` of a sequence whose block table is `table`.
__device__ __forceinline__ int64_t kv_slot(const int32_t* table, int32_t block_size, int32_t pos) {
    return static_cast<int64_t>(table[pos / block_size]) * block_size + pos % block_size;
}

// Values e and e + 1 (e even) of a slot's row of row_values values.
template <GgmlType KV>
__device__ __forceinline__ float2 load_kv2(const void* pool, int64_t slot, int row_values, int e);

template <>
__device__ __forceinline__ float2 load_kv2<GgmlType::F32>(const void* pool, int64_t slot, int row_values, int e) {
    return *reinterpret_cast<const float2*>(static_cast<const float*>(pool) + slot * row_values + e);
}

template <>
__device__ __forceinline__ float2 load_kv2<GgmlType::F16>(const void* pool, int64_t slot, int row_values, int e) {
    const __half2 h = *reinterpret_cast<const __half2*>(static_cast<const uint16_t*>(pool) + slot * row_values + e);
    return __half22float2(h);
}

template <>
__device__ __forceinline__ float2 load_kv2<GgmlType::Q8_0>(const void* pool, int64_t slot, int row_values, int e) {
    const uint8_t* b = static_cast<const uint8_t*>(pool) + (slot * (row_values / 32) + e / 32) * 34;
    const float d = half_bits_to_float(load_u16(b));
    const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2) + e % 32;
    return make_float2(d * static_cast<float>(qs[0]), d * static_cast<float>(qs[1]));
}

// The query as the CPU backend (and llama.cpp) dots it with the cache: encoded in the
// cache's vec_dot_type first. F16 cache: q rounded to f16. Q8_0 cache: q quantized in
// blocks of 32 (scale amax / 127 stored as f16); `amax` is the block's max |q|, which
// the caller reduces. F32: unchanged. Returns the decoded value.
template <GgmlType KV>
__device__ __forceinline__ float round_query(float x, float amax) {
    if constexpr (KV == GgmlType::F16) {
        return __half2float(__float2half_rn(x));
    } else if constexpr (KV == GgmlType::Q8_0) {
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        return roundf(x * id) * __half2float(__float2half_rn(d));
    } else {
        return x;
    }
}

}  // namespace pagoda::cuda
