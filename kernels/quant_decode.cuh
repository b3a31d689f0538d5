// Device-side decoding of GGUF weight encodings, in two shapes:
//  - dequant8<T>: 8 consecutive values of a row as fp32 (embedding lookups, the
//    dequantize-to-F16 path of large-batch matmuls, Q8_0 KV reads);
//  - decode_unit<T>: one 32-value unit of a row as 8 packed int8x4 words plus the
//    scales that turn an integer dot product with a Q8_1-style activation block into
//    fp32 (the dp4a matrix-vector kernels).
// Block layouts are ggml's (see engine/model/quant/quant.h and ggml-common.h):
//   q4_0  {f16 d; u8 qs[16]}                  x = d * (q - 8)
//   q4_1  {f16 d, m; u8 qs[16]}               x = d * q + m
//   q5_0  {f16 d; u8 qh[4]; u8 qs[16]}        x = d * (q - 16), q = nibble | bit << 4
//   q5_1  {f16 d, m; u8 qh[4]; u8 qs[16]}     x = d * q + m
//   q8_0  {f16 d; i8 qs[32]}                  x = d * q
//   q4_K  {f16 d, dmin; u8 scales[12]; u8 qs[128]}           8 sub-blocks of 32, 6-bit scale/min
//   q5_K  {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
//   q6_K  {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}      16 sub-blocks of 16, int8 scales
#pragma once

#include <cstdint>

#include "cuda_common.cuh"
#include "pagoda/types.h"

namespace pagoda::cuda {

// 6-bit scale and min of sub-block j (0..7) of a q4_K / q5_K block, packed in 12 bytes.
PAGODA_HD void k4_scale_min(const uint8_t* s, int j, int& sc, int& m) {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// ---- dequant8: values [first, first + 8) of a row; first is a multiple of 8 ----------

template <GgmlType T>
PAGODA_HD void dequant8(const uint8_t* row, int64_t first, float* out);

template <>
PAGODA_HD void dequant8<GgmlType::F32>(const uint8_t* row, int64_t first, float* out) {
    const float4* p = reinterpret_cast<const float4*>(row + first * 4);
    const float4 a = p[0], b = p[1];
    out[0] = a.x;
    out[1] = a.y;
    out[2] = a.z;
    out[3] = a.w;
    out[4] = b.x;
    out[5] = b.y;
    out[6] = b.z;
    out[7] = b.w;
}

template <>
PAGODA_HD void dequant8<GgmlType::F16>(const uint8_t* row, int64_t first, float* out) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + first;
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = half_bits_to_float(p[i]);
}

template <>
PAGODA_HD void dequant8<GgmlType::BF16>(const uint8_t* row, int64_t first, float* out) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + first;
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = bf16_bits_to_float(p[i]);
}

template <>
PAGODA_HD void dequant8<GgmlType::Q4_0>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 32) * 18;
    const int o = static_cast<int>(first % 32);
    const float d = half_bits_to_float(load_u16(b));
    const uint8_t* qs = b + 2 + (o & 15);
    const int shift = o < 16 ? 0 : 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = d * static_cast<float>(((qs[i] >> shift) & 0xF) - 8);
}

template <>
PAGODA_HD void dequant8<GgmlType::Q4_1>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 32) * 20;
    const int o = static_cast<int>(first % 32);
    const float d = half_bits_to_float(load_u16(b));
    const float m = half_bits_to_float(load_u16(b + 2));
    const uint8_t* qs = b + 4 + (o & 15);
    const int shift = o < 16 ? 0 : 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = d * static_cast<float>((qs[i] >> shift) & 0xF) + m;
}

template <>
PAGODA_HD void dequant8<GgmlType::Q5_0>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 32) * 22;
    const int o = static_cast<int>(first % 32);
    const float d = half_bits_to_float(load_u16(b));
    const uint32_t qh = static_cast<uint32_t>(load_int_b2(b + 2, 0));
    const uint8_t* qs = b + 6 + (o & 15);
    const int shift = o < 16 ? 0 : 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int q = ((qs[i] >> shift) & 0xF) | (((qh >> (o + i)) & 1) << 4);
        out[i] = d * static_cast<float>(q - 16);
    }
}

