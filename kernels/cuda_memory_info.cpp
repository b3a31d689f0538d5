#include "cuda_memory_info.h"

#include <cuda_runtime_api.h>

#include <cstdio>

#include "cuda_backend.h"

namespace pagoda::cuda {

Result<MemoryInfo> query_device_memory(int device) {
    cudaError_t err = cudaSetDevice(device);
    size_t free_bytes = 0, total_bytes = 0;
    if (err == cudaSuccess) err = cudaMemGetInfo(&free_bytes, &total_bytes);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return cuda_status(err, "cuda:" + std::to_string(device) + ": cannot query the free memory");
    }
    return MemoryInfo{free_bytes, total_bytes};
}

std::string format_bytes(uint64_t bytes) {
    char buf[32];
    if (bytes >= (uint64_t{1} << 30)) {
        std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / static_cast<double>(1u << 30));
    } else {
        std::snprintf(buf, sizeof buf, "%llu MiB", static_cast<unsigned long long>((bytes + (1u << 20) - 1) >> 20));
    }
    return buf;
}

Status check_fits(uint64_t need, const MemoryInfo& mem, uint64_t in_use, const std::string& what,
                  const std::string& device) {
    if (need <= mem.free_bytes && mem.free_bytes - need >= kWeightHeadroomBytes) return Status::ok();
    std::string msg = what + " need " + format_bytes(need) + " of GPU memory (plus about " +
                      format_bytes(kWeightHeadroomBytes) + " of working room); " + device + " has " +
                      format_bytes(mem.free_bytes) + " free of " + format_bytes(mem.total_bytes);
    if (in_use > 0) msg += " (" + format_bytes(in_use) + " already held by Pagoda)";
    msg += ": use a smaller model or quantization, free GPU memory, or run on the CPU (--device cpu)";
    return out_of_memory(msg);
}

// ---- CudaBackend ------------------------------------------------------------------------

std::optional<MemoryInfo> CudaBackend::device_memory() const {
    auto mem = query_device_memory(info_.index);
    if (!mem.is_ok()) return std::nullopt;
    return *mem;
}

Status CudaBackend::check_weights_fit(uint64_t bytes) const {
    auto mem = query_device_memory(info_.index);
    if (!mem.is_ok()) return Status::ok();  // cannot tell: let the uploads report
    return check_fits(bytes, *mem, weight_bytes_, "the model's weights",
                      "cuda:" + std::to_string(info_.index) + " (" + info_.name + ")");
}

}  // namespace pagoda::cuda
