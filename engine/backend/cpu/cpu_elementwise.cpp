// Row-wise ops: embed, rms_norm, add, add_bias, silu_mul, gather_logit_rows.
#include <cmath>
#include <cstring>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_math.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda::cpu {
namespace {

// Rows per parallel chunk so a chunk is worth handing to another thread (~16K values).
int64_t row_grain(int64_t cols) { return cols >= 16384 ? 1 : 16384 / (cols > 0 ? cols : 1); }

}  // namespace

void CpuBackend::embed(const Tensor& table, Tensor& out) {
    if (failed() || !check_step("embed")) return;
    const auto info = ggml_type_info(static_cast<uint32_t>(table.type));
    if (!info || !info->runnable || !table.data || table.rows <= 0 || table.cols <= 0 ||
        !ggml_row_bytes(table.type, table.cols)) {
        fail(invalid_argument("embed: the table is not a usable weight tensor"));
        return;
    }
    const int32_t n_tokens = step_.n_tokens();
    if (!check_f32("embed", "out", out, n_tokens, table.cols)) return;
    for (int32_t i = 0; i < n_tokens; ++i) {
        const TokenId token = step_.tokens[static_cast<size_t>(i)];
        if (token < 0 || token >= table.rows) {
            fail(invalid_argument("embed: token id " + std::to_string(token) + " outside the vocabulary of " +
                                  std::to_string(table.rows)));
            return;
        }
    }
    const size_t row_bytes = static_cast<size_t>(*ggml_row_bytes(table.type, table.cols));
    const int64_t dim = table.cols;
    pool_.parallel_for(n_tokens, row_grain(dim), [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; ++i) {
            const auto* src = static_cast<const uint8_t*>(table.data) +
                              static_cast<size_t>(step_.tokens[static_cast<size_t>(i)]) * row_bytes;
            float* dst = static_cast<float*>(out.data) + i * dim;
            if (table.type == GgmlType::F32) {
                std::memcpy(dst, src, row_bytes);
            } else {
                dequantize_row(table.type, src, dst, dim);
            }
        }
    });
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
    if (failed()) return;
    if (!check_f32("rms_norm", "x", x, -1, -1) || !check_f32("rms_norm", "out", out, x.rows, x.cols)) return;
    if (!(eps >= 0.0f)) {
        fail(invalid_argument("rms_norm: eps must not be negative"));
        return;
    }
    std::vector<float> weight_storage;
    const float* w = as_f32_vector("rms_norm", "weight", weight, x.cols, weight_storage);
    if (!w) return;
    const int64_t cols = x.cols;
    pool_.parallel_for(x.rows, row_grain(cols), [&](int64_t begin, int64_t end, int) {
        for (int64_t r = begin; r < end; ++r) {
            const float* xr = static_cast<const float*>(x.data) + r * cols;
            float* yr = static_cast<float*>(out.data) + r * cols;
            // As ggml: squares rounded to float, summed in double; mean and scale in float.
            // Four partial sums let the adds overlap; in double the order is immaterial here.
            double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
            int64_t c = 0;
            for (; c + 4 <= cols; c += 4) {
                s0 += static_cast<double>(xr[c] * xr[c]);
                s1 += static_cast<double>(xr[c + 1] * xr[c + 1]);
                s2 += static_cast<double>(xr[c + 2] * xr[c + 2]);
                s3 += static_cast<double>(xr[c + 3] * xr[c + 3]);
            }
            for (; c < cols; ++c) s0 += static_cast<double>(xr[c] * xr[c]);
            const float mean = static_cast<float>((s0 + s1 + s2 + s3) / static_cast<double>(cols));
            const float scale = 1.0f / std::sqrt(mean + eps);
            for (c = 0; c < cols; ++c) yr[c] = (xr[c] * scale) * w[c];  // x and out may alias
        }
    });
}

void CpuBackend::add(Tensor& x, const Tensor& y) {
    if (failed()) return;
    if (!check_f32("add", "x", x, -1, -1) || !check_f32("add", "y", y, x.rows, x.cols)) return;
    const int64_t cols = x.cols;
    pool_.parallel_for(x.rows, row_grain(cols), [&](int64_t begin, int64_t end, int) {
        float* xp = static_cast<float*>(x.data) + begin * cols;
        const float* yp = static_cast<const float*>(y.data) + begin * cols;
        const int64_t n = (end - begin) * cols;
        for (int64_t i = 0; i < n; ++i) xp[i] += yp[i];
    });
}

void CpuBackend::add_bias(Tensor& x, const Tensor& bias) {
    if (failed()) return;
    if (!check_f32("add_bias", "x", x, -1, -1)) return;
    std::vector<float> bias_storage;
    const float* b = as_f32_vector("add_bias", "bias", bias, x.cols, bias_storage);
    if (!b) return;
    const int64_t cols = x.cols;
    pool_.parallel_for(x.rows, row_grain(cols), [&](int64_t begin, int64_t end, int) {
        for (int64_t r = begin; r < end; ++r) {
            float* xr = static_cast<float*>(x.data) + r * cols;
            for (int64_t c = 0; c < cols; ++c) xr[c] += b[c];
        }
    });
}

void CpuBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) {
    if (failed()) return;
    if (!check_f32("silu_mul", "gate", gate, -1, -1) || !check_f32("silu_mul", "up", up, gate.rows, gate.cols) ||
        !check_f32("silu_mul", "out", out, gate.rows, gate.cols)) {
        return;
    }
    const int64_t cols = gate.cols;
    pool_.parallel_for(gate.rows, row_grain(cols), [&](int64_t begin, int64_t end, int) {
        const float* g = static_cast<const float*>(gate.data) + begin * cols;
        const float* u = static_cast<const float*>(up.data) + begin * cols;
        float* o = static_cast<float*>(out.data) + begin * cols;
        const int64_t n = (end - begin) * cols;
        for (int64_t i = 0; i < n; ++i) o[i] = silu_mul_one(g[i], u[i]);
    });
}

void CpuBackend::gather_logit_rows(const Tensor& x, Tensor& out) {
    if (failed() || !check_step("gather_logit_rows")) return;
    const int64_t n_rows = static_cast<int64_t>(step_.logit_rows.size());
    if (!check_f32("gather_logit_rows", "x", x, step_.n_tokens(), -1) ||
        !check_f32("gather_logit_rows", "out", out, n_rows, x.cols)) {
        return;
    }
    const size_t row_bytes = static_cast<size_t>(x.cols) * sizeof(float);
    for (int64_t j = 0; j < n_rows; ++j) {
        const int64_t r = step_.logit_rows[static_cast<size_t>(j)];
        std::memmove(static_cast<float*>(out.data) + j * x.cols, static_cast<const float*>(x.data) + r * x.cols,
                     row_bytes);
    }
}

}  // namespace pagoda::cpu
