// pagoda-gpu-bench: decode speed of a Llama-3-8B-shaped model on the CUDA backend, and
// how close it comes to the memory-bandwidth roofline.
//
// Weights are random, generated on the GPU (cuda_random_weight) so an 8B model in F16
// (16 GB) needs neither a file nor host memory. The forward pass is the llama graph
// written directly against Backend (embed, rms_norm, q/k/v/o, rope, kv_write, paged
// attention, SwiGLU FFN, output): the ops the engine's transformer calls.
//
// Decode at batch B: each step is B sequences x 1 token, ended by each sequence's greedy
// token, picked as the engine picks it: on the GPU with only the ids copied back
// (Backend::sample_rows), or with --host-sampling from all logits read to the host. The
// roofline is bandwidth / bytes-per-step, with the bandwidth measured in the same run
// (device-to-device copy, read + write bytes) and bytes-per-step = every weight read
// once + the K and V of each sequence's context.
//
//   pagoda-gpu-bench [--type q4_0|f16|q8_0|q4_k|q6_k] [--batch N] [--ctx N] [--tokens N]
//                    [--layers N] [--json PATH] [--small] [--cpu] [--profile] [--no-graphs]
//                    [--host-sampling]
// --small: a tiny model shape; --cpu: the CPU backend (checks this program without a GPU).
// --profile: CUDA events around every op (graphs off), then a table of decode time per
//   op kind (ms/step, % of the step) and the effective bandwidth of each matmul kind.
// --no-graphs: decode steps launched op by op instead of replayed as CUDA graphs. Graphs
// are opt-in until verified on a GPU: without PAGODA_CUDA_GRAPHS=1 they stay off anyway.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/create_cpu_backend.h"
#include "create_cuda_backend.h"
#include "cuda_bench_profile.h"
#include "cuda_bench_support.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda {
namespace {

struct Shape {  // Llama 3 8B
    int32_t dim = 4096;
    int32_t n_layers = 32;
    int32_t n_heads = 32;
    int32_t n_kv_heads = 8;
    int32_t head_dim = 128;
    int32_t ffn = 14336;
    int32_t vocab = 128256;
    float rope_base = 500000.0f;
    float eps = 1e-5f;
    int32_t kv_dim() const { return n_kv_heads * head_dim; }
};

struct LayerWeights {
    Tensor attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
};

struct Weights {
    Tensor embd, out_norm, out;
    std::vector<LayerWeights> layers;
    uint64_t matmul_bytes = 0;  // read once per step: every projection and the output
};

uint64_t tensor_bytes(const Tensor& t) { return ggml_row_bytes(t.type, t.cols).value_or(0) * t.rows; }

// --cpu (a check of this program on machines without a GPU): host weights for the CPU
// backend, which aliases them, so they live here.
bool g_cpu_mode = false;
std::vector<std::vector<uint8_t>> g_host_weights;

Result<Tensor> random_weight(Backend& b, GgmlType type, int64_t rows, int64_t cols, uint64_t seed, float scale) {
    if (!g_cpu_mode) return cuda_random_weight(b, type, rows, cols, seed, scale);
    const uint64_t row_bytes = ggml_row_bytes(type, cols).value_or(0);
    std::vector<float> row(static_cast<size_t>(cols));
    std::vector<uint8_t> data(static_cast<size_t>(row_bytes * rows));
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t r = 0; r < rows; ++r) {
        for (float& v : row) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            v = (static_cast<float>(state >> 40) / 8388608.0f - 1.0f) * scale;
        }
        PAGODA_RETURN_IF_ERROR(quantize_row(type, row.data(), data.data() + r * row_bytes, cols));
    }
    g_host_weights.push_back(std::move(data));
    return b.load_weight(type, rows, cols, g_host_weights.back().data());
}