template <>
PAGODA_HD void dequant8<GgmlType::Q5_1>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 32) * 24;
    const int o = static_cast<int>(first % 32);
    const float d = half_bits_to_float(load_u16(b));
    const float m = half_bits_to_float(load_u16(b + 2));
    const uint32_t qh = static_cast<uint32_t>(load_int_b4(b + 4, 0));
    const uint8_t* qs = b + 8 + (o & 15);
    const int shift = o < 16 ? 0 : 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int q = ((qs[i] >> shift) & 0xF) | (((qh >> (o + i)) & 1) << 4);
        out[i] = d * static_cast<float>(q) + m;
    }
}

template <>
PAGODA_HD void dequant8<GgmlType::Q8_0>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 32) * 34;
    const int o = static_cast<int>(first % 32);
    const float d = half_bits_to_float(load_u16(b));
    const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2 + o);
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = d * static_cast<float>(qs[i]);
}

template <>
PAGODA_HD void dequant8<GgmlType::Q4_K>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 256) * 144;
    const int v = static_cast<int>(first % 256);
    const int j = v / 32;  // sub-block
    int sc, m;
    k4_scale_min(b + 4, j, sc, m);
    const float d = half_bits_to_float(load_u16(b)) * static_cast<float>(sc);
    const float mn = half_bits_to_float(load_u16(b + 2)) * static_cast<float>(m);
    // Chunk j/2 holds 64 values in 32 bytes: sub-block j even in the low nibbles, odd in the high.
    const uint8_t* qs = b + 16 + 32 * (j / 2) + (v % 32);
    const int shift = (j & 1) * 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = d * static_cast<float>((qs[i] >> shift) & 0xF) - mn;
}

template <>
PAGODA_HD void dequant8<GgmlType::Q5_K>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 256) * 176;
    const int v = static_cast<int>(first % 256);
    const int j = v / 32;
    const int l = v % 32;
    int sc, m;
    k4_scale_min(b + 4, j, sc, m);
    const float d = half_bits_to_float(load_u16(b)) * static_cast<float>(sc);
    const float mn = half_bits_to_float(load_u16(b + 2)) * static_cast<float>(m);
    const uint8_t* qh = b + 16 + l;  // bit j of qh[l] is the fifth bit of value l of sub-block j
    const uint8_t* qs = b + 48 + 32 * (j / 2) + l;
    const int shift = (j & 1) * 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int q = ((qs[i] >> shift) & 0xF) | (((qh[i] >> j) & 1) << 4);
        out[i] = d * static_cast<float>(q) - mn;
    }
}

template <>
PAGODA_HD void dequant8<GgmlType::Q6_K>(const uint8_t* row, int64_t first, float* out) {
    const uint8_t* b = row + (first / 256) * 210;
    const int v = static_cast<int>(first % 256);
    const int h = v / 128;          // half of the block
    const int qq = (v % 128) / 32;  // quarter within the half
    const int l = v % 32;
    const uint8_t* ql = b + 64 * h + 32 * (qq & 1) + l;
    const uint8_t* qh = b + 128 + 32 * h + l;
    const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
    const float d = half_bits_to_float(load_u16(b + 208)) * static_cast<float>(scales[8 * h + 2 * qq + l / 16]);
    const int lshift = qq >= 2 ? 4 : 0;
    const int hshift = 2 * qq;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int q = ((ql[i] >> lshift) & 0xF) | (((qh[i] >> hshift) & 3) << 4);
        out[i] = d * static_cast<float>(q - 32);
    }
}

