// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: blocks of 32 values with an fp16 scale (and min).
// The quantizers reproduce GGML's reference ones (quantize_row_*_ref) operation for
// operation, so the bytes equal what llama.cpp's quantize tool writes.
// clang-format off
#include "model/quant/quant_no_contract.h"  // first: see the header
// clang-format on

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "model/quant/quant_blocks.h"
#include "model/quant/quant_impl.h"

namespace pagoda::quant {
namespace {

// Scale from the value of largest magnitude, keeping its sign, so that value maps to
// exactly -2^(bits-1): the symmetric formats spend their one extra level on it.
float signed_absmax(const float* x, int n) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void min_max(const float* x, int n, float* min_out, float* max_out) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < n; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *min_out = min;
    *max_out = max;
}

uint32_t load_qh(const uint8_t* qh) {
    uint32_t v;
    std::memcpy(&v, qh, sizeof(v));
    return v;
}

}  // namespace

void quantize_row_q4_0(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ4_0*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        const float d = signed_absmax(x, kQK32) / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < kQK32 / 2; ++j) {
            // Truncating +8.5 rounds half up, as GGML does; the cast through int8 matters for NaN-free
            // inputs only in that it is GGML's exact expression.
            const uint8_t q0 =
                static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f))));
            const uint8_t q1 =
                static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>(x[j + kQK32 / 2] * id + 8.5f))));
            y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void quantize_row_q4_1(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ4_1*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        float min, max;
        min_max(x, kQK32, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        for (int j = 0; j < kQK32 / 2; ++j) {
            const uint8_t q0 =
                static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f))));
            const uint8_t q1 = static_cast<uint8_t>(
                std::min(15, static_cast<int>(static_cast<int8_t>((x[j + kQK32 / 2] - min) * id + 0.5f))));
            y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void quantize_row_q5_0(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ5_0*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        const float d = signed_absmax(x, kQK32) / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            const uint8_t q0 =
                static_cast<uint8_t>(std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f))));
            const uint8_t q1 = static_cast<uint8_t>(
                std::min(31, static_cast<int>(static_cast<int8_t>(x[j + kQK32 / 2] * id + 16.5f))));
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + kQK32 / 2);
        }
        std::memcpy(y[i].qh, &qh, sizeof(qh));
    }
}

void quantize_row_q5_1(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ5_1*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        float min, max;
        min_max(x, kQK32, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            // GGML does not clamp here: (max-min)*id rounds to at most 31.
            const uint8_t q0 = static_cast<uint8_t>((x[j] - min) * id + 0.5f);
            const uint8_t q1 = static_cast<uint8_t>((x[j + kQK32 / 2] - min) * id + 0.5f);
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + kQK32 / 2);
        }
        std::memcpy(y[i].qh, &qh, sizeof(qh));
    }
}

void quantize_row_q8_0(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        float amax = 0.0f;
        for (int j = 0; j < kQK32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < kQK32; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    }
}

void quantize_row_q8_1(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_1*>(vy);
    for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
        float amax = 0.0f;
        for (int j = 0; j < kQK32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < kQK32; ++j) {
            y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
            sum += y[i].qs[j];
        }
        // The Q4_1/Q5_1 dots add m * s per block: the min times the activation's sum.
        y[i].s = fp32_to_fp16(static_cast<float>(sum) * d);
    }
}

void dequantize_row_q4_0(const void* vx, float* y, int64_t n) {
    const auto* x = static_cast<const BlockQ4_0*>(vx);
    for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK32 / 2; ++j) {
            y[j] = static_cast<float>((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + kQK32 / 2] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_row_q4_1(const void* vx, float* y, int64_t n) {
    const auto* x = static_cast<const BlockQ4_1*>(vx);
    for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < kQK32 / 2; ++j) {
            y[j] = static_cast<float>(x[i].qs[j] & 0x0F) * d + m;
            y[j + kQK32 / 2] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
        }
    }
}

void dequantize_row_q5_0(const void* vx, float* y, int64_t n) {
    const auto* x = static_cast<const BlockQ5_0*>(vx);
    for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
        const float d = fp16_to_fp32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < kQK32 / 2; ++j) {
            const int h0 = static_cast<int>((qh >> j) << 4) & 0x10;
            const int h1 = static_cast<int>(qh >> (j + 12)) & 0x10;
            y[j] = static_cast<float>(((x[i].qs[j] & 0x0F) | h0) - 16) * d;
            y[j + kQK32 / 2] = static_cast<float>(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void dequantize_row_q5_1(const void* vx, float* y, int64_t n) {
    const auto* x = static_cast<const BlockQ5_1*>(vx);
    for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < kQK32 / 2; ++j) {
            const int h0 = static_cast<int>((qh >> j) << 4) & 0x10;
            const int h1 = static_cast<int>(qh >> (j + 12)) & 0x10;
            y[j] = static_cast<float>((x[i].qs[j] & 0x0F) | h0) * d + m;
            y[j + kQK32 / 2] = static_cast<float>((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void dequantize_row_q8_0(const void* vx, float* y, int64_t n) {
    const auto* x = static_cast<const BlockQ8_0*>(vx);
    for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK32; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

void dequantize_row_q8_1(const void* vx, float* y, int64_t n) {
    const auto* x = static_cast<const BlockQ8_1*>(vx);
    for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK32; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

}  // namespace pagoda::quant