Result<Weights> make_weights(Backend& b, const Shape& s, GgmlType type) {
    Weights w;
    uint64_t seed = 1;
    auto mat = [&](int64_t rows, int64_t cols, Tensor& t) -> Status {
        auto r = random_weight(b, type, rows, cols, seed++, 1.0f / std::sqrt(static_cast<float>(cols)));
        if (!r.is_ok()) return r.status();
        t = *r;
        w.matmul_bytes += tensor_bytes(t);
        return Status::ok();
    };
    auto norm = [&](int64_t n, Tensor& t) -> Status {
        auto r = random_weight(b, GgmlType::F32, 1, n, seed++, 1.0f);
        if (!r.is_ok()) return r.status();
        t = *r;
        return Status::ok();
    };
    auto e = random_weight(b, type, s.vocab, s.dim, seed++, 1.0f);
    if (!e.is_ok()) return e.status();
    w.embd = *e;
    w.layers.resize(static_cast<size_t>(s.n_layers));
    for (LayerWeights& l : w.layers) {
        PAGODA_RETURN_IF_ERROR(norm(s.dim, l.attn_norm));
        PAGODA_RETURN_IF_ERROR(mat(s.dim, s.dim, l.wq));
        PAGODA_RETURN_IF_ERROR(mat(s.kv_dim(), s.dim, l.wk));
        PAGODA_RETURN_IF_ERROR(mat(s.kv_dim(), s.dim, l.wv));
        PAGODA_RETURN_IF_ERROR(mat(s.dim, s.dim, l.wo));
        PAGODA_RETURN_IF_ERROR(norm(s.dim, l.ffn_norm));
        PAGODA_RETURN_IF_ERROR(mat(s.ffn, s.dim, l.w_gate));
        PAGODA_RETURN_IF_ERROR(mat(s.ffn, s.dim, l.w_up));
        PAGODA_RETURN_IF_ERROR(mat(s.dim, s.ffn, l.w_down));
    }
    PAGODA_RETURN_IF_ERROR(norm(s.dim, w.out_norm));
    PAGODA_RETURN_IF_ERROR(mat(s.vocab, s.dim, w.out));
    return w;
}

// Matmul kinds the profile reports bandwidth for, and the weight bytes each reads per step.
constexpr const char* kMatmulKinds[] = {"matmul q,k,v", "matmul o", "matmul gate,up", "matmul down", "matmul lm_head"};

uint64_t matmul_kind_bytes(const Weights& w, int kind) {
    uint64_t total = 0;
    if (kind == 4) return tensor_bytes(w.out);
    for (const LayerWeights& l : w.layers) {
        switch (kind) {
            case 0:
                total += tensor_bytes(l.wq) + tensor_bytes(l.wk) + tensor_bytes(l.wv);
                break;
            case 1:
                total += tensor_bytes(l.wo);
                break;
            case 2:
                total += tensor_bytes(l.w_gate) + tensor_bytes(l.w_up);
                break;
            default:
                total += tensor_bytes(l.w_down);
                break;
        }
    }
    return total;
}

// One step: [n_tokens] -> logits [logit_rows, vocab] in backend memory. With a profiler,
// each op's stream time is attributed to its kind.
Result<Tensor> forward(Backend& b, const Shape& s, const Weights& w, const StepInputs& in,
                       CudaOpProfiler* prof = nullptr) {
    auto P = [prof](const char* kind) {
        if (prof) prof->mark(kind);
    };
    const int64_t n = in.n_tokens();
    b.reset_scratch();
    auto act = [&](int64_t rows, int64_t cols) { return b.alloc_activations(rows, cols); };
    auto x = act(n, s.dim), h = act(n, s.dim), q = act(n, s.dim), k = act(n, s.kv_dim()), v = act(n, s.kv_dim()),
         a = act(n, s.dim), o = act(n, s.dim), g = act(n, s.ffn), u = act(n, s.ffn);
    const int64_t n_out = static_cast<int64_t>(in.logit_rows.size());
    auto xo = act(n_out, s.dim), lo = act(n_out, s.vocab);
    for (auto* t : {&x, &h, &q, &k, &v, &a, &o, &g, &u, &xo, &lo}) {
        if (!t->is_ok()) return t->status();
    }
    RopeParams rp;
    rp.head_dim = s.head_dim;
    rp.n_rot = s.head_dim;
    rp.freq_base = s.rope_base;
    AttentionParams ap;
    ap.n_heads = s.n_heads;
    ap.n_kv_heads = s.n_kv_heads;
    ap.head_dim = s.head_dim;
    ap.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));

    PAGODA_RETURN_IF_ERROR(b.begin_step(in));
    P("embed");
    b.embed(w.embd, *x);
    for (int32_t l = 0; l < s.n_layers; ++l) {
        const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
        P("rms_norm");
        b.rms_norm(*x, lw.attn_norm, s.eps, *h);
        P(kMatmulKinds[0]);
        b.matmul(lw.wq, *h, *q);
        b.matmul(lw.wk, *h, *k);
        b.matmul(lw.wv, *h, *v);
        P("rope");
        b.rope(*q, s.n_heads, rp);
        b.rope(*k, s.n_kv_heads, rp);
        P("kv_write");
        b.kv_write(l, *k, *v);
        P("attention");
        b.attention(l, *q, *a, ap);
        P(kMatmulKinds[1]);
        b.matmul(lw.wo, *a, *o);
        P("add");
        b.add(*x, *o);
        P("rms_norm");
        b.rms_norm(*x, lw.ffn_norm, s.eps, *h);
        P(kMatmulKinds[2]);
        b.matmul(lw.w_gate, *h, *g);
        b.matmul(lw.w_up, *h, *u);
        P("silu_mul");
        b.silu_mul(*g, *u, *g);
        P(kMatmulKinds[3]);
        b.matmul(lw.w_down, *g, *o);
        P("add");
        b.add(*x, *o);
    }
    P("gather_logit_rows");
    b.gather_logit_rows(*x, *xo);
    P("rms_norm");
    b.rms_norm(*xo, w.out_norm, s.eps, *xo);
    P(kMatmulKinds[4]);
    b.matmul(w.out, *xo, *lo);
    P("end");
    PAGODA_RETURN_IF_ERROR(b.end_step());
    return *lo;
}

