// Entry points of the CUDA backend for code outside kernels/ (the CLI's device choice,
// the engine, tests). Plain C++: no CUDA header leaks out of kernels/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "pagoda/status.h"

namespace pagoda {

struct CudaDeviceInfo {
    int index = 0;
    std::string name;  // "NVIDIA H100 80GB HBM3"
    int cc_major = 0;  // compute capability
    int cc_minor = 0;
    uint64_t total_memory = 0;  // bytes
    int multiprocessors = 0;
};

// The GPUs the CUDA runtime sees. Empty when the driver reports none; an error (with
// the runtime's reason) when there is no usable driver at all.
Result<std::vector<CudaDeviceInfo>> list_cuda_devices();

// Oldest compute capability the kernels are written for (dp4a, 64 KB shared memory): 7.5.
constexpr int kMinCudaComputeCapability = 75;

// A CUDA backend on GPU `device`: checks the device and that this build holds code for
// it, creates the stream and cuBLAS handle. Fails with a clear reason, never exits.
Result<std::unique_ptr<Backend>> create_cuda_backend(int device);

}  // namespace pagoda
