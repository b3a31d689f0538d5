// matmul: out[t][o] = dot(x[t], w[o]).  w: [m, k] in its GGUF encoding, x: [n, k], out: [n, m].
//
// Small batches (n <= 8) of quantized weights: dp4a matrix-vector kernels (mmvq.cu) on
// int8-quantized activations, reading each weight byte once. Everything else goes to
// cuBLAS: F32 weights as an fp32 GEMM (no TF32), F16/BF16 weights against activations
// rounded to the same type (as the CPU backend dots them) with fp32 accumulation, and
// quantized weights dequantized to F16 in row chunks of at most kDequantChunkBytes.
//
// cuBLAS is column-major: our row-major w [m, k] is its k x m matrix, x [n, k] its k x n,
// so out^T (m x n, ldc = m) = op(w)^T * x, i.e. GEMM(T, N, m, n, k).
#include <algorithm>
#include <string>

#include "cuda_backend.h"
#include "model/ggml_type.h"

namespace pagoda::cuda {
namespace {

constexpr size_t kDequantChunkBytes = size_t{64} << 20;

bool overlaps(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
    const auto* pa = static_cast<const char*>(a);
    const auto* pb = static_cast<const char*>(b);
    return pa < pb + b_bytes && pb < pa + a_bytes;
}

std::string cublas_error(cublasStatus_t s) { return std::string("cuBLAS: ") + cublasGetStatusString(s); }

}  // namespace

void CudaBackend::matmul(const Tensor& w, const Tensor& x, Tensor& out) {
    if (failed()) return;
    const auto info = ggml_type_info(static_cast<uint32_t>(w.type));
    if (!info || !info->runnable || !dequant_supported(w.type) || !w.data || w.rows <= 0 || w.cols <= 0 ||
        !ggml_row_bytes(w.type, w.cols)) {
        fail(invalid_argument("matmul: w is not a usable weight tensor"));
        return;
    }
    if (!check_f32("matmul", "x", x, -1, w.cols) || !check_f32("matmul", "out", out, x.rows, w.rows)) return;
    const int64_t n = x.rows;
    if (n == 0) return;
    if (overlaps(x.data, static_cast<size_t>(n * w.cols) * sizeof(float), out.data,
                 static_cast<size_t>(n * w.rows) * sizeof(float))) {
        fail(invalid_argument("matmul: out overlaps x"));
        return;
    }
    if (w.rows > INT32_MAX || w.cols > INT32_MAX || n > INT32_MAX) {
        fail(unsupported("matmul: dimensions beyond 2^31"));
        return;
    }
    if (mmvq_supported(w.type) && n <= debug_.mmvq_max_cols) {
        matmul_mmvq(w, x, out);
    } else {
        matmul_cublas(w, x, out);
    }
}

void CudaBackend::matmul_mmvq(const Tensor& w, const Tensor& x, Tensor& out) {
    const int64_t n = x.rows;
    const int64_t k = w.cols;
    auto* acts = static_cast<BlockQ8x32*>(workspace(static_cast<size_t>(n * (k / 32)) * sizeof(BlockQ8x32), "matmul"));
    if (!acts) return;
    if (!launched(launch_quantize_q8({static_cast<const float*>(x.data), acts, n, k}, stream_), "matmul")) return;
    MmvqArgs a{};
    a.type = w.type;
    a.w = w.data;
    a.row_bytes = static_cast<int64_t>(*ggml_row_bytes(w.type, k));
    a.x = acts;
    a.out = static_cast<float*>(out.data);
    a.n_rows = w.rows;
    a.n_in = k;
    a.n_cols = static_cast<int32_t>(n);
    launched(launch_mmvq(a, stream_), "matmul");
}

void CudaBackend::matmul_cublas(const Tensor& w, const Tensor& x, Tensor& out) {
    const int m = static_cast<int>(w.rows);
    const int k = static_cast<int>(w.cols);
    const int n = static_cast<int>(x.rows);
    const float alpha = 1.0f;
    const float beta = 0.0f;
    float* c = static_cast<float*>(out.data);

    if (w.type == GgmlType::F32) {
        const cublasStatus_t s =
            cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w.data, CUDA_R_32F, k, x.data, CUDA_R_32F,
                         k, &beta, c, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (s != CUBLAS_STATUS_SUCCESS) fail(internal_error("matmul: " + cublas_error(s)));
        return;
    }

    // Activations rounded to the weight's half type (f16 for quantized weights).  [n, k]
    const bool bf16 = w.type == GgmlType::BF16;
    const cudaDataType half_type = bf16 ? CUDA_R_16BF : CUDA_R_16F;
    const size_t x_bytes = align_up(static_cast<size_t>(n) * k * sizeof(uint16_t));
    const bool quantized = w.type != GgmlType::F16 && w.type != GgmlType::BF16;
    const int64_t chunk_rows =
        quantized ? std::clamp<int64_t>(static_cast<int64_t>(kDequantChunkBytes / (static_cast<size_t>(k) * 2)), 1, m)
                  : 0;
    const size_t chunk_bytes = static_cast<size_t>(chunk_rows) * k * sizeof(uint16_t);
    auto* ws = static_cast<char*>(workspace(x_bytes + chunk_bytes, "matmul"));
    if (!ws) return;
    auto* x_half = reinterpret_cast<uint16_t*>(ws);
    if (!launched(
            launch_convert_f32({static_cast<const float*>(x.data), x_half, static_cast<int64_t>(n) * k, bf16}, stream_),
            "matmul")) {
        return;
    }

    if (!quantized) {
        const cublasStatus_t s =
            cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w.data, half_type, k, x_half, half_type, k,
                         &beta, c, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (s != CUBLAS_STATUS_SUCCESS) fail(internal_error("matmul: " + cublas_error(s)));
        return;
    }

    auto* w_half = reinterpret_cast<uint16_t*>(ws + x_bytes);
    const int64_t row_bytes = static_cast<int64_t>(*ggml_row_bytes(w.type, k));
    for (int64_t r0 = 0; r0 < m; r0 += chunk_rows) {
        const int64_t rows = std::min<int64_t>(chunk_rows, m - r0);
        DequantizeF16Args d{};
        d.type = w.type;
        d.src = static_cast<const char*>(w.data) + r0 * row_bytes;
        d.row_bytes = row_bytes;
        d.dst = w_half;
        d.rows = rows;
        d.cols = k;
        if (!launched(launch_dequantize_f16(d, stream_), "matmul")) return;
        // Rows [r0, r0 + rows) of out^T: the sub-matrix starting at c + r0 with ldc = m.
        const cublasStatus_t s =
            cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), n, k, &alpha, w_half, CUDA_R_16F, k,
                         x_half, CUDA_R_16F, k, &beta, c + r0, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (s != CUBLAS_STATUS_SUCCESS) {
            fail(internal_error("matmul: " + cublas_error(s)));
            return;
        }
    }
}

}  // namespace pagoda::cuda
