// Chooses the dot-product and tile kernels the build has: AVX-512 VNNI, then AVX2, then
// the scalar reference (through get_vec_dot's fallback).
#include "model/quant/gemm_amx.h"
#include "model/quant/gemm_avx512.h"
#include "model/quant/gemm_kernels.h"
#include "model/quant/quant_impl.h"

namespace pagoda::quant {

GemmFn get_gemm_avx512(GgmlType weight_type) {
#ifdef PAGODA_GEMM_AVX512
    if (GemmFn fn = avx512::gemm_legacy(weight_type, false)) return fn;
    return avx512::gemm_k(weight_type, false);
#else
    (void)weight_type;
    return nullptr;
#endif
}

GemmFn get_gemm_amx(GgmlType weight_type) {
#if defined(PAGODA_GEMM_AVX512) && defined(PAGODA_GEMM_AMX)
    if (GemmFn fn = avx512::gemm_legacy(weight_type, true)) return fn;
    return avx512::gemm_k(weight_type, true);
#else
    (void)weight_type;
    return nullptr;
#endif
}

bool amx_in_use() {
#ifdef PAGODA_GEMM_AMX
    return amx::available();
#else
    return false;
#endif
}

VecDotFn get_vec_dot_avx512(GgmlType weight_type) {
#ifdef PAGODA_GEMM_AVX512
    if (VecDotFn fn = avx512::vec_dot_legacy(weight_type)) return fn;
    return avx512::vec_dot_k(weight_type);
#else
    (void)weight_type;
    return nullptr;
#endif
}

// The AVX-512 dot of a type is run<1, 1> of its tile kernel, so get_vec_dot and get_gemm
// agree bit for bit; types without a tile kernel use the AVX2 dot in both places.
VecDotFn get_vec_dot_simd(GgmlType weight_type) {
    if (VecDotFn fn = get_vec_dot_avx512(weight_type)) return fn;
    return get_vec_dot_avx2(weight_type);
}

GemmFn get_gemm(GgmlType weight_type) {
    if (GemmFn fn = get_gemm_amx(weight_type)) return fn;
    return get_gemm_avx512(weight_type);
}

void gemm_scalar(GgmlType weight_type, int64_t k, const uint8_t* w, size_t w_stride, int64_t rows, const uint8_t* act,
                 size_t act_stride, int64_t toks, float* out, size_t out_stride) {
    const VecDotFn dot = get_vec_dot_scalar(weight_type);
    for (int64_t t = 0; t < toks; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
            out[static_cast<size_t>(t) * out_stride + static_cast<size_t>(r)] =
                dot(k, w + static_cast<size_t>(r) * w_stride, act + static_cast<size_t>(t) * act_stride);
        }
    }
}

}  // namespace pagoda::quant
