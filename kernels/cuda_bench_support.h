// CUDA-backend extensions for benchmarks, behind a CUDA-free header (bench/ includes no
// CUDA headers). Each takes the Backend and fails cleanly when it is not the CUDA one.
#pragma once

#include <cstdint>

#include "backend/backend.h"
#include "pagoda/status.h"

namespace pagoda {

// A [rows, cols] weight of `type` filled on the GPU with seeded random blocks whose
// values are about +-scale: model-sized weights without host memory or PCIe copies.
Result<Tensor> cuda_random_weight(Backend& backend, GgmlType type, int64_t rows, int64_t cols, uint64_t seed,
                                  float scale);

// Device-to-device copy bandwidth in GB/s, counting bytes read plus bytes written
// (best of `iterations` copies of `bytes`), measured with CUDA events on the backend's stream.
Result<double> cuda_copy_bandwidth(Backend& backend, uint64_t bytes, int iterations);

// Bytes of weights the backend holds on the device.
uint64_t cuda_weight_bytes(const Backend& backend);

// Chooses kernel paths (tests, experiments): 0 sends every quantized matmul to cuBLAS.
Status cuda_set_mmvq_max_cols(Backend& backend, int max_cols);

}  // namespace pagoda
