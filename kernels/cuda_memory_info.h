// GPU memory accounting for sizing decisions: what the device has free (cudaMemGetInfo)
// and whether an upload fits, with messages that say what is needed and what is free.
// The fit rule and the wording are plain C++ so they are tested without a GPU.
#pragma once

#include <cstdint>
#include <string>

#include "backend/backend.h"
#include "pagoda/status.h"

namespace pagoda::cuda {

// Room left beside the weights for the CUDA context's own needs, cuBLAS workspaces and
// the first steps' activations; the KV cache is sized (and refused) separately.
constexpr uint64_t kWeightHeadroomBytes = uint64_t{256} << 20;

// Free and total memory of `device` now (selects the device on the calling thread).
Result<MemoryInfo> query_device_memory(int device);

// "1.5 GiB" / "300 MiB".
std::string format_bytes(uint64_t bytes);

// Ok when `need` bytes plus kWeightHeadroomBytes fit in mem.free_bytes; otherwise
// out_of_memory: "<what> need(s) 13.2 GiB of GPU memory; <device> has 7.9 GiB free of
// 24.0 GiB (<in_use> already held by Pagoda) ...".
Status check_fits(uint64_t need, const MemoryInfo& mem, uint64_t in_use, const std::string& what,
                  const std::string& device);

}  // namespace pagoda::cuda
