#include "backend_factory.h"

#include "backend/cpu/create_cpu_backend.h"

namespace pagoda::cli {

Result<DeviceChoice> create_backend(const std::string& device, int n_threads) {
    if (device == "cpu" || device == "auto") {
        DeviceChoice choice;
        choice.backend = create_cpu_backend(n_threads);
        choice.reason = device == "cpu" ? "--device cpu" : "CUDA backend not built in";
        return choice;
    }
    return invalid_argument("unknown --device '" + device + "' (expected auto, cpu or cuda[:N])");
}

}  // namespace pagoda::cli
