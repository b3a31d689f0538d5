// Prelude of the emulated kernel builds: the emulator, host min/max for device code,
// and the kernels' namespace renamed so they never clash with the real ones.
#pragma once

#include <algorithm>

#include "cuda_emulator.h"

namespace pagoda::cuda_emu {
using std::max;
using std::min;
}  // namespace pagoda::cuda_emu

#define cuda cuda_emu
