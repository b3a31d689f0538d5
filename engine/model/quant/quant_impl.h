// Private to engine/model/quant: the per-format row functions behind quant.h's
// dispatchers, and the scalar / SIMD dot-product tables the tests compare.
// n is always a multiple of the format's block size (the dispatchers check).
#pragma once

#include <cstdint>

#include "model/quant/quant.h"

namespace pagoda::quant {

// Legacy 32-value block formats (quant_legacy.cpp).
void quantize_row_q4_0(const float* x, void* y, int64_t n);
void quantize_row_q4_1(const float* x, void* y, int64_t n);
void quantize_row_q5_0(const float* x, void* y, int64_t n);
void quantize_row_q5_1(const float* x, void* y, int64_t n);
void quantize_row_q8_0(const float* x, void* y, int64_t n);
void quantize_row_q8_1(const float* x, void* y, int64_t n);
void dequantize_row_q4_0(const void* x, float* y, int64_t n);
void dequantize_row_q4_1(const void* x, float* y, int64_t n);
void dequantize_row_q5_0(const void* x, float* y, int64_t n);
void dequantize_row_q5_1(const void* x, float* y, int64_t n);
void dequantize_row_q8_0(const void* x, float* y, int64_t n);
void dequantize_row_q8_1(const void* x, float* y, int64_t n);

// K super-block formats (quant_k.cpp).
void quantize_row_q4_K(const float* x, void* y, int64_t n);
void quantize_row_q5_K(const float* x, void* y, int64_t n);
void quantize_row_q6_K(const float* x, void* y, int64_t n);
void quantize_row_q8_K(const float* x, void* y, int64_t n);
void dequantize_row_q4_K(const void* x, float* y, int64_t n);
void dequantize_row_q5_K(const void* x, float* y, int64_t n);
void dequantize_row_q6_K(const void* x, float* y, int64_t n);
void dequantize_row_q8_K(const void* x, float* y, int64_t n);

// Activation quantizers with SIMD (quantize_act_avx2.cpp), bit-identical to the scalar
// ones above; nullptr for types without one or in builds without AVX2.
using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
QuantizeRowFn get_quantize_row_simd(GgmlType type);

// Dot products, scalar reference (vec_dot_scalar.cpp): always compiled, and the
// specification the SIMD kernels are tested against.
VecDotFn get_vec_dot_scalar(GgmlType weight_type);
// SIMD kernels (vec_dot_avx2.cpp); nullptr when the build has none for this type.
VecDotFn get_vec_dot_simd(GgmlType weight_type);

}  // namespace pagoda::quant
