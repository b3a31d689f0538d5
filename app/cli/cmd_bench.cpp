// `pagoda bench`: prompt-processing and generation speed of one model, measured the way
// llama.cpp's llama-bench does, so bench/compare.sh can put the two side by side:
//   pp<P>: one fresh sequence, P prompt tokens prefilled in chunks (as the sequence
//          runner does for a real request); tokens/s = P / prefill time.
//   tg<N>: one fresh sequence of a single prompt token, then N decode steps of one
//          token each, greedy; tokens/s = N / decode time.
// Prompt ids are a fixed pseudo-random sequence (bench/llama_cpp_bench.mjs uses the
// same formula), repeated --reps times after a short warm-up run.
// With --concurrency 1,8,32,... it measures serving throughput through the Engine instead
// (bench_concurrency.h): N requests at once per level.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "args.h"
#include "backend_factory.h"
#include "bench_concurrency.h"
#include "bench_levels.h"
#include "commands.h"
#include "kv/block_allocator.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "sched/sequence_runner.h"
#include "size_option.h"

namespace pagoda::cli {
namespace {

// The i-th prompt id: Knuth's multiplicative hash of i + 1, skipping the first three
// ids (unk/bos/eos in SentencePiece vocabularies). Same formula in llama_cpp_bench.mjs.
std::vector<TokenId> bench_prompt(int32_t n, int32_t n_vocab) {
    std::vector<TokenId> ids(static_cast<size_t>(n));
    const uint32_t span = n_vocab > 3 ? static_cast<uint32_t>(n_vocab - 3) : static_cast<uint32_t>(n_vocab);
    const uint32_t first = n_vocab > 3 ? 3u : 0u;
    for (int32_t i = 0; i < n; ++i) {
        const uint32_t x = static_cast<uint32_t>(i + 1) * 2654435761u;
        ids[static_cast<size_t>(i)] = static_cast<TokenId>(first + x % span);
    }
    return ids;
}

struct Series {
    std::vector<double> tps;  // tokens/s, one per repetition
    double mean() const {
        double s = 0;
        for (double v : tps) s += v;
        return tps.empty() ? 0.0 : s / static_cast<double>(tps.size());
    }
    double stddev() const {
        if (tps.size() < 2) return 0.0;
        const double m = mean();
        double s = 0;
        for (double v : tps) s += (v - m) * (v - m);
        return std::sqrt(s / static_cast<double>(tps.size() - 1));
    }
};

// Rewrites llama-bench's short flags (-p, -n, -r, -t) into this parser's long ones.
std::vector<std::string> normalize_args(int argc, char** argv) {
    std::vector<std::string> out;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (i > 0) {
            if (a == "-p") a = "--n-prompt";
            else if (a == "-n") a = "--n-gen";
            else if (a == "-r") a = "--reps";
            else if (a == "-t") a = "--threads";
        }
        out.push_back(std::move(a));
    }
    return out;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string json_series(const Series& s) {
    std::string out = "{\"tokens_per_second\": " + std::to_string(s.mean()) +
                      ", \"stddev\": " + std::to_string(s.stddev()) + ", \"samples\": [";
    for (size_t i = 0; i < s.tps.size(); ++i) out += (i ? ", " : "") + std::to_string(s.tps[i]);
    return out + "]}";
}

}  // namespace

int run_bench(int argc, char** argv) {
    Args args("pagoda bench --model PATH [-p 512] [-n 128] [--threads N] [--reps R] [--json]\n"
              "       pagoda bench --model PATH --concurrency 1,8,32,128,256 [-p 512] [-n 256] [--kv-memory M]\n"
              "                    [--device DEV] [--json]",
              "Measures prompt processing (pp) and generation (tg) speed in tokens/s, as llama-bench does.\n"
              "A test with 0 tokens is skipped.\n"
              "With --concurrency, measures serving throughput instead: for each level N, N requests with distinct\n"
              "random prompts of -p tokens are submitted at once to the engine (continuous batching, as in\n"
              "'pagoda serve'; prefix cache off) and each generates exactly -n tokens (default 256), greedy.\n"
              "One row per level: wall time, output and total tokens/s, time to first token (mean, p50, p99),\n"
              "time per output token, preemptions and throughput relative to the first level.\n"
              "The KV pool holds the largest level (N x (p + n) tokens) unless --kv-memory sets it.");
    args.option("--model", "PATH", "GGUF model file");
    args.option("--n-prompt", "N", "prompt tokens for the pp test (-p); with --concurrency, per request", "512");
    args.option("--n-gen", "N", "generated tokens for the tg test (-n); with --concurrency, per request (default 256)",
                "128");
    args.option("--threads", "N", "CPU threads (-t); 0 = physical cores", "0");
    args.option("--reps", "R", "repetitions of each test (-r)", "3");
    args.option("--prefill-chunk", "N",
                "prompt tokens per forward step (with --concurrency: the token budget of one engine step)", "512");
    args.option("--device", "DEV", "auto, cpu or cuda[:N]", "auto");
    args.option("--concurrency", "N1,N2,...",
                "serving benchmark: requests at once per level (each 1..4096, at most 16 levels)");
    args.option("--kv-memory", "SIZE|FRACTION",
                std::string(kKvMemoryHelp) + "; with --concurrency only (default: room for the largest level)");
    args.option("--seed", "S", "seed of the random prompts (with --concurrency)", "1");
    args.flag("--no-warmup", "skip the warm-up run");
    args.flag("--json", "print one JSON object instead of the table");

    std::vector<std::string> norm = normalize_args(argc, argv);
    std::vector<char*> cargv;
    for (auto& s : norm) cargv.push_back(s.data());
    if (!args.parse(static_cast<int>(cargv.size()), cargv.data())) return args.exit_code();
    if (!args.has("--model")) {
        std::fprintf(stderr, "error: --model is required\n\n%s", args.help().c_str());
        return 2;
    }
    bool ok = true;
    const long long n_prompt = args.get_int("--n-prompt", ok);
    const long long n_gen = args.get_int("--n-gen", ok);
    const long long threads = args.get_int("--threads", ok);
    const long long reps = args.get_int("--reps", ok);
    const long long chunk = args.get_int("--prefill-chunk", ok);
    if (!ok) return 2;
    if (n_prompt < 0 || n_prompt > 1 << 20 || n_gen < 0 || n_gen > 1 << 20 || reps < 1 || reps > 1000 ||
        chunk < 1 || chunk > 1 << 20 || threads < 0 || threads > 4096) {
        std::fprintf(stderr, "error: -p/-n must be in [0, 2^20], --reps in [1, 1000], --prefill-chunk >= 1\n");
        return 2;
    }
    const bool json = args.has("--json");
    const std::string path = args.get("--model");

    if (args.has("--concurrency")) {
        ConcurrencyBenchOptions o;
        std::string error;
        if (!parse_concurrency_levels(args.get("--concurrency"), o.levels, error)) {
            std::fprintf(stderr, "error: %s\n", error.c_str());
            return 2;
        }
        const long long gen = args.has("--n-gen") ? n_gen : 256;
        if (n_prompt < 1 || gen < 1) {
            std::fprintf(stderr, "error: with --concurrency, -p and -n must be at least 1\n");
            return 2;
        }
        const long long seed = args.get_int("--seed", ok);
        if (!ok) return 2;
        o.model_path = path;
        o.n_prompt = static_cast<int32_t>(n_prompt);
        o.n_gen = static_cast<int32_t>(gen);
        o.device = args.get("--device");
        o.threads = static_cast<int32_t>(threads);
        o.step_tokens = static_cast<int32_t>(chunk);
        o.kv_memory = args.get("--kv-memory");
        o.seed = static_cast<uint64_t>(seed);
        o.warmup = !args.has("--no-warmup");
        o.json = json;
        return run_concurrency_bench(o);
    }
    if (args.has("--kv-memory") || args.has("--seed")) {
        std::fprintf(stderr, "error: --kv-memory and --seed apply only with --concurrency\n");
        return 2;
    }

    using Clock = std::chrono::steady_clock;
    const auto load_start = Clock::now();
    auto device = create_backend(args.get("--device"), static_cast<int>(threads));
    if (!device) {
        std::fprintf(stderr, "pagoda bench: %s\n", device.status().to_string().c_str());
        return 1;
    }
    Backend& backend = *device->backend;
    auto loaded = Model::load(path, backend);
    if (!loaded) {
        std::fprintf(stderr, "pagoda bench: %s\n", loaded.status().to_string().c_str());
        return 1;
    }
    const ModelConfig* config = &loaded.value()->config();
    Transformer& model = loaded.value()->transformer();
    // Room for the longer of the two tests, plus the token sampled last.
    const int64_t max_tokens = std::max<int64_t>(n_prompt, 1 + n_gen) + 1;
    const auto n_blocks = static_cast<int32_t>((max_tokens + 15) / 16);
    Status s = model.init_kv_cache(model.kv_cache_config(n_blocks));
    if (!s.is_ok()) {
        std::fprintf(stderr, "pagoda bench: %s\n", s.to_string().c_str());
        return 1;
    }
    BlockAllocator blocks(n_blocks);
    SequenceRunner runner(model, blocks);
    const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();

    const std::vector<TokenId> prompt = bench_prompt(static_cast<int32_t>(std::max<long long>(n_prompt, 1)),
                                                     config->n_vocab);
    SamplerParams greedy;
    greedy.temperature = 0.0f;
    auto run_once = [&](std::span<const TokenId> p, int32_t new_tokens) -> Result<RunStats> {
        Sampler sampler(greedy);
        RunOptions opts;
        opts.max_new_tokens = new_tokens;
        opts.prefill_chunk = static_cast<int32_t>(chunk);
        return runner.run(p, sampler, opts, RunCallbacks{});
    };

    if (!args.has("--no-warmup")) {
        const size_t warm = std::min<size_t>(prompt.size(), 16);
        auto r = run_once(std::span<const TokenId>(prompt.data(), warm), 2);
        if (!r) {
            std::fprintf(stderr, "pagoda bench: warm-up: %s\n", r.status().to_string().c_str());
            return 1;
        }
    }

    Series pp, tg;
    for (long long rep = 0; rep < reps; ++rep) {
        if (n_prompt > 0) {
            // max_new_tokens 1: the token is sampled from the prefill logits, no decode step.
            auto r = run_once(std::span<const TokenId>(prompt.data(), static_cast<size_t>(n_prompt)), 1);
            if (!r) {
                std::fprintf(stderr, "pagoda bench: pp: %s\n", r.status().to_string().c_str());
                return 1;
            }
            pp.tps.push_back(static_cast<double>(n_prompt) / r->prefill_seconds);
        }
        if (n_gen > 0) {
            // One prompt token, then n_gen + 1 sampled tokens = n_gen decode forward steps.
            auto r = run_once(std::span<const TokenId>(prompt.data(), 1), static_cast<int32_t>(n_gen + 1));
            if (!r) {
                std::fprintf(stderr, "pagoda bench: tg: %s\n", r.status().to_string().c_str());
                return 1;
            }
            if (r->n_generated != n_gen + 1) {
                std::fprintf(stderr, "pagoda bench: tg stopped after %d tokens (%s)\n", r->n_generated,
                             finish_reason_name(r->finish));
                return 1;
            }
            tg.tps.push_back(static_cast<double>(n_gen) / r->decode_seconds);
        }
    }

    const std::string backend_name = backend.name();
    if (json) {
        std::printf("{\"engine\": \"pagoda\", \"model\": \"%s\", \"arch\": \"%s\", \"backend\": \"%s\", "
                    "\"threads\": %lld, \"n_prompt\": %lld, \"n_gen\": %lld, \"reps\": %lld, "
                    "\"load_seconds\": %.3f",
                    json_escape(path).c_str(), json_escape(config->arch_name).c_str(),
                    json_escape(backend_name).c_str(), threads, n_prompt, n_gen, reps, load_seconds);
        if (n_prompt > 0) std::printf(", \"pp\": %s", json_series(pp).c_str());
        if (n_gen > 0) std::printf(", \"tg\": %s", json_series(tg).c_str());
        std::printf("}\n");
        return 0;
    }
    std::printf("model:   %s (%s, %d layers, dim %d, vocab %d)\n", path.c_str(), config->arch_name.c_str(),
                config->n_layers, config->n_embd, config->n_vocab);
    std::printf("backend: %s, loaded in %.2f s, %lld reps\n\n", backend_name.c_str(), load_seconds, reps);
    std::printf("| %-8s | %12s | %10s |\n", "test", "tokens/s", "stddev");
    std::printf("| %-8s | %12s | %10s |\n", "--------", "------------", "----------");
    if (n_prompt > 0) {
        std::printf("| %-8s | %12.2f | %10.2f |\n", ("pp" + std::to_string(n_prompt)).c_str(), pp.mean(),
                    pp.stddev());
    }
    if (n_gen > 0) {
        std::printf("| %-8s | %12.2f | %10.2f |\n", ("tg" + std::to_string(n_gen)).c_str(), tg.mean(), tg.stddev());
    }
    return 0;
}

}  // namespace pagoda::cli
