// lora.cu compiled as host C++ against the CUDA emulator (see cuda_emulator.h).
#include "emu_prelude.h"
// clang-format off
#include "lora.cu"
// clang-format on
