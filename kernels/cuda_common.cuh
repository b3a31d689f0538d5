// Device helpers every kernel file shares: warp reductions, half/bfloat16 decoding from
// raw bits (weights keep their GGUF encoding, so halves arrive as uint16_t), and
// unaligned int loads for quant blocks whose size is not a multiple of 4 bytes.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

// Pure decoding helpers are host-callable too, so their bit manipulation is unit-tested
// on machines without a GPU (kernels/selftest/host_decode_check.cu).
#define PAGODA_HD __host__ __device__ __forceinline__

// Kernel launches and dynamic shared memory go through macros, so the same sources also
// build against the host CUDA emulator of kernels/selftest (PAGODA_CUDA_EMULATION), which
// checks every kernel against the CPU backend on machines without a GPU.
#ifndef PAGODA_CUDA_EMULATION
#define PAGODA_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#define PAGODA_DYNAMIC_SMEM(type, name) extern __shared__ type name[]
#endif

namespace pagoda::cuda {

constexpr int kWarpSize = 32;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// The end of the matrix-vector kernels (mmvq, gemv): each thread holds partial dot
// products acc[r][c] of R rows x NC activation columns; sum them over the block (warp
// shuffles, then one partial per warp in the kernel's __shared__ `partial`) and write
// out[c][row0 + r] for the rows and columns inside the matrix.          out: [n_cols, n_rows]
template <int kWarps, int R, int NC>
__device__ __forceinline__ void store_block_sums(const float (&acc)[R][NC], float (&partial)[kWarps][R][NC],
                                                 float* out, int64_t n_rows, int32_t n_cols, int64_t row0) {
    const int tid = threadIdx.x;
    const int warp = tid / kWarpSize;
    const int lane = tid % kWarpSize;
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            const float v = warp_sum(acc[r][c]);
            if (lane == 0) partial[warp][r][c] = v;
        }
    }
    __syncthreads();
    if (tid < R * NC) {
        const int r = tid / NC;
        const int c = tid % NC;
        if (c < n_cols && row0 + r < n_rows) {
            float v = 0.0f;
#pragma unroll
            for (int i = 0; i < kWarps; ++i) v += partial[i][r][c];
            out[static_cast<int64_t>(c) * n_rows + row0 + r] = v;
        }
    }
}

// Sum over groups of `width` consecutive lanes (width a power of two <= 32).
template <int width>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
    for (int offset = width / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

template <int width>
__device__ __forceinline__ float group_max(float v) {
#pragma unroll
    for (int offset = width / 2; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

PAGODA_HD float half_bits_to_float(uint16_t bits) {
    __half_raw raw;
    raw.x = bits;
    return __half2float(__half(raw));
}

PAGODA_HD float bf16_bits_to_float(uint16_t bits) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(static_cast<uint32_t>(bits) << 16);
#else
    const uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
#endif
}

// Round-to-nearest-even conversions, as the CPU backend's fp32_to_fp16 / fp32_to_bf16 do.
__device__ __forceinline__ uint16_t float_to_half_bits(float f) { return __half_as_ushort(__float2half_rn(f)); }

__device__ __forceinline__ uint16_t float_to_bf16_bits(float f) { return __bfloat16_as_ushort(__float2bfloat16_rn(f)); }

// The 32-bit little-endian word at byte offset 4*i of p, where p is only 2-byte aligned
// (block_q4_0 is 18 bytes, block_q8_0 34, block_q6_K 210: their fields straddle words).
PAGODA_HD int load_int_b2(const void* p, int i) {
    const uint16_t* h = static_cast<const uint16_t*>(p) + 2 * i;
    return static_cast<int>(static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16));
}

// Same for a 4-byte aligned p.
PAGODA_HD int load_int_b4(const void* p, int i) { return static_cast<const int*>(p)[i]; }

PAGODA_HD uint16_t load_u16(const uint8_t* p) { return *reinterpret_cast<const uint16_t*>(p); }

}  // namespace pagoda::cuda
