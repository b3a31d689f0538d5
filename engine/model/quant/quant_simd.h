// Row kernels the CPU backend needs besides the quantized dot products: half / bfloat16
// row conversions and fp32 dots for attention. Each has an AVX2/F16C path when the build
// targets it and a scalar path otherwise; results are identical to the scalar
// conversions in quant.h (fp32_to_fp16 etc.), dots agree to fp32 rounding.
#pragma once

#include <cstdint>

namespace pagoda {

void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);
void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n);
void bf16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);
void fp32_to_bf16_row(const float* src, uint16_t* dst, int64_t n);

// sum(a[i] * b[i]) with fp32 accumulation.
float dot_f32(const float* a, const float* b, int64_t n);
// Half row (e.g. an fp16 K cache row) dotted with an fp32 row.
float dot_f16_f32(const uint16_t* a, const float* b, int64_t n);
// y[i] += alpha * x[i]; for attention's weighted sum of V rows.
void axpy_f32(float alpha, const float* x, float* y, int64_t n);
void axpy_f16(float alpha, const uint16_t* x, float* y, int64_t n);

// "avx2" when the AVX2/FMA/F16C kernels are compiled in, else "scalar"; for logs and benchmarks.
const char* quant_simd_level();

}  // namespace pagoda
