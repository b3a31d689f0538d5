// Picks the backend for --device auto|cpu|cuda[:N]. "auto" uses CUDA when it was built
// in and a usable GPU is present, and otherwise the CPU, logging why to stderr.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "pagoda/status.h"

namespace pagoda::cli {

struct DeviceChoice {
    std::unique_ptr<Backend> backend;
    std::string reason;  // why this device was chosen ("no CUDA driver found; using the CPU")
};

Result<DeviceChoice> create_backend(const std::string& device, int n_threads);

}  // namespace pagoda::cli
