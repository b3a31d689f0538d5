// CudaBackend's GPU sampling ops (kernels/sampling.cu): standalone for now, the engine
// still samples on the host. Host-side checks first, as for every op.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "cuda_backend.h"
#include "sampling_launch.h"

namespace pagoda::cuda {

Status CudaBackend::argmax_rows(const Tensor& logits, std::span<int32_t> ids) {
    bind_device();
    if (logits.type != GgmlType::F32 || logits.rows < 0 || logits.cols <= 0 || logits.cols > INT32_MAX ||
        logits.rows > INT32_MAX || !logits.data || static_cast<size_t>(logits.rows) != ids.size()) {
        return invalid_argument("argmax_rows: logits must be [rows, vocab] f32 with one id per row (got [" +
                                std::to_string(logits.rows) + ", " + std::to_string(logits.cols) + "] for " +
                                std::to_string(ids.size()) + " ids)");
    }
    if (ids.empty()) return Status::ok();
    const size_t bytes = ids.size() * sizeof(int32_t);
    auto device = workspace_.get(bytes, stream_, "argmax_rows");
    if (!device.is_ok()) return device.status();
    auto host = staging_.get(bytes, stream_, "argmax_rows");
    if (!host.is_ok()) return host.status();
    ArgmaxRowsArgs a{};
    a.logits = static_cast<const float*>(logits.data);
    a.ids = static_cast<int32_t*>(*device);
    a.rows = static_cast<int32_t>(logits.rows);
    a.vocab = logits.cols;
    cudaError_t err = launch_argmax_rows(a, stream_);
    if (err == cudaSuccess) err = cudaMemcpyAsync(*host, *device, bytes, cudaMemcpyDeviceToHost, stream_);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return cuda_status(err, "argmax_rows");
    }
    std::memcpy(ids.data(), *host, bytes);
    return Status::ok();
}

void CudaBackend::softmax_rows(const Tensor& logits, float temperature, Tensor& probs) {
    if (failed()) return;
    if (!check_f32("softmax_rows", "logits", logits, -1, -1) ||
        !check_f32("softmax_rows", "probs", probs, logits.rows, logits.cols)) {
        return;
    }
    if (!(temperature > 0.0f) || !std::isfinite(1.0f / temperature) || logits.rows > INT32_MAX) {
        fail(invalid_argument("softmax_rows: temperature must be positive and rows at most 2^31 - 1"));
        return;
    }
    if (logits.n_elements() == 0) return;
    SoftmaxRowsArgs a{};
    a.logits = static_cast<const float*>(logits.data);
    a.probs = static_cast<float*>(probs.data);
    a.rows = static_cast<int32_t>(logits.rows);
    a.vocab = logits.cols;
    a.inv_temperature = 1.0f / temperature;
    launched(launch_softmax_rows(a, stream_), "softmax_rows");
}

}  // namespace pagoda::cuda
