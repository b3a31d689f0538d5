// matmul: out[t][o] = dot(x[t], w[o]).  w: [m, k] in its GGUF encoding, x: [n, k], out: [n, m].
//
// Small batches (n <= mmvq_max_cols, default kSmallBatchMaxCols) read each weight byte
// once per group of kMmvqMaxCols rows of x, with bandwidth-bound kernels:
//  - quantized weights: dp4a matrix-vector kernels (mmvq.cu) on int8-quantized
//    activations. The quantized activations are kept for the next matmul when it reads
//    the same x and no kernel ran in between (q, k, v and gate, up share their input);
//  - F32/F16/BF16 weights (n <= kMmvqMaxCols): gemv.cu, on the activations the CPU
//    backend dots them with (fp32; bf16-rounded for BF16 weights).
// Everything else goes to cuBLAS: F32 weights as an fp32 GEMM (no TF32), F16/BF16 weights
// against activations rounded to the same type with fp32 accumulation, and quantized
// weights dequantized to F16 in row chunks of at most kDequantChunkBytes.
//
// Launches go through enqueue() (cuda_backend.h), so a decode step can be replayed as a
// CUDA graph; cuBLAS calls are wrapped the same way (GemmArgs).
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

// gemv.cu reads rows as 16-byte vectors.
bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// One cublasGemmEx(T, N) with fp32 output and compute, as a POD launch.
struct CublasGemmArgs {
    cublasHandle_t handle;
    const void* a;  // op(a) = a^T: [k, m] column-major, lda
    const void* b;  // [k, n] column-major, ldb = k
    cudaDataType ab_type;
    float* c;  // [m, n] column-major, ldc
    int m, n, k, lda, ldc;
};

// One cublasGemmEx as a launch (enqueue() may defer it into a CUDA graph).
cudaError_t launch_cublas_gemm(const CublasGemmArgs& g, cudaStream_t stream) {
    (void)stream;  // the handle is bound to the backend's stream
    const float alpha = 1.0f;
    const float beta = 0.0f;
    const cublasStatus_t s =
        cublasGemmEx(g.handle, CUBLAS_OP_T, CUBLAS_OP_N, g.m, g.n, g.k, &alpha, g.a, g.ab_type, g.lda, g.b, g.ab_type,
                     g.k, &beta, g.c, CUDA_R_32F, g.ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (s == CUBLAS_STATUS_SUCCESS) return cudaSuccess;
    // cuBLAS reports its own status; map it onto a CUDA error for launched().
    return s == CUBLAS_STATUS_ALLOC_FAILED ? cudaErrorMemoryAllocation : cudaErrorUnknown;
}

}  // namespace

void CudaBackend::matmul(const Tensor& w, const Tensor& x, Tensor& out) {
    if (op_failed()) return;
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
    } else if (gemv_supported(w.type, w.cols) && n <= std::min(debug_.mmvq_max_cols, kMmvqMaxCols) &&
               aligned16(w.data) && aligned16(x.data)) {
        matmul_gemv(w, x, out);
    } else {
        matmul_cublas(w, x, out);
    }
}

void CudaBackend::matmul_mmvq(const Tensor& w, const Tensor& x, Tensor& out) {
    const int64_t n = x.rows;
    const int64_t k = w.cols;
    const int64_t n_units = k / 32;
    BlockQ8x32* acts = nullptr;
    if (q8_cache_.src == x.data && q8_cache_.rows == n && q8_cache_.cols == k && q8_cache_.epoch == launch_epoch_) {
        acts = static_cast<BlockQ8x32*>(q8_cache_.acts);
    } else {
        acts = static_cast<BlockQ8x32*>(
            device_buffer(act_q8_, static_cast<size_t>(n * n_units) * sizeof(BlockQ8x32), "matmul"));
        if (!acts) return;
        auto q = zeroed_args<QuantizeQ8Args>();
        q.x = static_cast<const float*>(x.data);
        q.out = acts;
        q.rows = n;
        q.cols = k;
        if (!enqueue(launch_quantize_q8, q, "matmul")) return;
    }
    // Groups of up to kMmvqMaxCols activation rows; each group reads the weight once.
    for (int64_t c0 = 0; c0 < n; c0 += kMmvqMaxCols) {
        auto a = zeroed_args<MmvqArgs>();
        a.type = w.type;
        a.w = w.data;
        a.row_bytes = static_cast<int64_t>(*ggml_row_bytes(w.type, k));
        a.x = acts + c0 * n_units;
        a.out = static_cast<float*>(out.data) + c0 * w.rows;
        a.n_rows = w.rows;
        a.n_in = k;
        a.n_cols = static_cast<int32_t>(std::min<int64_t>(kMmvqMaxCols, n - c0));
        if (!enqueue(launch_mmvq, a, "matmul")) return;
    }
    // Valid until any other launch (or host write) might change x.
    q8_cache_ = {x.data, n, k, acts, launch_epoch_};
}

