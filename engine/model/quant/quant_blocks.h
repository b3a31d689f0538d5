// Private to engine/model/quant: GGML block layouts and the small helpers every
// encoding shares. Field order and sizes are GGML's on-disk format (ggml-common.h),
// so a block here can be memcpy'd from / to a GGUF tensor.
#pragma once

#include <cstdint>
#include <cstring>

namespace pagoda::quant {

constexpr int kQK32 = 32;         // values per block of the legacy formats (Q4_0 ... Q8_1)
constexpr int kQKK = 256;         // values per super-block of the K formats
constexpr int kKScaleBytes = 12;  // packed 6-bit scales + mins of Q4_K / Q5_K

// Halves are stored as raw IEEE binary16 bits.
using Half = uint16_t;

struct BlockQ4_0 {
    Half d;                 // scale
    uint8_t qs[kQK32 / 2];  // value j in the low nibble of qs[j], value j+16 in the high nibble
};
struct BlockQ4_1 {
    Half d;  // scale
    Half m;  // min
    uint8_t qs[kQK32 / 2];
};
struct BlockQ5_0 {
    Half d;
    uint8_t qh[4];  // fifth bit of value j in bit j (little-endian uint32)
    uint8_t qs[kQK32 / 2];
};
struct BlockQ5_1 {
    Half d;
    Half m;
    uint8_t qh[4];
    uint8_t qs[kQK32 / 2];
};
struct BlockQ8_0 {
    Half d;
    int8_t qs[kQK32];
};
struct BlockQ8_1 {
    Half d;  // scale
    Half s;  // d * sum(qs)
    int8_t qs[kQK32];
};

// Super-block of 8 sub-blocks of 32: value = d * scale_j * q - dmin * min_j, with 6-bit
// scale_j / min_j packed into `scales` (see unpack_scale_min_k4).
struct BlockQ4_K {
    Half d;
    Half dmin;
    uint8_t scales[kKScaleBytes];
    uint8_t qs[kQKK / 2];  // per 64 values: 32 bytes, low nibbles first 32 values, high nibbles next 32
};
struct BlockQ5_K {
    Half d;
    Half dmin;
    uint8_t scales[kKScaleBytes];
    uint8_t qh[kQKK / 8];  // fifth bits: for the 64-value chunk c, bits 2c (low half) and 2c+1 (high half)
    uint8_t qs[kQKK / 2];
};
// 16 sub-blocks of 16: value = d * scales[j] * (q - 32), q 6 bits split into ql (4) + qh (2).
struct BlockQ6_K {
    uint8_t ql[kQKK / 2];
    uint8_t qh[kQKK / 4];
    int8_t scales[kQKK / 16];
    Half d;
};
// Activation format for the K dots: fp32 scale, and the sums of each 16 quants so the
// min terms of Q4_K / Q5_K cost one small dot per super-block.
struct BlockQ8_K {
    float d;
    int8_t qs[kQKK];
    int16_t bsums[kQKK / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// GGML's nearest_int: round half to even through the 1.5*2^23 trick. Valid for
// |x| <= 2^22, which every caller guarantees by clamping or by construction.
inline int nearest_int(float x) {
    float v = x + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, sizeof(i));
    return (i & 0x007fffff) - 0x00400000;
}

// Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// All eight scales and mins at once, as the dot products want them: the bytes of
// w[0], w[1] are the scales 0..7, those of w[2], w[3] the mins 0..7 (little-endian).
// Word-wide version of unpack_scale_min_k4; kept in registers by the caller.
inline void unpack_scales_mins_k4(const uint8_t* q, uint32_t w[4]) {
    constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
    std::memcpy(w, q, kKScaleBytes);
    w[3] = ((w[2] >> 4) & kLow4) | (((w[1] >> 6) & kLow2) << 4);  // mins 4..7
    const uint32_t mins_lo = w[1] & kLow6;                        // mins 0..3
    w[1] = (w[2] & kLow4) | (((w[0] >> 6) & kLow2) << 4);         // scales 4..7
    w[2] = mins_lo;
    w[0] &= kLow6;  // scales 0..3
}

}  // namespace pagoda::quant
