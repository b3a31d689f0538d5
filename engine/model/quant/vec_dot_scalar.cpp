// Portable dot products of a weight row with an activation row in vec_dot_type(weight).
// Integer products are summed exactly per block, then scaled and accumulated in fp32,
// as GGML's generic kernels do. These are the reference the SIMD kernels are tested
// against and the path used on CPUs without AVX2.
#include <cstring>
#include <type_traits>

#include "model/quant/quant_blocks.h"
#include "model/quant/quant_impl.h"

namespace pagoda::quant {
namespace {

float dot_f32(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const float*>(vx);
    const auto* y = static_cast<const float*>(vy);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(y[i]);
    return static_cast<float>(sum);
}

float dot_f16(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const uint16_t*>(vx);
    const auto* y = static_cast<const uint16_t*>(vy);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(x[i]) * fp16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

float dot_bf16(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const uint16_t*>(vx);
    const auto* y = static_cast<const uint16_t*>(vy);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(x[i]) * bf16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

float dot_q4_0_q8_0(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const BlockQ4_0*>(vx);
    const auto* y = static_cast<const BlockQ8_0*>(vy);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQK32; ++i) {
        int sumi = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            sumi += ((x[i].qs[j] & 0x0F) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + kQK32 / 2];
        }
        sumf += static_cast<float>(sumi) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    }
    return sumf;
}

float dot_q4_1_q8_1(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const BlockQ4_1*>(vx);
    const auto* y = static_cast<const BlockQ8_1*>(vy);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQK32; ++i) {
        int sumi = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            sumi += (x[i].qs[j] & 0x0F) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + kQK32 / 2];
        }
        // sum((q*d + m) * y) = d*dy*sum(q*qy) + m * (dy*sum(qy)), the latter stored as y.s
        sumf += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi) +
                fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
    }
    return sumf;
}

float dot_q5_0_q8_0(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const BlockQ5_0*>(vx);
    const auto* y = static_cast<const BlockQ8_0*>(vy);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQK32; ++i) {
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, sizeof(qh));
        int sumi = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            const int h0 = static_cast<int>((qh >> j) << 4) & 0x10;
            const int h1 = static_cast<int>(qh >> (j + 12)) & 0x10;
            sumi += (((x[i].qs[j] & 0x0F) | h0) - 16) * y[i].qs[j];
            sumi += (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + kQK32 / 2];
        }
        sumf += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi);
    }
    return sumf;
}

float dot_q5_1_q8_1(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const BlockQ5_1*>(vx);
    const auto* y = static_cast<const BlockQ8_1*>(vy);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQK32; ++i) {
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, sizeof(qh));
        int sumi = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            const int h0 = static_cast<int>((qh >> j) << 4) & 0x10;
            const int h1 = static_cast<int>(qh >> (j + 12)) & 0x10;
            sumi += ((x[i].qs[j] & 0x0F) | h0) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) | h1) * y[i].qs[j + kQK32 / 2];
        }
        sumf += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi) +
                fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
    }
    return sumf;
}

float dot_q8_0_q8_0(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const BlockQ8_0*>(vx);
    const auto* y = static_cast<const BlockQ8_0*>(vy);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQK32; ++i) {
        int sumi = 0;
        for (int j = 0; j < kQK32; ++j) sumi += x[i].qs[j] * y[i].qs[j];
        sumf += static_cast<float>(sumi) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
    }
    return sumf;
}

// Q4_K and Q5_K: sum_j d*sc_j*dot(q_j, y_j) - dmin*m_j*sum(y_j); the second term comes
// from Q8_K's per-16 sums, so it costs 16 multiplies per super-block.
template <bool kFiveBit>
float dot_qk45_q8_K(int64_t n, const void* vx, const void* vy) {
    using Block = std::conditional_t<kFiveBit, BlockQ5_K, BlockQ4_K>;
    const auto* x = static_cast<const Block*>(vx);
    const auto* y = static_cast<const BlockQ8_K*>(vy);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        uint32_t w[4];
        unpack_scales_mins_k4(x[i].scales, w);
        uint8_t scales[8], mins[8];
        for (int j = 0; j < 8; ++j) {
            scales[j] = static_cast<uint8_t>(w[j / 4] >> (8 * (j % 4)));
            mins[j] = static_cast<uint8_t>(w[2 + j / 4] >> (8 * (j % 4)));
        }
        int summs = 0;
        for (int j = 0; j < kQKK / 16; ++j) summs += y[i].bsums[j] * mins[j / 2];

        const uint8_t* q4 = x[i].qs;
        const int8_t* q8 = y[i].qs;
        int isum = 0;
        for (int c = 0; c < kQKK / 64; ++c, q4 += 32, q8 += 64) {
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; ++l) {
                int vlo = q4[l] & 0xF;
                int vhi = q4[l] >> 4;
                if constexpr (kFiveBit) {
                    vlo += (x[i].qh[l] >> (2 * c)) & 1 ? 16 : 0;
                    vhi += (x[i].qh[l] >> (2 * c + 1)) & 1 ? 16 : 0;
                }
                lo += vlo * q8[l];
                hi += vhi * q8[l + 32];
            }
            isum += scales[2 * c] * lo + scales[2 * c + 1] * hi;
        }
        const float d = fp16_to_fp32(x[i].d) * y[i].d;
        const float dmin = fp16_to_fp32(x[i].dmin) * y[i].d;
        sumf += d * static_cast<float>(isum) - dmin * static_cast<float>(summs);
    }
    return sumf;
}

float dot_q6_K_q8_K(int64_t n, const void* vx, const void* vy) {
    const auto* x = static_cast<const BlockQ6_K*>(vx);
    const auto* y = static_cast<const BlockQ8_K*>(vy);
    float sumf = 0;
    int8_t a[kQKK];
    for (int64_t i = 0; i < n / kQKK; ++i) {
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        for (int c = 0; c < kQKK; c += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                a[c + l + 0] = static_cast<int8_t>(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                a[c + l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                a[c + l + 64] = static_cast<int8_t>(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                a[c + l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        int isum = 0;
        for (int j = 0; j < kQKK / 16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += a[16 * j + l] * y[i].qs[16 * j + l];
            isum += x[i].scales[j] * s;
        }
        sumf += fp16_to_fp32(x[i].d) * y[i].d * static_cast<float>(isum);
    }
    return sumf;
}

}  // namespace

VecDotFn get_vec_dot_scalar(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::F32:
            return dot_f32;
        case GgmlType::F16:
            return dot_f16;
        case GgmlType::BF16:
            return dot_bf16;
        case GgmlType::Q4_0:
            return dot_q4_0_q8_0;
        case GgmlType::Q4_1:
            return dot_q4_1_q8_1;
        case GgmlType::Q5_0:
            return dot_q5_0_q8_0;
        case GgmlType::Q5_1:
            return dot_q5_1_q8_1;
        case GgmlType::Q8_0:
            return dot_q8_0_q8_0;
        case GgmlType::Q4_K:
            return dot_qk45_q8_K<false>;
        case GgmlType::Q5_K:
            return dot_qk45_q8_K<true>;
        case GgmlType::Q6_K:
            return dot_q6_K_q8_K;
        default:
            return nullptr;
    }
}

}  // namespace pagoda::quant
