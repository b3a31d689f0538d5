// Private to engine/model/quant and the CPU backend: multi-row x multi-token quantized
// matmul kernels, the fast path behind CpuBackend::matmul.
//
// A GemmFn computes a whole tile of dots, out[t][r] = vec_dot(weight row r, act row t),
// decoding each weight block once and reusing it for 16 tokens (prompt batches; AMX
// tiles where the CPU has them) and streaming 16 weight rows at once (decode).
// Numerics contract:
//   - every (row, token) result is computed by the same sequence of operations whatever
//     the tile shape, the number of rows or tokens, or the row's position in the tile,
//     so a token's output never depends on what else is in the batch (bit-identical);
//   - that sequence is the one get_vec_dot() runs for the same type, so a GemmFn and
//     get_vec_dot() agree bit for bit, and both agree with the scalar reference dots to
//     fp32 rounding (exact integer sums per block, fp32 accumulation of scaled blocks;
//     gemm_avx512.h spells the sequence out).
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/quant/quant.h"

namespace pagoda::quant {

// out[t * out_stride + r] = dot(w + r * w_stride, act + t * act_stride, k values)
// for r < rows, t < toks. Rows are weight rows in `weight_type`, activation rows are in
// vec_dot_type(weight_type); k is a multiple of both block sizes.
using GemmFn = void (*)(int64_t k, const uint8_t* w, size_t w_stride, int64_t rows, const uint8_t* act,
                        size_t act_stride, int64_t toks, float* out, size_t out_stride);

// The best tile kernel the build has for weight_type, or nullptr: then loop get_vec_dot,
// which is equally batch-invariant (one function per dot).
GemmFn get_gemm(GgmlType weight_type);

// Per-ISA tables, for dispatch and tests; nullptr where the build or type has none.
// get_gemm_avx512: AVX-512 VNNI only. get_gemm_amx: token tiles on AMX when the CPU and
// OS allow it at run time (amx_in_use()), else the same as get_gemm_avx512.
GemmFn get_gemm_avx512(GgmlType weight_type);
GemmFn get_gemm_amx(GgmlType weight_type);
bool amx_in_use();
VecDotFn get_vec_dot_avx512(GgmlType weight_type);
VecDotFn get_vec_dot_avx2(GgmlType weight_type);

// Reference tile: get_vec_dot_scalar per (row, token). For tests.
void gemm_scalar(GgmlType weight_type, int64_t k, const uint8_t* w, size_t w_stride, int64_t rows,
                 const uint8_t* act, size_t act_stride, int64_t toks, float* out, size_t out_stride);

}  // namespace pagoda::quant
