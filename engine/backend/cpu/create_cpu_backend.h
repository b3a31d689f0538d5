// Factory for the CPU backend, the one backend that is always built.
#pragma once

#include <memory>

#include "backend/backend.h"

namespace pagoda {

// n_threads <= 0 picks the number of physical cores.
std::unique_ptr<Backend> create_cpu_backend(int n_threads);

}  // namespace pagoda
