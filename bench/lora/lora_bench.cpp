// pagoda-lora-bench: what serving many LoRA adapters at once costs (issue 8's figures).
//
//  1. Throughput: C concurrent requests (prompt P tokens, G generated, greedy, EOS
//     ignored) on the base model alone, then the same load with the requests spread
//     over A different adapters; prints both aggregate tokens/s and their ratio.
//  2. Load / switch latency of one rank-R adapter: reading the PEFT folder from disk and
//     registering it (Engine::load_adapter), then the first request that uses it (its
//     backend upload happens in that step) vs the same request on the base model.
//
// The model is a seeded random-weight GGUF of TinyLlama-1.1B's shape (1B-class, as the
// issue asks) built in memory; the adapters are seeded random ones of the given rank on
// q, k, v, o, gate, up and down (tests/fixtures/random_lora.h). Runs on the CPU backend
// (--threads) or, with --device cuda, on the GPU when the CUDA backend supports LoRA.
//
//   pagoda-lora-bench [--threads N] [--concurrency C] [--adapters A] [--rank R]
//                     [--prompt P] [--gen G] [--type q4_0|f16|f32|q8_0] [--lora-type f32|f16]
//                     [--small] [--device cpu|cuda]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/create_cpu_backend.h"
#include "fixtures/random_lora.h"
#include "fixtures/random_model.h"
#include "model/gguf_file.h"
#include "model/model.h"
#include "pagoda/engine.h"
#ifdef PAGODA_HAVE_CUDA
#include "create_cuda_backend.h"
#endif

namespace pagoda {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Options {
    int threads = 2;
    int concurrency = 16;
    int adapters = 8;
    int rank = 16;
    int prompt = 32;
    int gen = 32;
    std::string type = "q4_0";
    std::string device = "cpu";
    std::string lora_type = "f32";  // backend encoding of A and B
    bool small = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "pagoda-lora-bench: %s\nusage: pagoda-lora-bench [--threads N] [--concurrency C] [--adapters A] "
                 "[--rank R] [--prompt P] [--gen G] [--type q4_0|q8_0|f16|f32] [--lora-type f32|f16] [--small] "
                 "[--device cpu|cuda]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next_int = [&](int lo, int hi) {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            const int v = std::atoi(argv[++i]);
            if (v < lo || v > hi) usage(("bad value for " + a).c_str());
            return v;
        };
        if (a == "--threads") o.threads = next_int(1, 1024);
        else if (a == "--concurrency") o.concurrency = next_int(1, 1024);
        else if (a == "--adapters") o.adapters = next_int(1, 256);
        else if (a == "--rank") o.rank = next_int(1, 512);
        else if (a == "--prompt") o.prompt = next_int(1, 4096);
        else if (a == "--gen") o.gen = next_int(1, 4096);
        else if (a == "--type" && i + 1 < argc) o.type = argv[++i];
        else if (a == "--device" && i + 1 < argc) o.device = argv[++i];
        else if (a == "--lora-type" && i + 1 < argc) o.lora_type = argv[++i];
        else if (a == "--small") o.small = true;
        else if (a == "--help" || a == "-h") usage("help");
        else usage(("unknown argument " + a).c_str());
    }
    return o;
}

fixtures::RandomModelConfig model_config(const Options& o) {
    fixtures::RandomModelConfig c;
    c.arch = "llama";
    c.seed = 5;
    auto type = fixtures::random_model_type_from_name(o.type);
    if (!type) usage("unknown --type");
    c.type = *type;
    if (o.small) {  // a quick check of the program itself
        c.dim = 256, c.n_layers = 4, c.ffn = 768, c.n_heads = 8, c.n_kv_heads = 4, c.vocab = 2048;
    } else {  // TinyLlama-1.1B
        c.dim = 2048, c.n_layers = 22, c.ffn = 5632, c.n_heads = 32, c.n_kv_heads = 4, c.vocab = 32000;
    }
    c.ctx = 2048;
    return c;
}