TokenId argmax(const float* v, int64_t n) { return static_cast<TokenId>(std::max_element(v, v + n) - v); }

// Each row's greedy token, as the engine picks it: next to the logits when the backend
// samples on its device (only the ids come back), else from all rows read to the host
// (into `host`, kept between steps as the engine keeps its logits buffer).
Status pick_tokens(Backend& b, const Tensor& logits, bool device_sampling, std::vector<float>& host,
                   std::vector<TokenId>& tokens) {
    const auto rows = static_cast<size_t>(logits.rows);
    tokens.resize(rows);
    if (device_sampling) {
        std::vector<RowSamplingRequest> requests(rows);
        for (size_t r = 0; r < rows; ++r) requests[r].row = static_cast<int32_t>(r);  // temperature 0: greedy
        std::vector<RowSamplingResult> results(rows);
        PAGODA_RETURN_IF_ERROR(b.sample_rows(logits, requests, results));
        for (size_t r = 0; r < rows; ++r) {
            if (results[r].needs_host) return internal_error("the device handed back a greedy row");
            tokens[r] = results[r].token;
        }
        return Status::ok();
    }
    host.resize(static_cast<size_t>(logits.n_elements()));
    PAGODA_RETURN_IF_ERROR(b.read(logits, host.data()));
    for (size_t r = 0; r < rows; ++r) tokens[r] = argmax(host.data() + r * logits.cols, logits.cols);
    return Status::ok();
}

// B sequences, each with its own run of blocks [s * blocks_per_seq, ...).
struct Batch {
    int32_t block_size = 16;
    int32_t blocks_per_seq = 0;
    std::vector<TokenId> tokens;
    std::vector<int32_t> positions, query_start, context_lens, block_tables, logit_rows;
    std::vector<int64_t> slots;

    // Tokens [first_pos, first_pos + count) of each of the given sequences; sequence i's
    // tokens are all seq_tokens[i] (or seq_tokens[0] when there is one).
    StepInputs step(const std::vector<int32_t>& seqs, int32_t first_pos, int32_t count,
                    const std::vector<TokenId>& seq_tokens) {
        tokens.clear();
        positions.clear();
        slots.clear();
        query_start.assign(1, 0);
        context_lens.clear();
        block_tables.clear();
        logit_rows.clear();
        for (size_t si = 0; si < seqs.size(); ++si) {
            const int32_t seq = seqs[si];
            const TokenId token = seq_tokens[seq_tokens.size() == 1 ? 0 : si];
            for (int32_t i = 0; i < count; ++i) {
                const int32_t pos = first_pos + i;
                tokens.push_back(token);
                positions.push_back(pos);
                slots.push_back((static_cast<int64_t>(seq) * blocks_per_seq + pos / block_size) * block_size +
                                pos % block_size);
            }
            query_start.push_back(static_cast<int32_t>(tokens.size()));
            context_lens.push_back(first_pos + count);
            logit_rows.push_back(static_cast<int32_t>(tokens.size()) - 1);
            for (int32_t b = 0; b < blocks_per_seq; ++b) block_tables.push_back(seq * blocks_per_seq + b);
        }
        return StepInputs{tokens,       positions,    slots,          query_start,
                          context_lens, block_tables, blocks_per_seq, logit_rows};
    }
};

