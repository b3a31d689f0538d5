// sampling_rows.cu compiled as host C++ against the CUDA emulator (see cuda_emulator.h).
#include "emu_prelude.h"
// clang-format off
#include "sampling_rows.cu"
// clang-format on
