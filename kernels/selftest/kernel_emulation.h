// The CUDA kernels run on the host CUDA emulator (cuda_emulator.h) against the CPU
// backend: the kernels' indexing, synchronization and math, checked without a GPU.
// What it cannot check: real concurrency between blocks, memory-model subtleties,
// cuBLAS, and the host-side CudaBackend (stream, copies), which need the device.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "parity_util.h"

namespace pagoda::gpu_parity {

struct EmulationCase {
    std::string name;
    bool quick = false;
    std::function<CaseResult()> run;
};

const std::vector<EmulationCase>& emulation_cases();

// Case lists of other files (emulation_cases_*.cpp).
void add_lora_emulation_cases(std::vector<EmulationCase>& cases);
void add_sampling_emulation_cases(std::vector<EmulationCase>& cases);

}  // namespace pagoda::gpu_parity
