// Parity cases for the row-wise ops: embed (every table type), rms_norm, add,
// add_bias, silu_mul, gather_logit_rows, rope (normal/NeoX, freq_factors, freq_scale).
#include <string>

#include "model/ggml_type.h"
#include "parity_harness.h"

namespace pagoda::gpu_parity {
namespace {

// fp32 element-wise ops agree to an ulp or two per value.
constexpr double kFp32Threshold = 1e-8;

// A small KV cache, so the step's slots validate against a pool of n_blocks.
Status init_small_kv(Backend& b, int32_t n_blocks) {
    KvCacheConfig kv;
    kv.n_layers = 1;
    kv.n_kv_heads = 1;
    kv.head_dim = 32;
    kv.block_size = 16;
    kv.n_blocks = n_blocks;
    kv.type = GgmlType::F16;
    return b.init_kv_cache(kv);
}

std::string shape_name(int64_t rows, int64_t cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

void add_embed_cases(std::vector<ParityCase>& cases) {
    const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                              GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                              GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
    for (GgmlType type : types) {
        const int64_t block = ggml_type_info(type).block_size;
        for (int32_t n : {1, 17, 64}) {
            // Two block rows plus change for quantized tables; an odd width for float ones.
            const int64_t dim = block == 1 ? 333 : (block == 32 ? 96 : 512);
            const int32_t vocab = 300;
            ParityCase c;
            c.name =
                std::string("Embed_") + ggml_type_name(type) + "_n" + std::to_string(n) + "_d" + std::to_string(dim);
            c.quick = n == 17;
            c.run = [type, n, dim, vocab](Backends& b) {
                const std::vector<uint8_t> table = random_weight(type, vocab, dim, 11 + n, 1.0f);
                const StepBuilder step({{0, n}}, 16, 8, vocab, 5 + n);
                return compare_runs(
                    b,
                    [&](Backend& be, std::vector<float>& out) -> Status {
                        PAGODA_RETURN_IF_ERROR(init_small_kv(be, 8));
                        auto w = be.load_weight(type, vocab, dim, table.data());
                        if (!w.is_ok()) return w.status();
                        auto o = be.alloc_activations(n, dim);
                        if (!o.is_ok()) return o.status();
                        PAGODA_RETURN_IF_ERROR(be.begin_step(step.inputs()));
                        be.embed(*w, *o);
                        PAGODA_RETURN_IF_ERROR(be.end_step());
                        auto v = download(be, *o);
                        if (!v.is_ok()) return v.status();
                        out = std::move(v.value());
                        return Status::ok();
                    },
                    1e-10);
            };
            cases.push_back(std::move(c));
        }
    }
}

void add_row_op_cases(std::vector<ParityCase>& cases) {
    const int64_t shapes[][2] = {{1, 64}, {3, 4096}, {17, 333}, {64, 1000}};
    for (const auto& sh : shapes) {
        const int64_t rows = sh[0], cols = sh[1];
        for (bool in_place : {false, true}) {
            ParityCase c;
            c.name = "RmsNorm_" + shape_name(rows, cols) + (in_place ? "_inplace" : "");
            c.quick = rows == 17;
            c.run = [rows, cols, in_place](Backends& b) {
                const auto x = random_normal(static_cast<size_t>(rows * cols), 21, 3.0f);
                const auto w = random_normal(static_cast<size_t>(cols), 22);
                return compare_runs(
                    b,
                    [&](Backend& be, std::vector<float>& out) -> Status {
                        auto tx = upload(be, x, rows, cols);
                        auto tw = upload(be, w, 1, cols);
                        if (!tx.is_ok() || !tw.is_ok()) return tx.is_ok() ? tw.status() : tx.status();
                        Tensor o = *tx;
                        if (!in_place) {
                            auto t = be.alloc_activations(rows, cols);
                            if (!t.is_ok()) return t.status();
                            o = *t;
                        }
                        be.rms_norm(*tx, *tw, 1e-5f, o);
                        PAGODA_RETURN_IF_ERROR(be.end_step());
                        auto v = download(be, o);
                        if (!v.is_ok()) return v.status();
                        out = std::move(v.value());
                        return Status::ok();
                    },
                    kFp32Threshold);
            };
            cases.push_back(std::move(c));
        }

        ParityCase add;
        add.name = "AddBiasSiluMul_" + shape_name(rows, cols);
        add.quick = rows == 17;
        add.run = [rows, cols](Backends& b) {
            const size_t n = static_cast<size_t>(rows * cols);
            const auto x = random_normal(n, 31, 2.0f);
            const auto y = random_normal(n, 32, 2.0f);
            const auto bias = random_normal(static_cast<size_t>(cols), 33);
            return compare_runs(
                b,
                [&](Backend& be, std::vector<float>& out) -> Status {
                    auto tx = upload(be, x, rows, cols);
                    auto ty = upload(be, y, rows, cols);
                    auto tb = upload(be, bias, 1, cols);
                    auto to = be.alloc_activations(rows, cols);
                    if (!tx.is_ok() || !ty.is_ok() || !tb.is_ok() || !to.is_ok()) {
                        return out_of_memory("allocation failed");
                    }
                    be.add(*tx, *ty);            // x = x + y
                    be.add_bias(*tx, *tb);       // x += bias
                    be.silu_mul(*tx, *ty, *to);  // out = silu(x) * y
                    be.silu_mul(*ty, *ty, *ty);  // in place: y = silu(y) * y
                    PAGODA_RETURN_IF_ERROR(be.end_step());
                    auto a = download(be, *tx);
                    auto o = download(be, *to);
                    auto yy = download(be, *ty);
                    if (!a.is_ok() || !o.is_ok() || !yy.is_ok()) return internal_error("read failed");
                    out = *a;
                    out.insert(out.end(), o->begin(), o->end());
                    out.insert(out.end(), yy->begin(), yy->end());
                    return Status::ok();
                },
                kFp32Threshold);
        };
        cases.push_back(std::move(add));
    }

    // gather_logit_rows: last token of each of 4 sequences.
    ParityCase g;
    g.name = "GatherLogitRows_4seqs";
    g.quick = true;
    g.run = [](Backends& b) {
        const StepBuilder step({{0, 5}, {0, 1}, {0, 17}, {0, 2}}, 16, 16, 100, 41);
        const int32_t n = step.n_tokens();
        const int64_t cols = 515;
        const auto x = random_normal(static_cast<size_t>(n * cols), 42);
        return compare_runs(
            b,
            [&](Backend& be, std::vector<float>& out) -> Status {
                PAGODA_RETURN_IF_ERROR(init_small_kv(be, 16));
                auto tx = upload(be, x, n, cols);
                auto to = be.alloc_activations(4, cols);
                if (!tx.is_ok() || !to.is_ok()) return out_of_memory("allocation failed");
                PAGODA_RETURN_IF_ERROR(be.begin_step(step.inputs()));
                be.gather_logit_rows(*tx, *to);
                PAGODA_RETURN_IF_ERROR(be.end_step());
                auto v = download(be, *to);
                if (!v.is_ok()) return v.status();
                out = std::move(v.value());
                return Status::ok();
            },
            0.0);
    };
    cases.push_back(std::move(g));
}

void add_rope_cases(std::vector<ParityCase>& cases) {
    for (bool neox : {false, true}) {
        for (int32_t head_dim : {64, 128}) {
            for (int variant = 0; variant < 3; ++variant) {
                // 0: plain; 1: llama3 freq_factors; 2: linear freq_scale 0.25 and partial rotation.
                ParityCase c;
                c.name = std::string("Rope_") + (neox ? "neox" : "normal") + "_hd" + std::to_string(head_dim) +
                         (variant == 0   ? ""
                          : variant == 1 ? "_freqfactors"
                                         : "_scaled_partial");
                c.quick = head_dim == 64;
                c.run = [neox, head_dim, variant](Backends& b) {
                    // Positions up to ~4000: three sequences, one with a long history.
                    const StepBuilder step({{0, 7}, {3990, 14}, {500, 3}}, 16, 300, 50, 51);
                    const int32_t n = step.n_tokens();
                    const int32_t n_heads = 4;
                    const int64_t cols = static_cast<int64_t>(n_heads) * head_dim;
                    const auto x = random_normal(static_cast<size_t>(n * cols), 52);
                    const int32_t n_rot = variant == 2 ? head_dim / 2 : head_dim;
                    std::vector<float> factors(static_cast<size_t>(n_rot / 2));
                    for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + static_cast<float>(i % 7);
                    return compare_runs(
                        b,
                        [&](Backend& be, std::vector<float>& out) -> Status {
                            PAGODA_RETURN_IF_ERROR(init_small_kv(be, 300));
                            auto tx = upload(be, x, n, cols);
                            auto tf = upload(be, factors, 1, n_rot / 2);
                            if (!tx.is_ok() || !tf.is_ok()) return out_of_memory("allocation failed");
                            RopeParams p;
                            p.head_dim = head_dim;
                            p.n_rot = n_rot;
                            p.freq_base = variant == 1 ? 500000.0f : 10000.0f;
                            p.freq_scale = variant == 2 ? 0.25f : 1.0f;
                            p.neox = neox;
                            p.freq_factors = variant == 1 ? &tf.value() : nullptr;
                            PAGODA_RETURN_IF_ERROR(be.begin_step(step.inputs()));
                            be.rope(*tx, n_heads, p);
                            PAGODA_RETURN_IF_ERROR(be.end_step());
                            auto v = download(be, *tx);
                            if (!v.is_ok()) return v.status();
                            out = std::move(v.value());
                            return Status::ok();
                        },
                        kFp32Threshold);
                };
                cases.push_back(std::move(c));
            }
        }
    }
}

}  // namespace

void add_op_cases(std::vector<ParityCase>& cases) {
    add_embed_cases(cases);
    add_row_op_cases(cases);
    add_rope_cases(cases);
}

}  // namespace pagoda::gpu_parity