std::unique_ptr<Backend> make_backend(const Options& o) {
    if (o.device == "cpu") return create_cpu_backend(o.threads);
#ifdef PAGODA_HAVE_CUDA
    if (o.device == "cuda") {
        auto b = create_cuda_backend(0);
        if (!b) {
            std::fprintf(stderr, "pagoda-lora-bench: %s\n", b.status().to_string().c_str());
            std::exit(1);
        }
        return std::move(b.value());
    }
#endif
    usage("--device must be cpu (or cuda in a CUDA build)");
}

std::vector<TokenId> prompt_tokens(int n, int i, int32_t n_vocab) {
    std::vector<TokenId> t = {1};
    uint64_t x = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
    while (static_cast<int>(t.size()) < n) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        t.push_back(3 + static_cast<TokenId>(x % static_cast<uint64_t>(n_vocab - 3)));
    }
    return t;
}

// Runs the requests at once; returns generated tokens / wall seconds.
double run_load(Engine& engine, const Options& o, const std::vector<std::vector<AdapterRef>>& adapters) {
    const int32_t n_vocab = engine.model_config().n_vocab;
    std::vector<std::shared_ptr<CollectingSink>> sinks;
    const auto start = Clock::now();
    for (int i = 0; i < o.concurrency; ++i) {
        Request r;
        r.prompt = prompt_tokens(o.prompt, i, n_vocab);
        r.sampling.temperature = 0.0f;
        r.sampling.max_tokens = o.gen;
        r.sampling.ignore_eos = true;
        r.adapters = adapters[static_cast<size_t>(i)];
        sinks.push_back(std::make_shared<CollectingSink>());
        auto id = engine.submit(r, sinks.back());
        if (!id) {
            std::fprintf(stderr, "pagoda-lora-bench: submit: %s\n", id.status().to_string().c_str());
            std::exit(1);
        }
    }
    int64_t generated = 0;
    for (auto& s : sinks) {
        s->wait();
        generated += s->finish()->usage.completion_tokens;
    }
    return static_cast<double>(generated) / seconds_since(start);
}

// One request's time to its first token (prefill of o.prompt tokens).
double first_token_s(Engine& engine, const Options& o, std::vector<AdapterRef> adapters, int salt) {
    Request r;
    r.prompt = prompt_tokens(o.prompt, 1000 + salt, engine.model_config().n_vocab);
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = 1;
    r.adapters = std::move(adapters);
    auto sink = std::make_shared<CollectingSink>();
    if (!engine.submit(r, sink)) std::exit(1);
    sink->wait();
    return sink->finish()->time_to_first_token_s;
}

