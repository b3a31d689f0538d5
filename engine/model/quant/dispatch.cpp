// quant.h's type-dispatching entry points: quantize_row, dequantize_row, vec_dot_type,
// get_vec_dot. The SIMD dot is chosen at build time (-march decides what is compiled);
// the scalar one is the fallback for every type without a SIMD kernel.
#include <cassert>
#include <cstring>
#include <string>

#include "model/ggml_type.h"
#include "model/quant/quant_impl.h"
#include "model/quant/quant_simd.h"

namespace pagoda {

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case GgmlType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case GgmlType::F16:
            fp16_to_fp32_row(static_cast<const uint16_t*>(src), dst, n);
            return;
        case GgmlType::BF16:
            bf16_to_fp32_row(static_cast<const uint16_t*>(src), dst, n);
            return;
        case GgmlType::Q4_0:
            quant::dequantize_row_q4_0(src, dst, n);
            return;
        case GgmlType::Q4_1:
            quant::dequantize_row_q4_1(src, dst, n);
            return;
        case GgmlType::Q5_0:
            quant::dequantize_row_q5_0(src, dst, n);
            return;
        case GgmlType::Q5_1:
            quant::dequantize_row_q5_1(src, dst, n);
            return;
        case GgmlType::Q8_0:
            quant::dequantize_row_q8_0(src, dst, n);
            return;
        case GgmlType::Q8_1:
            quant::dequantize_row_q8_1(src, dst, n);
            return;
        case GgmlType::Q4_K:
            quant::dequantize_row_q4_K(src, dst, n);
            return;
        case GgmlType::Q5_K:
            quant::dequantize_row_q5_K(src, dst, n);
            return;
        case GgmlType::Q6_K:
            quant::dequantize_row_q6_K(src, dst, n);
            return;
        case GgmlType::Q8_K:
            quant::dequantize_row_q8_K(src, dst, n);
            return;
        default:
            // Callers check GgmlTypeInfo::runnable first; reaching here is a programming error.
            assert(false && "dequantize_row: unsupported type");
            return;
    }
}

Status quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
    const auto& info = ggml_type_info(type);
    quant::QuantizeRowFn fn = nullptr;
    switch (type) {
        case GgmlType::F32:
            break;
        case GgmlType::F16:
            break;
        case GgmlType::BF16:
            break;
        case GgmlType::Q4_0:
            fn = quant::quantize_row_q4_0;
            break;
        case GgmlType::Q4_1:
            fn = quant::quantize_row_q4_1;
            break;
        case GgmlType::Q5_0:
            fn = quant::quantize_row_q5_0;
            break;
        case GgmlType::Q5_1:
            fn = quant::quantize_row_q5_1;
            break;
        case GgmlType::Q8_0:
            fn = quant::quantize_row_q8_0;
            break;
        case GgmlType::Q8_1:
            fn = quant::quantize_row_q8_1;
            break;
        case GgmlType::Q4_K:
            fn = quant::quantize_row_q4_K;
            break;
        case GgmlType::Q5_K:
            fn = quant::quantize_row_q5_K;
            break;
        case GgmlType::Q6_K:
            fn = quant::quantize_row_q6_K;
            break;
        case GgmlType::Q8_K:
            fn = quant::quantize_row_q8_K;
            break;
        default:
            return unsupported(
                std::string("quantize_row: cannot encode to ") + info.name +
                " (supported: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1, q4_K, q5_K, q6_K, q8_K)");
    }
    if (n < 0 || n % info.block_size != 0) {
        return invalid_argument("quantize_row: " + std::to_string(n) + " values is not a multiple of " + info.name +
                                "'s block size " + std::to_string(info.block_size));
    }
    if (quant::QuantizeRowFn simd = quant::get_quantize_row_simd(type)) fn = simd;
    switch (type) {
        case GgmlType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            break;
        case GgmlType::F16:
            fp32_to_fp16_row(src, static_cast<uint16_t*>(dst), n);
            break;
        case GgmlType::BF16:
            fp32_to_bf16_row(src, static_cast<uint16_t*>(dst), n);
            break;
        default:
            fn(src, dst, n);
            break;
    }
    return Status::ok();
}

GgmlType vec_dot_type(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_0:
        case GgmlType::Q5_0:
        case GgmlType::Q8_0:
            return GgmlType::Q8_0;
        case GgmlType::Q4_1:
        case GgmlType::Q5_1:
            return GgmlType::Q8_1;
        case GgmlType::Q4_K:
        case GgmlType::Q5_K:
        case GgmlType::Q6_K:
            return GgmlType::Q8_K;
        default:
            return weight_type;  // F32, F16, BF16 dot against their own type
    }
}

VecDotFn get_vec_dot(GgmlType weight_type) {
    if (VecDotFn fn = quant::get_vec_dot_simd(weight_type)) return fn;
    return quant::get_vec_dot_scalar(weight_type);
}

}  // namespace pagoda
