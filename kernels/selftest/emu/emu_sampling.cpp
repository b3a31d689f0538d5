// sampling.cu compiled as host C++ against the CUDA emulator (see cuda_emulator.h).
#include "emu_prelude.h"
// clang-format off
#include "sampling.cu"
// clang-format on
