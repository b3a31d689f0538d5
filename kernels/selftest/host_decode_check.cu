// Host-side check of the kernels' weight decoding (quant_decode.cuh), which is the
// error-prone bit manipulation of the CUDA backend: runs on any machine, no GPU needed.
//  - dequant8<T> must reproduce dequantize_row (the CPU reference) value for value;
//  - decode_unit<T> + the dp4a formula of mmvq.cu must give the exact dot product of a
//    unit with int8-quantized activations.
#include <cmath>
#include <string>
#include <vector>

#include "host_decode_check.h"
#include "kernel_launch.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"
#include "parity_harness.h"
#include "quant_decode.cuh"

namespace pagoda::gpu_parity {
namespace {

using cuda::BlockQ8x32;
using cuda::UnitDecode;

int dp4a_host(int a, int b, int c) {
    for (int i = 0; i < 4; ++i) {
        c += static_cast<int>(static_cast<int8_t>(a >> (8 * i))) * static_cast<int>(static_cast<int8_t>(b >> (8 * i)));
    }
    return c;
}

// The activation quantization of mmvq.cu's quantize_q8_kernel, on the host.
BlockQ8x32 quantize_block(const float* x) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    BlockQ8x32 b{};
    b.d = amax / 127.0f;
    const float id = b.d != 0.0f ? 1.0f / b.d : 0.0f;
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
        const int q = static_cast<int>(std::round(x[i] * id));
        b.qs[i] = static_cast<int8_t>(q);
        sum += q;
    }
    b.s = b.d * static_cast<float>(sum);
    return b;
}

template <GgmlType T>
void check_type(std::vector<std::string>& failures) {
    const char* name = ggml_type_name(T);
    const int64_t rows = 3;
    const int64_t cols = 512;
    const std::vector<uint8_t> w = random_weight(T, rows, cols, 17, 1.0f);
    const int64_t row_bytes = static_cast<int64_t>(*ggml_row_bytes(T, cols));
    std::vector<float> ref(static_cast<size_t>(cols));
    const std::vector<float> act = random_normal(static_cast<size_t>(cols), 18);
    int bad_values = 0, bad_units = 0;
    std::string first_bad;
    for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* row = w.data() + r * row_bytes;
        dequantize_row(T, row, ref.data(), cols);
        float maxabs = 0.0f;
        for (float v : ref) maxabs = std::fmax(maxabs, std::fabs(v));
        for (int64_t first = 0; first < cols; first += 8) {
            float out[8];
            cuda::dequant8<T>(row, first, out);
            for (int i = 0; i < 8; ++i) {
                if (std::fabs(out[i] - ref[first + i]) > 1e-6f * maxabs) {
                    if (bad_values++ == 0) {
                        first_bad = "dequant8 row " + std::to_string(r) + " value " + std::to_string(first + i) + ": " +
                                    std::to_string(out[i]) + " vs " + std::to_string(ref[first + i]);
                    }
                }
            }
        }
        if constexpr (T != GgmlType::F32 && T != GgmlType::F16 && T != GgmlType::BF16) {
            for (int u = 0; u < cols / 32; ++u) {
                const BlockQ8x32 a = quantize_block(act.data() + 32 * u);
                UnitDecode d;
                cuda::decode_unit<T>(row, u, d);
                int xq[8];
                __builtin_memcpy(xq, a.qs, sizeof xq);
                int lo = 0, hi = 0;
                for (int i = 0; i < 4; ++i) {
                    lo = dp4a_host(d.q[i], xq[i], lo);
                    hi = dp4a_host(d.q[i + 4], xq[i + 4], hi);
                }
                const double got =
                    a.d * (d.dw0 * static_cast<double>(lo) + d.dw1 * static_cast<double>(hi)) + d.mw * a.s;
                double want = 0.0, mag = 0.0;
                for (int i = 0; i < 32; ++i) {
                    const double term = static_cast<double>(ref[32 * u + i]) * a.d * a.qs[i];
                    want += term;
                    mag += std::fabs(term);
                }
                if (std::fabs(got - want) > 1e-5 * mag + 1e-6) {
                    if (bad_units++ == 0 && first_bad.empty()) {
                        first_bad = "decode_unit row " + std::to_string(r) + " unit " + std::to_string(u) + ": " +
                                    std::to_string(got) + " vs " + std::to_string(want);
                    }
                }
            }
        }
    }
    if (bad_values || bad_units) {
        failures.push_back(std::string(name) + ": " + std::to_string(bad_values) + " values and " +
                           std::to_string(bad_units) + " units wrong; first: " + first_bad);
    }
}

}  // namespace

std::vector<std::string> check_quant_decode_on_host() {
    std::vector<std::string> failures;
    check_type<GgmlType::F32>(failures);
    check_type<GgmlType::F16>(failures);
    check_type<GgmlType::BF16>(failures);
    check_type<GgmlType::Q4_0>(failures);
    check_type<GgmlType::Q4_1>(failures);
    check_type<GgmlType::Q5_0>(failures);
    check_type<GgmlType::Q5_1>(failures);
    check_type<GgmlType::Q8_0>(failures);
    check_type<GgmlType::Q4_K>(failures);
    check_type<GgmlType::Q5_K>(failures);
    check_type<GgmlType::Q6_K>(failures);
    return failures;
}

}  // namespace pagoda::gpu_parity
