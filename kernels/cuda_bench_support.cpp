#include "cuda_bench_support.h"

#include <algorithm>

#include "cuda_backend.h"

namespace pagoda {
namespace {

cuda::CudaBackend* as_cuda(Backend& b) { return dynamic_cast<cuda::CudaBackend*>(&b); }

}  // namespace

Result<Tensor> cuda_random_weight(Backend& backend, GgmlType type, int64_t rows, int64_t cols, uint64_t seed,
                                  float scale) {
    cuda::CudaBackend* c = as_cuda(backend);
    if (!c) return invalid_argument("cuda_random_weight: not a CUDA backend");
    return c->alloc_random_weight(type, rows, cols, seed, scale);
}

Result<double> cuda_copy_bandwidth(Backend& backend, uint64_t bytes, int iterations) {
    cuda::CudaBackend* c = as_cuda(backend);
    if (!c) return invalid_argument("cuda_copy_bandwidth: not a CUDA backend");
    void* src = nullptr;
    void* dst = nullptr;
    if (cudaMalloc(&src, bytes) != cudaSuccess || cudaMalloc(&dst, bytes) != cudaSuccess) {
        cudaGetLastError();
        if (src) cudaFree(src);
        return out_of_memory("cuda_copy_bandwidth: cannot allocate 2 x " + std::to_string(bytes >> 20) + " MiB");
    }
    cudaEvent_t start = nullptr, stop = nullptr;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    cudaStream_t s = c->stream();
    cudaMemsetAsync(src, 1, bytes, s);
    float best_ms = 0.0f;
    cudaError_t err = cudaSuccess;
    for (int i = 0; i < std::max(iterations, 1) + 1 && err == cudaSuccess; ++i) {
        cudaEventRecord(start, s);
        err = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s);
        cudaEventRecord(stop, s);
        if (err == cudaSuccess) err = cudaEventSynchronize(stop);
        float ms = 0.0f;
        cudaEventElapsedTime(&ms, start, stop);
        if (i > 0 && (best_ms == 0.0f || ms < best_ms)) best_ms = ms;  // the first is a warm-up
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaFree(src);
    cudaFree(dst);
    if (err != cudaSuccess) return cuda::cuda_status(err, "cuda_copy_bandwidth");
    if (best_ms <= 0.0f) return internal_error("cuda_copy_bandwidth: no timing");
    return 2.0 * static_cast<double>(bytes) / (best_ms * 1e-3) / 1e9;
}

uint64_t cuda_weight_bytes(const Backend& backend) {
    const auto* c = dynamic_cast<const cuda::CudaBackend*>(&backend);
    return c ? c->weight_bytes() : 0;
}

Status cuda_set_mmvq_max_cols(Backend& backend, int max_cols) {
    cuda::CudaBackend* c = as_cuda(backend);
    if (!c) return invalid_argument("cuda_set_mmvq_max_cols: not a CUDA backend");
    cuda::CudaDebugOptions o;
    o.mmvq_max_cols = max_cols;
    c->set_debug_options(o);
    return Status::ok();
}

}  // namespace pagoda
