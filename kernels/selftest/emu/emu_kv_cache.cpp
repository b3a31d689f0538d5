// kv_cache.cu compiled as host C++ against the CUDA emulator (see cuda_emulator.h).
#include "emu_prelude.h"
// clang-format off
#include "kv_cache.cu"
// clang-format on
