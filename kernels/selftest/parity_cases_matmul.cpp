// Parity cases for matmul: every weight type x token counts 1, 2, 3, 4, 8 (one launch of
// the small-batch kernels: mmvq for quantized weights, gemv for dense ones), 9, 16, 17,
// 32 (quantized: mmvq in groups of 8; dense: cuBLAS), 33, 64 (cuBLAS) x shapes with odd
// output counts (not a multiple of the 1, 2 or 4 rows a small-batch block takes).
// Then each small-batch kernel against the cuBLAS path, and decode steps replayed as
// CUDA graphs against the CPU.
#include <map>
#include <string>
#include <utility>

#include "cuda_bench_profile.h"
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
            for (int32_t n : {1, 2, 3, 4, 8, 9, 16, 17, 32, 33, 64}) {
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
    for (GgmlType type :
         {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16, GgmlType::BF16, GgmlType::F32}) {
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

    // Decode steps through the step recorder: the first is launched eagerly, the second
    // captured into a CUDA graph, the rest replayed from it, each with new inputs
    // written into the same buffers. Every step must match the CPU, and (with graphs on)
    // some step must have been replayed.
    for (GgmlType type : {GgmlType::Q4_0, GgmlType::F16}) {
        ParityCase c;
        c.name = std::string("Matmul_GraphDecodeSteps_") + ggml_type_name(type);
        c.quick = type == GgmlType::Q4_0;
        c.run = [type](Backends& b) {
            const int64_t dim = 512, hidden = 1056;
            const StepBuilder step({{5, 1}, {40, 1}, {17, 1}}, 16, 64, 100, 77);
            const int32_t n = step.n_tokens();
            const std::vector<uint8_t> w1 = random_weight(type, hidden, dim, 600);
            const std::vector<uint8_t> w2 = random_weight(type, dim, hidden, 601);
            const auto norm = random_normal(static_cast<size_t>(dim), 602);
            const uint64_t replays_before = b.cuda ? b.cuda->graph_stats().graph_launches : 0;
            // Loaded once per backend: a replay needs the same weight pointers every step.
            std::map<const Backend*, std::pair<Tensor, Tensor>> weights;
            for (int s = 0; s < 5; ++s) {
                const auto x = random_normal(static_cast<size_t>(n * dim), 700 + s);
                CaseResult r = compare_runs(
                    b,
                    [&](Backend& be, std::vector<float>& out) -> Status {
                        if (!weights.count(&be)) {
                            auto t1 = be.load_weight(type, hidden, dim, w1.data());
                            auto t2 = be.load_weight(type, dim, hidden, w2.data());
                            if (!t1.is_ok()) return t1.status();
                            if (!t2.is_ok()) return t2.status();
                            weights[&be] = {*t1, *t2};
                        }
                        const Tensor* t1 = &weights[&be].first;
                        const Tensor* t2 = &weights[&be].second;
                        be.reset_scratch();
                        auto tn = upload(be, norm, 1, dim);
                        auto tx = upload(be, x, n, dim);
                        auto th = be.alloc_activations(n, dim);
                        auto tu = be.alloc_activations(n, hidden);
                        auto to = be.alloc_activations(n, dim);
                        if (!tn.is_ok() || !tx.is_ok() || !th.is_ok() || !tu.is_ok() || !to.is_ok()) {
                            return out_of_memory("allocation failed");
                        }
                        PAGODA_RETURN_IF_ERROR(be.begin_step(step.inputs()));
                        be.rms_norm(*tx, *tn, 1e-5f, *th);
                        be.matmul(*t1, *th, *tu);
                        be.silu_mul(*tu, *tu, *tu);
                        be.matmul(*t2, *tu, *to);
                        be.add(*to, *tx);
                        PAGODA_RETURN_IF_ERROR(be.end_step());
                        auto v = download(be, *to);
                        if (!v.is_ok()) return v.status();
                        out = std::move(v.value());
                        return Status::ok();
                    },
                    threshold_for(type));
                if (r.outcome != CaseResult::Outcome::pass) {
                    r.detail = "step " + std::to_string(s) + ": " + r.detail;
                    return r;
                }
            }
            if (b.cuda && b.cuda->graphs_enabled() && b.cuda->graph_stats().graph_launches == replays_before) {
                return CaseResult::fail("no decode step was replayed from a CUDA graph (" +
                                        cuda_graph_summary(*b.cuda) + ")");
            }
            return CaseResult::pass("5 steps match; " + cuda_graph_summary(b.gpu));
        };
        cases.push_back(std::move(c));
    }
}

}  // namespace pagoda::gpu_parity