void CudaBackend::matmul_gemv(const Tensor& w, const Tensor& x, Tensor& out) {
    const int64_t n = x.rows;
    const int64_t k = w.cols;
    const void* xw = x.data;
    if (w.type == GgmlType::BF16) {
        // Activations rounded to bf16, as the CPU backend dots BF16 weights.  [n, k]
        auto* x_half = static_cast<uint16_t*>(workspace(static_cast<size_t>(n * k) * sizeof(uint16_t), "matmul"));
        if (!x_half) return;
        auto c = zeroed_args<ConvertArgs>();
        c.src = static_cast<const float*>(x.data);
        c.dst = x_half;
        c.n = n * k;
        c.bf16 = true;
        if (!enqueue(launch_convert_f32, c, "matmul")) return;
        xw = x_half;
    }
    const size_t x_row_bytes = static_cast<size_t>(k) * (w.type == GgmlType::BF16 ? 2 : 4);
    auto a = zeroed_args<GemvArgs>();
    a.type = w.type;
    a.w = w.data;
    a.x = xw;
    a.out = static_cast<float*>(out.data);
    a.n_rows = w.rows;
    a.n_in = k;
    a.n_cols = static_cast<int32_t>(n);
    launch_gemv_batches(a, x_row_bytes);
}

void CudaBackend::launch_gemv_batches(GemvArgs a, size_t x_row_bytes) {
    const int32_t n = a.n_cols;
    const auto* x = static_cast<const char*>(a.x);
    float* out = a.out;
    for (int32_t c0 = 0; c0 < n; c0 += kMmvqMaxCols) {
        a.x = x + static_cast<size_t>(c0) * x_row_bytes;
        a.out = out + static_cast<int64_t>(c0) * a.n_rows;
        a.n_cols = std::min(kMmvqMaxCols, n - c0);
        if (!enqueue(launch_gemv, a, "matmul")) return;
    }
}

void CudaBackend::matmul_cublas(const Tensor& w, const Tensor& x, Tensor& out) {
    const int m = static_cast<int>(w.rows);
    const int k = static_cast<int>(w.cols);
    const int n = static_cast<int>(x.rows);
    float* c = static_cast<float*>(out.data);
    // cuBLAS writes `out` without launched(): x of a later matmul may be this out.
    ++launch_epoch_;

    auto g = zeroed_args<CublasGemmArgs>();
    g.handle = cublas_;
    g.m = m;
    g.n = n;
    g.k = k;
    g.lda = k;
    g.c = c;
    g.ldc = m;

    if (w.type == GgmlType::F32) {
        g.a = w.data;
        g.b = x.data;
        g.ab_type = CUDA_R_32F;
        enqueue(launch_cublas_gemm, g, "matmul (cuBLAS)");
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
    auto cv = zeroed_args<ConvertArgs>();
    cv.src = static_cast<const float*>(x.data);
    cv.dst = x_half;
    cv.n = static_cast<int64_t>(n) * k;
    cv.bf16 = bf16;
    if (!enqueue(launch_convert_f32, cv, "matmul")) return;

    g.b = x_half;
    g.ab_type = half_type;
    if (!quantized) {
        g.a = w.data;
        enqueue(launch_cublas_gemm, g, "matmul (cuBLAS)");
        return;
    }

    auto* w_half = reinterpret_cast<uint16_t*>(ws + x_bytes);
    const int64_t row_bytes = static_cast<int64_t>(*ggml_row_bytes(w.type, k));
    for (int64_t r0 = 0; r0 < m; r0 += chunk_rows) {
        const int64_t rows = std::min<int64_t>(chunk_rows, m - r0);
        auto d = zeroed_args<DequantizeF16Args>();
        d.type = w.type;
        d.src = static_cast<const char*>(w.data) + r0 * row_bytes;
        d.row_bytes = row_bytes;
        d.dst = w_half;
        d.rows = rows;
        d.cols = k;
        if (!enqueue(launch_dequantize_f16, d, "matmul")) return;
        // Rows [r0, r0 + rows) of out^T: the sub-matrix starting at c + r0 with ldc = m.
        g.m = static_cast<int>(rows);
        g.a = w_half;
        g.c = c + r0;
        if (!enqueue(launch_cublas_gemm, g, "matmul (cuBLAS)")) return;
    }
}

}  // namespace pagoda::cuda