// ---- decode_unit: 32 values of unit u (u-th group of 32 in the row) -----------------
// Produces q[8] (int8x4 words; word i holds values 4i..4i+3) and scales such that
//   dot(unit, act) = d_act * (dw0 * dot(q[0..3], a[0..3]) + dw1 * dot(q[4..7], a[4..7])) + mw * s_act
// where a are the activation's int8 values, d_act its scale and s_act = d_act * sum(a).

struct UnitDecode {
    int q[8];
    float dw0, dw1, mw;
};

template <GgmlType T>
PAGODA_HD void decode_unit(const uint8_t* row, int u, UnitDecode& r);

template <>
PAGODA_HD void decode_unit<GgmlType::Q4_0>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 18;
    const float d = half_bits_to_float(load_u16(b));
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int w = load_int_b2(b + 2, i);
        r.q[i] = w & 0x0F0F0F0F;
        r.q[i + 4] = (w >> 4) & 0x0F0F0F0F;
    }
    r.dw0 = r.dw1 = d;
    r.mw = -8.0f * d;
}

template <>
PAGODA_HD void decode_unit<GgmlType::Q4_1>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 20;
    const float d = half_bits_to_float(load_u16(b));
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int w = load_int_b4(b + 4, i);
        r.q[i] = w & 0x0F0F0F0F;
        r.q[i + 4] = (w >> 4) & 0x0F0F0F0F;
    }
    r.dw0 = r.dw1 = d;
    r.mw = half_bits_to_float(load_u16(b + 2));
}

// Spreads bits 0..3 of n into bit 4 of bytes 0..3.
PAGODA_HD int spread_bits_to_b4(int n) { return ((n & 1) << 4) | ((n & 2) << 11) | ((n & 4) << 18) | ((n & 8) << 25); }

template <>
PAGODA_HD void decode_unit<GgmlType::Q5_0>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 22;
    const float d = half_bits_to_float(load_u16(b));
    const int qh = load_int_b2(b + 2, 0);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int w = load_int_b2(b + 6, i);
        r.q[i] = (w & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (4 * i)) & 0xF);
        r.q[i + 4] = ((w >> 4) & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (16 + 4 * i)) & 0xF);
    }
    r.dw0 = r.dw1 = d;
    r.mw = -16.0f * d;
}

template <>
PAGODA_HD void decode_unit<GgmlType::Q5_1>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 24;
    const float d = half_bits_to_float(load_u16(b));
    const int qh = load_int_b4(b + 4, 0);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int w = load_int_b4(b + 8, i);
        r.q[i] = (w & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (4 * i)) & 0xF);
        r.q[i + 4] = ((w >> 4) & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (16 + 4 * i)) & 0xF);
    }
    r.dw0 = r.dw1 = d;
    r.mw = half_bits_to_float(load_u16(b + 2));
}

template <>
PAGODA_HD void decode_unit<GgmlType::Q8_0>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 34;
    const float d = half_bits_to_float(load_u16(b));
#pragma unroll
    for (int i = 0; i < 8; ++i) r.q[i] = load_int_b2(b + 2, i);
    r.dw0 = r.dw1 = d;
    r.mw = 0.0f;
}

template <>
PAGODA_HD void decode_unit<GgmlType::Q4_K>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u / 8) * 144;
    const int j = u % 8;
    int sc, m;
    k4_scale_min(b + 4, j, sc, m);
    const uint8_t* qs = b + 16 + 32 * (j / 2);
    const int shift = (j & 1) * 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) r.q[i] = (load_int_b4(qs, i) >> shift) & 0x0F0F0F0F;
    r.dw0 = r.dw1 = half_bits_to_float(load_u16(b)) * static_cast<float>(sc);
    r.mw = -half_bits_to_float(load_u16(b + 2)) * static_cast<float>(m);
}

