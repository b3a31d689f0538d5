// Private to the AVX-512 kernels: Intel AMX (tile registers, int8 tile dot products) for
// the token-lanes tiles, when the build targets it (-march=native on Sapphire Rapids and
// later) and the CPU and kernel allow it at run time.
//
// An AMX tile dot C[16 x 16] += A[16 x K] (unsigned bytes) . B[K x 16] (signed bytes, in
// 4-byte groups per column) is exactly the token-lanes layout: A holds 16 decoded weight
// rows of one block, B the block's prepared activations (16 tokens, transposed to 4-byte
// groups), C the exact integer block sums of the 16 x 16 pairs. The fp32 steps then run
// on C's rows as in the VNNI kernels, so results are bit-identical to them.
#pragma once

#if defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__AVX512F__)
#define PAGODA_GEMM_AMX 1

#include <immintrin.h>

#include <cstdint>

namespace pagoda::quant::amx {

// True once the CPU reports AMX-TILE / AMX-INT8 and the kernel granted this process the
// tile data state (Linux arch_prctl); checked once.
bool available();

// Tile configuration (palette 1), loaded per thread before the tile instructions.
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

// Loads `cfg` into this thread's tile state, and releases it when done (so the 8 KiB of
// tile data stop being saved at every context switch).
class TileScope {
public:
    explicit TileScope(const TileConfig& cfg) { _tile_loadconfig(&cfg); }
    ~TileScope() { _tile_release(); }
    TileScope(const TileScope&) = delete;
    TileScope& operator=(const TileScope&) = delete;
};

}  // namespace pagoda::quant::amx

#endif
