#include "backend_factory.h"

#include <string>

#include "backend/cpu/create_cpu_backend.h"
#if defined(PAGODA_HAVE_CUDA)
#include "create_cuda_backend.h"
#endif

namespace pagoda::cli {
namespace {

DeviceChoice cpu_choice(int n_threads, std::string reason) {
    DeviceChoice choice;
    choice.backend = create_cpu_backend(n_threads);
    choice.reason = std::move(reason);
    return choice;
}

// "cuda" -> 0, "cuda:3" -> 3; -1 for anything else.
int parse_cuda_index(const std::string& device) {
    if (device == "cuda") return 0;
    if (device.rfind("cuda:", 0) != 0 || device.size() == 5 || device.size() > 8) return -1;
    int index = 0;
    for (size_t i = 5; i < device.size(); ++i) {
        if (device[i] < '0' || device[i] > '9') return -1;
        index = index * 10 + (device[i] - '0');
    }
    return index;
}

#if defined(PAGODA_HAVE_CUDA)
// The first GPU "auto" can use, or the reason there is none.
Result<int> pick_auto_gpu() {
    auto devices = list_cuda_devices();
    if (!devices.is_ok()) return devices.status();
    if (devices->empty()) return not_found("no CUDA device found");
    std::string skipped;
    for (const CudaDeviceInfo& d : *devices) {
        if (d.cc_major * 10 + d.cc_minor >= kMinCudaComputeCapability) return d.index;
        if (!skipped.empty()) skipped += ", ";
        skipped += "cuda:" + std::to_string(d.index) + " " + d.name + " (compute capability " +
                   std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor) + ")";
    }
    return unsupported("no GPU with compute capability 7.5 or newer: " + skipped);
}
#endif

}  // namespace

Result<DeviceChoice> create_backend(const std::string& device, int n_threads) {
    if (device == "cpu") return cpu_choice(n_threads, "--device cpu");
    const int cuda_index = parse_cuda_index(device);
    if (device != "auto" && cuda_index < 0) {
        return invalid_argument("unknown --device '" + device + "' (expected auto, cpu or cuda[:N])");
    }
#if defined(PAGODA_HAVE_CUDA)
    if (device == "auto") {
        auto index = pick_auto_gpu();
        if (!index.is_ok()) return cpu_choice(n_threads, index.status().message() + "; using the CPU");
        auto gpu = create_cuda_backend(*index);
        if (!gpu.is_ok()) return cpu_choice(n_threads, gpu.status().message() + "; using the CPU");
        DeviceChoice choice;
        choice.backend = std::move(gpu.value());
        choice.reason = "--device auto: using the GPU " + choice.backend->name();
        return choice;
    }
    auto gpu = create_cuda_backend(cuda_index);
    if (!gpu.is_ok()) {
        return Status::error(gpu.status().code(), "--device " + device + ": " + gpu.status().message());
    }
    DeviceChoice choice;
    choice.backend = std::move(gpu.value());
    choice.reason = "--device " + device;
    return choice;
#else
    if (device == "auto") return cpu_choice(n_threads, "this build has no CUDA backend; using the CPU");
    return unsupported("--device " + device +
                       ": this build of Pagoda has no CUDA backend (rebuild with a CUDA toolkit)");
#endif
}

}  // namespace pagoda::cli