template <>
PAGODA_HD void decode_unit<GgmlType::Q5_K>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u / 8) * 176;
    const int j = u % 8;
    int sc, m;
    k4_scale_min(b + 4, j, sc, m);
    const uint8_t* qh = b + 16;
    const uint8_t* qs = b + 48 + 32 * (j / 2);
    const int shift = (j & 1) * 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int lo = (load_int_b4(qs, i) >> shift) & 0x0F0F0F0F;
        const int hi = ((load_int_b4(qh, i) >> j) & 0x01010101) << 4;
        r.q[i] = lo | hi;
    }
    r.dw0 = r.dw1 = half_bits_to_float(load_u16(b)) * static_cast<float>(sc);
    r.mw = -half_bits_to_float(load_u16(b + 2)) * static_cast<float>(m);
}

template <>
PAGODA_HD void decode_unit<GgmlType::Q6_K>(const uint8_t* row, int u, UnitDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u / 8) * 210;
    const int j = u % 8;
    const int h = j / 4;
    const int qq = j % 4;
    const uint8_t* ql = b + 64 * h + 32 * (qq & 1);
    const uint8_t* qh = b + 128 + 32 * h;
    const int lshift = qq >= 2 ? 4 : 0;
    const int hshift = 2 * qq;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int lo = (load_int_b2(ql, i) >> lshift) & 0x0F0F0F0F;
        const int hi = ((load_int_b2(qh, i) >> hshift) & 0x03030303) << 4;
        // q - 32 per byte (q in 0..63): the high bit set first keeps borrows inside each byte.
        r.q[i] = static_cast<int>(((static_cast<uint32_t>(lo | hi) | 0x80808080u) - 0x20202020u) ^ 0x80808080u);
    }
    const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
    const float d = half_bits_to_float(load_u16(b + 208));
    r.dw0 = d * static_cast<float>(scales[8 * h + 2 * qq]);
    r.dw1 = d * static_cast<float>(scales[8 * h + 2 * qq + 1]);
    r.mw = 0.0f;
}

// ---- decode_half: half h (0 or 1) of unit u, as the split matrix-vector kernel reads it --
// Two lanes share a unit and read disjoint bytes of it: half h takes decode_unit's words
// {2h, 2h + 1} (values 8h..8h+7, scale dw0) into q[0..1] and {2h + 4, 2h + 5} (values
// 16+8h..16+8h+7, scale dw1) into q[2..3]. mw multiplies d_act * sum(a) over those 16
// values only, so the two halves' terms add up to decode_unit's.

struct HalfDecode {
    int q[4];
    float dw0, dw1, mw;
};

template <GgmlType T>
PAGODA_HD void decode_half(const uint8_t* row, int u, int h, HalfDecode& r);

template <>
PAGODA_HD void decode_half<GgmlType::Q4_0>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 18;
    const float d = half_bits_to_float(load_u16(b));
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int w = load_int_b2(b + 2, 2 * h + i);
        r.q[i] = w & 0x0F0F0F0F;
        r.q[i + 2] = (w >> 4) & 0x0F0F0F0F;
    }
    r.dw0 = r.dw1 = d;
    r.mw = -8.0f * d;
}

template <>
PAGODA_HD void decode_half<GgmlType::Q4_1>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 20;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int w = load_int_b4(b + 4, 2 * h + i);
        r.q[i] = w & 0x0F0F0F0F;
        r.q[i + 2] = (w >> 4) & 0x0F0F0F0F;
    }
    r.dw0 = r.dw1 = half_bits_to_float(load_u16(b));
    r.mw = half_bits_to_float(load_u16(b + 2));
}

template <>
PAGODA_HD void decode_half<GgmlType::Q5_0>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 22;
    const float d = half_bits_to_float(load_u16(b));
    const int qh = load_int_b2(b + 2, 0);
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int wi = 2 * h + i;
        const int w = load_int_b2(b + 6, wi);
        r.q[i] = (w & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (4 * wi)) & 0xF);
        r.q[i + 2] = ((w >> 4) & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (16 + 4 * wi)) & 0xF);
    }
    r.dw0 = r.dw1 = d;
    r.mw = -16.0f * d;
}

