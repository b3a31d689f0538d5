// gemv.cu compiled as host C++ against the CUDA emulator (see cuda_emulator.h).
#include "emu_prelude.h"
// clang-format off
#include "gemv.cu"
// clang-format on
