// Parity cases for matmul: every weight type x token counts 1, 3, 8 (dp4a kernels for
// quantized weights), 9, 17, 64 (cuBLAS paths) x shapes with odd output counts.
#include <string>

#include "model/ggml_type.h"
#include "parity_harness.h"

namespace pagoda::gpu_parity {
namespace {

// F32 weights: fp32 GEMM vs fp32 dots, summation order only.
// F16/BF16: both sides round x to the weight type, so again summation order only.
// Quantized: the CPU quantizes x to Q8_0/Q8_1/Q8_K, the GPU to int8 blocks of 32 (or
// f16 for the cuBLAS path): two different ~0.4% activation roundings.
double threshold_for(GgmlType type) {
    switch (type) {
        case GgmlType::F32:
            return 1e-9;
        case GgmlType::F16:
        case GgmlType::BF16:
            return 1e-7;
        default:
            return 5e-4;
    }
}

struct Shape {
    int64_t m;  // output features
    int64_t k;  // input features
};

}  // namespace

void add_matmul_cases(std::vector<ParityCase>& cases) {
    const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                              GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                              GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
    for (GgmlType type : types) {
        const int64_t block = ggml_type_info(type).block_size;
        std::vector<Shape> shapes = {{333, 1024}, {64, 2304}};
        if (block == 1) shapes.push_back({77, 100});     // widths no quantized type allows
        if (block == 32) shapes.push_back({130, 4128});  // 129 blocks of 32
        for (const Shape& sh : shapes) {
            for (int32_t n : {1, 3, 8, 9, 17, 64}) {
                ParityCase c;
                c.name = std::string("Matmul_") + ggml_type_name(type) + "_n" + std::to_string(n) + "_" +
                         std::to_string(sh.m) + "x" + std::to_string(sh.k);
                c.quick = (n == 3 || n == 17) && sh.m == 333;
                c.run = [type, n, sh](Backends& b) {
                    const std::vector<uint8_t> w = random_weight(type, sh.m, sh.k, 100 + n);
                    const auto x = random_normal(static_cast<size_t>(n * sh.k), 200 + n);
                    return compare_runs(
                        b,
                        [&](Backend& be, std::vector<float>& out) -> Status {
                            auto tw = be.load_weight(type, sh.m, sh.k, w.data());
                            if (!tw.is_ok()) return tw.status();
                            auto tx = upload(be, x, n, sh.k);
                            auto to = be.alloc_activations(n, sh.m);
                            if (!tx.is_ok() || !to.is_ok()) return out_of_memory("allocation failed");
                            be.matmul(*tw, *tx, *to);
                            PAGODA_RETURN_IF_ERROR(be.end_step());
                            auto v = download(be, *to);
                            if (!v.is_ok()) return v.status();
                            out = std::move(v.value());
                            return Status::ok();
                        },
                        threshold_for(type));
                };
                cases.push_back(std::move(c));
            }
        }
    }

    // The same small batch through both GPU paths: dp4a kernel vs dequantize + cuBLAS.
    for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
        ParityCase c;
        c.name = std::string("Matmul_") + ggml_type_name(type) + "_n4_cublas_path";
        c.quick = true;
        c.run = [type](Backends& b) {
            const int64_t m = 200, k = 1536;
            const int32_t n = 4;
            const std::vector<uint8_t> w = random_weight(type, m, k, 300);
            const auto x = random_normal(static_cast<size_t>(n * k), 301);
            cuda::CudaDebugOptions opt;
            opt.mmvq_max_cols = 0;
            b.set_cuda_options(opt);
            return compare_runs(
                b,
                [&](Backend& be, std::vector<float>& out) -> Status {
                    auto tw = be.load_weight(type, m, k, w.data());
                    if (!tw.is_ok()) return tw.status();
                    auto tx = upload(be, x, n, k);
                    auto to = be.alloc_activations(n, m);
                    if (!tx.is_ok() || !to.is_ok()) return out_of_memory("allocation failed");
                    be.matmul(*tw, *tx, *to);
                    PAGODA_RETURN_IF_ERROR(be.end_step());
                    auto v = download(be, *to);
                    if (!v.is_ok()) return v.status();
                    out = std::move(v.value());
                    return Status::ok();
                },
                threshold_for(type));
        };
        cases.push_back(std::move(c));
    }
}

}  // namespace pagoda::gpu_parity