template <>
PAGODA_HD void decode_half<GgmlType::Q5_1>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 24;
    const int qh = load_int_b4(b + 4, 0);
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int wi = 2 * h + i;
        const int w = load_int_b4(b + 8, wi);
        r.q[i] = (w & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (4 * wi)) & 0xF);
        r.q[i + 2] = ((w >> 4) & 0x0F0F0F0F) | spread_bits_to_b4((qh >> (16 + 4 * wi)) & 0xF);
    }
    r.dw0 = r.dw1 = half_bits_to_float(load_u16(b));
    r.mw = half_bits_to_float(load_u16(b + 2));
}

template <>
PAGODA_HD void decode_half<GgmlType::Q8_0>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u) * 34;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        r.q[i] = load_int_b2(b + 2, 2 * h + i);
        r.q[i + 2] = load_int_b2(b + 2, 2 * h + 4 + i);
    }
    r.dw0 = r.dw1 = half_bits_to_float(load_u16(b));
    r.mw = 0.0f;
}

template <>
PAGODA_HD void decode_half<GgmlType::Q4_K>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u / 8) * 144;
    const int j = u % 8;
    int sc, m;
    k4_scale_min(b + 4, j, sc, m);
    const uint8_t* qs = b + 16 + 32 * (j / 2);
    const int shift = (j & 1) * 4;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        r.q[i] = (load_int_b4(qs, 2 * h + i) >> shift) & 0x0F0F0F0F;
        r.q[i + 2] = (load_int_b4(qs, 2 * h + 4 + i) >> shift) & 0x0F0F0F0F;
    }
    r.dw0 = r.dw1 = half_bits_to_float(load_u16(b)) * static_cast<float>(sc);
    r.mw = -half_bits_to_float(load_u16(b + 2)) * static_cast<float>(m);
}

template <>
PAGODA_HD void decode_half<GgmlType::Q5_K>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u / 8) * 176;
    const int j = u % 8;
    int sc, m;
    k4_scale_min(b + 4, j, sc, m);
    const uint8_t* qh = b + 16;
    const uint8_t* qs = b + 48 + 32 * (j / 2);
    const int shift = (j & 1) * 4;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const int wi = 2 * h + (k & 1) + 4 * (k >> 1);
        const int lo = (load_int_b4(qs, wi) >> shift) & 0x0F0F0F0F;
        const int hi = ((load_int_b4(qh, wi) >> j) & 0x01010101) << 4;
        r.q[k] = lo | hi;
    }
    r.dw0 = r.dw1 = half_bits_to_float(load_u16(b)) * static_cast<float>(sc);
    r.mw = -half_bits_to_float(load_u16(b + 2)) * static_cast<float>(m);
}

template <>
PAGODA_HD void decode_half<GgmlType::Q6_K>(const uint8_t* row, int u, int h, HalfDecode& r) {
    const uint8_t* b = row + static_cast<int64_t>(u / 8) * 210;
    const int j = u % 8;
    const int hb = j / 4;
    const int qq = j % 4;
    const uint8_t* ql = b + 64 * hb + 32 * (qq & 1);
    const uint8_t* qh = b + 128 + 32 * hb;
    const int lshift = qq >= 2 ? 4 : 0;
    const int hshift = 2 * qq;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const int wi = 2 * h + (k & 1) + 4 * (k >> 1);
        const int lo = (load_int_b2(ql, wi) >> lshift) & 0x0F0F0F0F;
        const int hi = ((load_int_b2(qh, wi) >> hshift) & 0x03030303) << 4;
        r.q[k] = static_cast<int>(((static_cast<uint32_t>(lo | hi) | 0x80808080u) - 0x20202020u) ^ 0x80808080u);
    }
    const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
    const float d = half_bits_to_float(load_u16(b + 208));
    r.dw0 = d * static_cast<float>(scales[8 * hb + 2 * qq]);
    r.dw1 = d * static_cast<float>(scales[8 * hb + 2 * qq + 1]);
    r.mw = 0.0f;
}

}  // namespace pagoda::cuda