int run(const Options& o) {
    const fixtures::RandomModelConfig mc = model_config(o);
    auto t0 = Clock::now();
    GgufWriter writer;
    if (Status s = fixtures::build_random_model(mc, writer); !s) {
        std::fprintf(stderr, "pagoda-lora-bench: %s\n", s.to_string().c_str());
        return 1;
    }
    auto bytes = std::make_shared<std::vector<uint8_t>>(writer.to_bytes());
    auto file = GgufFile::parse(*bytes, "lora-bench-base.gguf");
    if (!file) return 1;
    std::unique_ptr<Backend> backend = make_backend(o);
    const std::string backend_name = backend->name();
    auto model = Model::load(std::move(file.value()), *backend);
    if (!model) {
        std::fprintf(stderr, "pagoda-lora-bench: %s\n", model.status().to_string().c_str());
        return 1;
    }
    EngineConfig ec;
    ec.max_num_seqs = std::max(o.concurrency, 1);
    ec.max_model_len = o.prompt + o.gen + 16;
    ec.enable_prefix_caching = false;
    ec.seed = 1;
    if (o.lora_type != "f32" && o.lora_type != "f16") usage("--lora-type must be f32 or f16");
    ec.lora_type = o.lora_type == "f16" ? GgmlType::F16 : GgmlType::F32;
    auto created = Engine::create(std::move(backend), std::move(model.value()), ec);
    if (!created) {
        std::fprintf(stderr, "pagoda-lora-bench: %s\n", created.status().to_string().c_str());
        return 1;
    }
    Engine& engine = *created.value();
    std::fprintf(stderr, "lora-bench: %s, %s model (%d layers, dim %d) built in %.1f s\n", backend_name.c_str(),
                 o.type.c_str(), mc.n_layers, mc.dim, seconds_since(t0));

    // Adapters: A in memory, plus one written as a PEFT folder for the load-from-disk figure.
    std::vector<int32_t> ids;
    fixtures::RandomLoraConfig lc;
    lc.rank = o.rank;
    lc.alpha = 2.0f * static_cast<float>(o.rank);
    lc.strength = 0.5f;
    for (int a = 0; a < o.adapters; ++a) {
        lc.seed = 100 + static_cast<uint64_t>(a);
        auto adapter = fixtures::make_random_lora(mc, lc);
        if (!adapter) return 1;
        auto id = engine.load_adapter(std::move(adapter.value()), "bench-" + std::to_string(a));
        if (!id) {
            std::fprintf(stderr, "pagoda-lora-bench: %s\n", id.status().to_string().c_str());
            return 1;
        }
        ids.push_back(*id);
    }

    // Warm-up (thread pool, first allocations), then the two loads.
    std::vector<std::vector<AdapterRef>> none(static_cast<size_t>(o.concurrency));
    std::vector<std::vector<AdapterRef>> spread(static_cast<size_t>(o.concurrency));
    for (int i = 0; i < o.concurrency; ++i) spread[static_cast<size_t>(i)] = {{ids[static_cast<size_t>(i % o.adapters)], 1.0f}};
    run_load(engine, o, spread);
    const double base_tps = run_load(engine, o, none);
    const double lora_tps = run_load(engine, o, spread);

    // Load latency from disk, and the first request through a cold adapter vs the base.
    const std::string dir = (std::filesystem::temp_directory_path() / ("pagoda-lora-bench-" + std::to_string(::getpid()))).string();
    lc.seed = 999;
    auto disk_adapter = fixtures::make_random_lora(mc, lc);
    if (!disk_adapter || !fixtures::write_random_lora_peft(mc, lc, *disk_adapter, dir)) return 1;
    const auto l0 = Clock::now();
    auto disk_id = engine.load_adapter(dir, "from-disk");
    const double load_s = seconds_since(l0);
    std::filesystem::remove_all(dir);
    if (!disk_id) {
        std::fprintf(stderr, "pagoda-lora-bench: %s\n", disk_id.status().to_string().c_str());
        return 1;
    }
    const double base_first = first_token_s(engine, o, {}, 1);
    const double cold_first = first_token_s(engine, o, {{*disk_id, 1.0f}}, 2);
    const double warm_first = first_token_s(engine, o, {{*disk_id, 1.0f}}, 3);

    std::printf("# %s; %s model %d layers dim %d; %s adapters; %d concurrent requests, prompt %d, %d generated, "
                "greedy\n",
                backend_name.c_str(), o.type.c_str(), mc.n_layers, mc.dim, o.lora_type.c_str(), o.concurrency,
                o.prompt, o.gen);
    std::printf("%-34s | %-10s\n", "load", "tok/s");
    std::printf("%-34s | %-10.1f\n", "base model only", base_tps);
    std::printf("%-34s | %-10.1f\n", ("spread over " + std::to_string(o.adapters) + " adapters (rank " +
                                      std::to_string(o.rank) + ")").c_str(), lora_tps);
    std::printf("ratio adapters/base: %.2f (goal >= 0.8)\n", base_tps > 0 ? lora_tps / base_tps : 0.0);
    std::printf("rank-%d adapter: load from a PEFT folder %.1f ms; first request through it %.1f ms "
                "(cold upload) / %.1f ms (resident) vs %.1f ms on the base; switch cost %.1f ms (goal < 100 ms)\n",
                o.rank, 1000 * load_s, 1000 * cold_first, 1000 * warm_first, 1000 * base_first,
                1000 * (load_s + cold_first - base_first));
    return 0;
}

}  // namespace
}  // namespace pagoda

int main(int argc, char** argv) { return pagoda::run(pagoda::parse(argc, argv)); }
