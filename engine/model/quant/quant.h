// Tensor encodings: dequantize, quantize and dot products for every runnable GgmlType.
// Block layouts and rounding follow llama.cpp's reference implementation exactly, so
// files we write are read by llama.cpp and files llama.cpp writes are read by us.
//
// Dot products follow llama.cpp's CPU path too: the activation row is first quantized
// to vec_dot_type(weight type) (Q8_0 / Q8_1 / Q8_K, or F16/BF16 for half weights), then
// dotted with fp32 accumulation. Doing the same is both the fast way and the way our
// logits match llama.cpp's.
#pragma once

#include <cstdint>

#include "pagoda/status.h"
#include "pagoda/types.h"

namespace pagoda {

// Decodes n values (n a multiple of the type's block size) into fp32.
// Defined for every type with GgmlTypeInfo::runnable, plus Q8_K.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// Encodes n fp32 values into `type`: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q8_1, Q4_K, Q5_K, Q6_K, Q8_K. Fails for other types or a bad n.
Status quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

// The encoding an activation row must be in before it is dotted with a weight row
// of `weight_type`.
GgmlType vec_dot_type(GgmlType weight_type);

// Dot product of one weight row (weight_type) with one activation row already encoded
// in vec_dot_type(weight_type); n values, fp32 result.
using VecDotFn = float (*)(int64_t n, const void* weight_row, const void* act_row);
VecDotFn get_vec_dot(GgmlType weight_type);  // nullptr for types that cannot be multiplied

inline float vec_dot(GgmlType weight_type, int64_t n, const void* weight_row, const void* act_row) {
    return get_vec_dot(weight_type)(n, weight_row, act_row);
}

// IEEE half and bfloat16 conversions (round to nearest even), as GGML does them.
uint16_t fp32_to_fp16(float f);
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);
float bf16_to_fp32(uint16_t h);

}  // namespace pagoda
