// CudaBackend's GPU sampling: the standalone argmax/softmax ops (kernels/sampling.cu) and
// sample_rows, the engine's token choice next to the logits (kernels/sampling_rows.cu).
// Host-side checks first, as for every op.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda_backend.h"
#include "sampling_launch.h"
#include "sampling_rows_pack.h"

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

bool CudaBackend::supports_device_sampling() const {
    // PAGODA_DEVICE_SAMPLING=0: the engine reads the logits and samples on the host (A/B, escape hatch).
    const char* env = std::getenv("PAGODA_DEVICE_SAMPLING");
    return !(env && env[0] == '0' && env[1] == '\0');
}

Status CudaBackend::sample_rows(const Tensor& logits, std::span<const RowSamplingRequest> requests,
                                std::span<RowSamplingResult> results) {
    bind_device();
    flush_recorded();
    if (logits.type != GgmlType::F32 || logits.rows < 0 || logits.cols <= 0 || logits.cols > INT32_MAX ||
        !logits.data) {
        return invalid_argument("sample_rows: logits must be [rows, vocab] f32 with 0 < vocab <= 2^31 - 1 (got [" +
                                std::to_string(logits.rows) + ", " + std::to_string(logits.cols) + "])");
    }
    if (requests.size() != results.size()) {
        return invalid_argument("sample_rows: " + std::to_string(requests.size()) + " requests for " +
                                std::to_string(results.size()) + " results");
    }
    RowSampleCounts counts;
    PAGODA_RETURN_IF_ERROR(check_row_requests(requests, logits.rows, counts));
    if (requests.empty()) return Status::ok();

    // One copy each way. Device: [jobs | bias | penalties] (uploaded) [results] [scratch rows];
    // pinned staging: the same up to the results.
    const size_t n = requests.size();
    const size_t vocab = static_cast<size_t>(logits.cols);
    const size_t bias_at = align_up(n * sizeof(RowSampleJob));
    const size_t penalties_at = align_up(bias_at + counts.n_bias * sizeof(RowSampleBias));
    const size_t upload_bytes = penalties_at + counts.n_penalties * sizeof(RowSamplePenalty);
    const size_t results_at = align_up(upload_bytes);
    const size_t results_end = results_at + n * sizeof(RowSampleResult);
    const size_t processed_at = align_up(results_end);
    const size_t device_bytes = processed_at + counts.n_processed * vocab * sizeof(float);
    auto device = workspace_.get(device_bytes, stream_, "sample_rows");
    if (!device.is_ok()) return device.status();
    auto host = staging_.get(results_end, stream_, "sample_rows");
    if (!host.is_ok()) return host.status();
    // The staging buffer may still feed an earlier copy: wait before overwriting it.
    if (cudaError_t err = cudaStreamSynchronize(stream_); err != cudaSuccess) return cuda_status(err, "sample_rows");

    char* h = static_cast<char*>(*host);
    char* d = static_cast<char*>(*device);
    const RowSampleTargets targets{static_cast<const float*>(logits.data), logits.cols,
                                   reinterpret_cast<const RowSampleBias*>(d + bias_at),
                                   reinterpret_cast<const RowSamplePenalty*>(d + penalties_at),
                                   reinterpret_cast<float*>(d + processed_at)};
    pack_row_jobs(requests, targets, reinterpret_cast<RowSampleJob*>(h), reinterpret_cast<RowSampleBias*>(h + bias_at),
                  reinterpret_cast<RowSamplePenalty*>(h + penalties_at));

    SampleRowsArgs a{};
    a.jobs = reinterpret_cast<const RowSampleJob*>(d);
    a.results = reinterpret_cast<RowSampleResult*>(d + results_at);
    a.n_jobs = static_cast<int32_t>(n);
    a.vocab = logits.cols;
    a.any_processed = counts.n_processed > 0;
    a.any_logprobs = counts.any_logprobs;
    cudaError_t err = cudaMemcpyAsync(d, h, upload_bytes, cudaMemcpyHostToDevice, stream_);
    if (err == cudaSuccess) err = launch_sample_rows(a, stream_);
    if (err == cudaSuccess) {
        err = cudaMemcpyAsync(h + results_at, d + results_at, n * sizeof(RowSampleResult), cudaMemcpyDeviceToHost,
                              stream_);
    }
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return cuda_status(err, "sample_rows");
    }
    const auto* out = reinterpret_cast<const RowSampleResult*>(h + results_at);
    for (size_t i = 0; i < n; ++i) results[i] = unpack_row_result(out[i], requests[i]);
    return Status::ok();
}

}  // namespace pagoda::cuda
