// Host-side unit check of the CUDA kernels' weight decoding (see host_decode_check.cu).
#pragma once

#include <string>
#include <vector>

namespace pagoda::gpu_parity {

// One message per weight type whose decoding disagrees with the CPU reference; empty
// when all agree. Needs no GPU.
std::vector<std::string> check_quant_decode_on_host();

}  // namespace pagoda::gpu_parity