// The --profile table: GPU time per op kind per decode step, and the matmuls' bandwidth.
void print_profile(const CudaOpProfiler& prof, const Weights& w, int32_t n_steps, double wall_step_ms) {
    const auto rows = prof.totals();
    double total = 0.0;
    for (const auto& r : rows) total += r.ms;
    std::printf("PROFILE decode, %d steps (graphs off; wall %.3f ms/step, GPU ops %.3f ms/step)\n", n_steps,
                wall_step_ms, total / n_steps);
    std::printf("PROFILE %-20s %10s %7s %9s %10s\n", "op", "ms/step", "%", "calls", "GB/s");
    double matmul_ms = 0.0;
    uint64_t matmul_bytes = 0;
    for (const auto& r : rows) {
        int kind = -1;
        for (int i = 0; i < 5; ++i) {
            if (r.kind == kMatmulKinds[i]) kind = i;
        }
        const double ms = r.ms / n_steps;
        char gbs[32] = "";
        if (kind >= 0) {
            const uint64_t bytes = matmul_kind_bytes(w, kind);
            matmul_ms += ms;
            matmul_bytes += bytes;
            std::snprintf(gbs, sizeof gbs, "%.0f", ms > 0 ? bytes / (ms * 1e-3) / 1e9 : 0.0);
        }
        std::printf("PROFILE %-20s %10.4f %6.1f%% %9.1f %10s\n", r.kind.c_str(), ms,
                    total > 0 ? 100.0 * r.ms / total : 0.0, static_cast<double>(r.count) / n_steps, gbs);
    }
    std::printf("PROFILE matmuls: %.3f ms/step for %.2f GB = %.0f GB/s effective; everything else %.3f ms/step\n",
                matmul_ms, matmul_bytes / 1e9, matmul_ms > 0 ? matmul_bytes / (matmul_ms * 1e-3) / 1e9 : 0.0,
                total / n_steps - matmul_ms);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(int argc, char** argv) {
    Shape shape;
    std::string type_name = "q4_0";
    int32_t batch = 1, ctx = 512, n_decode = 64;
    std::string json_path;
    bool profile = false, graphs = true, host_sampling = false;
    for (int i = 1; i < argc; ++i) {
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
        const char* arg = argv[i];
        if (!std::strcmp(arg, "--type")) {
            type_name = next();
        } else if (!std::strcmp(arg, "--batch")) {
            batch = std::atoi(next());
        } else if (!std::strcmp(arg, "--ctx")) {
            ctx = std::atoi(next());
        } else if (!std::strcmp(arg, "--tokens")) {
            n_decode = std::atoi(next());
        } else if (!std::strcmp(arg, "--layers")) {
            shape.n_layers = std::atoi(next());
        } else if (!std::strcmp(arg, "--json")) {
            json_path = next();
        } else if (!std::strcmp(arg, "--cpu")) {
            g_cpu_mode = true;
        } else if (!std::strcmp(arg, "--profile")) {
            profile = true;
        } else if (!std::strcmp(arg, "--host-sampling")) {
            host_sampling = true;
        } else if (!std::strcmp(arg, "--no-graphs")) {
            graphs = false;
        } else if (!std::strcmp(arg, "--small")) {
            shape.dim = 256;
            shape.n_layers = 2;
            shape.n_heads = 4;
            shape.n_kv_heads = 2;
            shape.head_dim = 64;
            shape.ffn = 512;
            shape.vocab = 1000;
        } else {
            std::fprintf(stderr,
                         "usage: pagoda-gpu-bench [--type q4_0|f16|q8_0|q4_k|q6_k] [--batch N] [--ctx N] "
                         "[--tokens N] [--layers N] [--json PATH] [--small] [--cpu] [--profile] [--no-graphs]\n"
                         "                        [--host-sampling]\n");
            return 64;
        }
    }
    const auto type = ggml_type_from_name(type_name.c_str());
    if (!type || batch < 1 || ctx < 1 || n_decode < 1 || shape.n_layers < 1) {
        std::fprintf(stderr, "pagoda-gpu-bench: bad arguments\n");
        return 64;
    }

    std::unique_ptr<Backend> backend;
    if (g_cpu_mode) {
        backend = create_cpu_backend(0);
    } else {
        auto created = create_cuda_backend(0);
        if (!created.is_ok()) {
            std::printf("SKIP bench: no CUDA device: %s\n", created.status().message().c_str());
            return 2;
        }
        backend = std::move(created.value());
    }
    Backend& b = *backend;
    std::unique_ptr<CudaOpProfiler> prof;
    if (!g_cpu_mode) {
        // Events around each op only time the ops when they launch one by one.
        if (Status s = cuda_set_graphs(b, graphs && !profile); !s) {
            std::printf("FAIL bench: %s\n", s.to_string().c_str());
            return 1;
        }
        if (profile) {
            auto p = CudaOpProfiler::create(b);
            if (!p.is_ok()) {
                std::printf("FAIL bench: profiler: %s\n", p.status().to_string().c_str());
                return 1;
            }
            prof = std::move(p.value());
        }
    }
    std::printf("bench: %s, shape (%d layers, dim %d, ffn %d, vocab %d, %d/%d heads), %s weights\n", b.name().c_str(),
                shape.n_layers, shape.dim, shape.ffn, shape.vocab, shape.n_heads, shape.n_kv_heads, type_name.c_str());
    std::fflush(stdout);

    auto bw = g_cpu_mode ? Result<double>(1.0) : cuda_copy_bandwidth(b, uint64_t{1} << 30, 5);
    if (!bw.is_ok()) {
        std::printf("FAIL bench: bandwidth: %s\n", bw.status().to_string().c_str());
        return 1;
    }
    const double bandwidth = bw.value();
    auto t0 = std::chrono::steady_clock::now();
    auto weights = make_weights(b, shape, *type);
    if (!weights.is_ok()) {
        std::printf("FAIL bench: weights: %s\n", weights.status().to_string().c_str());
        return 1;
    }
    std::printf("bench: %.2f GB of weights generated in %.2f s\n", weights->matmul_bytes / 1e9, seconds_since(t0));

    Batch bt;
    bt.blocks_per_seq = (ctx + n_decode + bt.block_size) / bt.block_size + 1;
    KvCacheConfig kv;
    kv.n_layers = shape.n_layers;
    kv.n_kv_heads = shape.n_kv_heads;
    kv.head_dim = shape.head_dim;
    kv.block_size = bt.block_size;
    kv.n_blocks = bt.blocks_per_seq * batch;
    kv.type = GgmlType::F16;
    if (Status s = b.init_kv_cache(kv); !s) {
        std::printf("FAIL bench: KV cache: %s\n", s.to_string().c_str());
        return 1;
    }

    // Prefill every sequence's context, one sequence and up to 512 tokens per step.
    const bool device_sampling = b.supports_device_sampling() && !host_sampling;
    std::vector<TokenId> picked;
    std::vector<float> host_logits;
    double prefill_s = 0.0;
    for (int32_t seq = 0; seq < batch; ++seq) {
        for (int32_t p = 0; p < ctx; p += 512) {
            const int32_t count = std::min(512, ctx - p);
            t0 = std::chrono::steady_clock::now();
            const std::vector<TokenId> prompt_token = {(1000 + p % 7) % shape.vocab};
            Result<Tensor> logits = forward(b, shape, *weights, bt.step({seq}, p, count, prompt_token));
            Status s = logits.is_ok() ? pick_tokens(b, *logits, device_sampling, host_logits, picked) : logits.status();
            if (!s) {
                std::printf("FAIL bench: prefill: %s\n", s.to_string().c_str());
                return 1;
            }
            if (seq == 0) prefill_s += seconds_since(t0);
        }
    }
    std::printf("bench: prefill %d tokens in %.3f s (%.0f tok/s)\n", ctx, prefill_s, ctx / prefill_s);

    // Decode: warm-up steps, then timed ones; each sequence goes on with its own greedy token.
    std::printf("bench: greedy tokens picked %s\n",
                device_sampling ? "on the device (ids copied back)" : "on the host (all logits copied back)");
    std::vector<int32_t> seqs(static_cast<size_t>(batch));
    for (int32_t i = 0; i < batch; ++i) seqs[static_cast<size_t>(i)] = i;
    std::vector<TokenId> next(static_cast<size_t>(batch), picked.at(0));
    const int32_t warmup = 3;
    double decode_s = 0.0;
    for (int32_t step = 0; step < warmup + n_decode; ++step) {
        t0 = std::chrono::steady_clock::now();
        Result<Tensor> logits = forward(b, shape, *weights, bt.step(seqs, ctx + step, 1, next), prof.get());
        Status s = logits.is_ok() ? pick_tokens(b, *logits, device_sampling, host_logits, next) : logits.status();
        if (!s) {
            std::printf("FAIL bench: decode: %s\n", s.to_string().c_str());
            return 1;
        }
        if (step >= warmup) decode_s += seconds_since(t0);
        if (prof) {
            if (Status s = prof->collect(); !s) {
                std::printf("FAIL bench: profiler: %s\n", s.to_string().c_str());
                return 1;
            }
            if (step + 1 == warmup) prof->reset();  // count the timed steps only
        }
    }
    const double step_ms = decode_s / n_decode * 1e3;
    const double tok_s = batch * n_decode / decode_s;
    if (!g_cpu_mode) std::printf("bench: %s\n", cuda_graph_summary(b).c_str());
    if (prof) print_profile(*prof, *weights, n_decode, step_ms);

    // Roofline: every weight once, plus each sequence's K and V (F16) at the mean context.
    const double mean_ctx = ctx + warmup + (n_decode - 1) / 2.0;
    const double kv_bytes = 2.0 * shape.n_layers * shape.kv_dim() * 2.0 * mean_ctx * batch;
    const double embd_bytes = static_cast<double>(tensor_bytes(weights->embd)) / shape.vocab * batch;
    const double bytes_per_step = static_cast<double>(weights->matmul_bytes) + kv_bytes + embd_bytes;
    const double roofline_step_ms = bytes_per_step / (bandwidth * 1e9) * 1e3;
    const double roofline_tok_s = batch * 1e3 / roofline_step_ms;
    std::printf(
        "RESULT %s batch %d ctx %d: decode %.1f tok/s (%.2f ms/step); bytes/step %.2f GB (weights %.2f, "
        "KV %.3f); copy bandwidth %.0f GB/s (read+write); roofline %.1f tok/s (%.2f ms/step); "
        "%.0f%% of roofline\n",
        type_name.c_str(), batch, ctx, tok_s, step_ms, bytes_per_step / 1e9, weights->matmul_bytes / 1e9,
        kv_bytes / 1e9, bandwidth, roofline_tok_s, roofline_step_ms, 100.0 * roofline_step_ms / step_ms);
    if (!json_path.empty()) {
        if (FILE* f = std::fopen(json_path.c_str(), "a")) {
            std::fprintf(f,
                         "{\"device\":\"%s\",\"type\":\"%s\",\"batch\":%d,\"ctx\":%d,\"decode_tok_s\":%.2f,"
                         "\"step_ms\":%.3f,\"prefill_tok_s\":%.1f,\"bytes_per_step\":%.0f,\"copy_bw_gbs\":%.1f,"
                         "\"roofline_tok_s\":%.2f,\"roofline_fraction\":%.4f,\"graphs\":%s,\"device_sampling\":%s}\n",
                         b.name().c_str(), type_name.c_str(), batch, ctx, tok_s, step_ms, ctx / prefill_s,
                         bytes_per_step, bandwidth, roofline_tok_s, roofline_step_ms / step_ms,
                         graphs && !profile && !g_cpu_mode ? "true" : "false", device_sampling ? "true" : "false");
            std::fclose(f);
        }
    }
    return 0;
}

}  // namespace
}  // namespace pagoda

int main(int argc, char** argv) { return pagoda::run(argc, argv); }
