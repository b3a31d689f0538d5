#include "bench_concurrency.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend_factory.h"
#include "bench_levels.h"
#include "model/model.h"
#include "pagoda/engine.h"
#include "size_option.h"

namespace pagoda::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int32_t kBlockSize = 16;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Counts the unfinished requests of one level; the main thread waits for zero.
class LevelTracker {
public:
    explicit LevelTracker(int32_t n) : remaining_(n) {}
    void done() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            --remaining_;
        }
        cv_.notify_all();
    }
    // True once every request finished; false after `timeout` with some still running.
    bool wait_for(std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return remaining_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int32_t remaining_;
};

// Timestamps one request's tokens on the engine thread (copying nothing else, so the
// sink never slows the step down). The main thread reads the fields only after
// LevelTracker saw every on_finish, which orders them after the writes.
class TimingSink : public Sink {
public:
    explicit TimingSink(std::shared_ptr<LevelTracker> tracker) : tracker_(std::move(tracker)) {}
    void on_delta(const RequestDelta& delta) override {
        int64_t n = 0;
        for (const SampleDelta& s : delta.samples) n += static_cast<int64_t>(s.token_ids.size());
        if (n == 0) return;
        const auto now = Clock::now();
        if (!first_token) first_token = now;
        last_token = now;
        tokens += n;
    }
    void on_finish(const RequestFinish& f) override {
        finished_at = Clock::now();
        finish = f;
        tracker_->done();
    }

    Clock::time_point submitted;
    std::optional<Clock::time_point> first_token;
    Clock::time_point last_token;
    Clock::time_point finished_at;
    int64_t tokens = 0;
    RequestFinish finish;

private:
    // Shared: after an early return the engine may still finish (cancel) queued requests.
    std::shared_ptr<LevelTracker> tracker_;
};

struct LevelResult {
    int32_t concurrency = 0;
    double wall_s = 0;
    int64_t prompt_tokens = 0;
    int64_t output_tokens = 0;
    int64_t prompt_tokens_computed = 0;  // prefill run through the model, recomputation after preemption included
    int64_t preemptions = 0;
    int32_t peak_decoding = 0;           // most requests between first and last token at once (preempted count)
    double ttft_mean_s = 0, ttft_p50_s = 0, ttft_p99_s = 0;
    double tpot_mean_s = 0;              // per output token after the first, mean over requests
    double output_tps() const { return wall_s > 0 ? static_cast<double>(output_tokens) / wall_s : 0.0; }
    double total_tps() const {
        return wall_s > 0 ? static_cast<double>(prompt_tokens + output_tokens) / wall_s : 0.0;
    }
};

// The most requests whose [first token, last token] intervals overlap: how many really
// decoded together (fewer than the level when the KV pool or the step budget limits it).
int32_t peak_overlap(const std::vector<std::shared_ptr<TimingSink>>& sinks) {
    std::vector<std::pair<Clock::time_point, int32_t>> events;  // +1 at the first token, -1 after the last
    for (const auto& s : sinks) {
        if (!s->first_token) continue;
        events.emplace_back(*s->first_token, 1);
        events.emplace_back(s->last_token, -1);
    }
    // At equal times starts come first, so a request whose only token is at that instant counts.
    std::sort(events.begin(), events.end(),
              [](const auto& a, const auto& b) {
                  return a.first != b.first ? a.first < b.first : a.second > b.second;
              });
    int32_t now = 0, peak = 0;
    for (const auto& e : events) {
        now += e.second;
        peak = std::max(peak, now);
    }
    return peak;
}

// Distinct prompts: ids drawn uniformly from the vocabulary, past the first three
// (unk/bos/eos in SentencePiece vocabularies), from one generator for the whole run.
std::vector<TokenId> random_prompt(std::mt19937_64& rng, int32_t n, int32_t n_vocab) {
    const int32_t first = n_vocab > 3 ? 3 : 0;
    std::uniform_int_distribution<int32_t> dist(first, n_vocab - 1);
    std::vector<TokenId> ids(static_cast<size_t>(n));
    for (TokenId& t : ids) t = dist(rng);
    return ids;
}

SamplingParams bench_sampling(int32_t max_tokens) {
    SamplingParams sp;
    sp.temperature = 0.0f;  // greedy: no sampling cost beyond argmax
    sp.max_tokens = max_tokens;
    sp.ignore_eos = true;   // every request generates exactly max_tokens
    sp.seed = 1;
    return sp;
}

int fail(const std::string& msg) {
    std::fprintf(stderr, "pagoda bench: %s\n", msg.c_str());
    return 1;
}

// Submits `n` requests at once and waits for all; returns "" or an error message.
std::string run_level(Engine& engine, std::mt19937_64& rng, int32_t n, const ConcurrencyBenchOptions& o,
                      int32_t n_vocab, LevelResult& out) {
    std::vector<std::vector<TokenId>> prompts;
    prompts.reserve(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) prompts.push_back(random_prompt(rng, o.n_prompt, n_vocab));
    const EngineStats before = engine.stats();
    auto tracker = std::make_shared<LevelTracker>(n);
    std::vector<std::shared_ptr<TimingSink>> sinks;
    sinks.reserve(static_cast<size_t>(n));
    const auto start = Clock::now();
    for (int32_t i = 0; i < n; ++i) {
        Request r;
        r.prompt = std::move(prompts[static_cast<size_t>(i)]);
        r.sampling = bench_sampling(o.n_gen);
        auto sink = std::make_shared<TimingSink>(tracker);
        sink->submitted = Clock::now();
        auto id = engine.submit(std::move(r), sink);
        if (!id) {
            // Those already queued finish as cancelled when the engine goes.
            return "request " + std::to_string(i + 1) + " of " + std::to_string(n) + ": " + id.status().to_string();
        }
        sinks.push_back(std::move(sink));
    }
    while (!tracker->wait_for(std::chrono::milliseconds(1000))) {
    }
    engine.wait_idle();  // so the stats include the last step
    const EngineStats after = engine.stats();

    out = LevelResult{};
    out.concurrency = n;
    out.preemptions = after.preemptions - before.preemptions;
    out.prompt_tokens_computed = after.prompt_tokens_computed - before.prompt_tokens_computed;
    Clock::time_point end = start;
    std::vector<double> ttft, tpot;
    for (const auto& s : sinks) {
        const RequestFinish& f = s->finish;
        if (f.reason == FinishReason::error || f.reason == FinishReason::cancelled)
            return std::string("a request ended with ") + finish_reason_name(f.reason) +
                   (f.message.empty() ? "" : ": " + f.message);
        if (f.usage.completion_tokens != o.n_gen || !s->first_token)
            return "a request stopped after " + std::to_string(f.usage.completion_tokens) + " of " +
                   std::to_string(o.n_gen) + " tokens (" + finish_reason_name(f.reason) + ")";
        end = std::max(end, s->finished_at);
        out.prompt_tokens += f.usage.prompt_tokens;
        out.output_tokens += f.usage.completion_tokens;
        ttft.push_back(seconds(s->submitted, *s->first_token));
        if (s->tokens > 1) tpot.push_back(seconds(*s->first_token, s->last_token) / static_cast<double>(s->tokens - 1));
    }
    out.peak_decoding = peak_overlap(sinks);
    out.wall_s = seconds(start, end);
    out.ttft_mean_s = mean(ttft);
    out.ttft_p50_s = percentile(ttft, 50);
    out.ttft_p99_s = percentile(ttft, 99);
    out.tpot_mean_s = mean(tpot);
    return "";
}

}  // namespace

int run_concurrency_bench(const ConcurrencyBenchOptions& o) {
    if (o.levels.empty() || o.n_prompt < 1 || o.n_gen < 1) {
        std::fprintf(stderr, "error: --concurrency needs at least one level, -p >= 1 and -n >= 1\n");
        return 2;
    }
    KvMemory kv_memory;
    if (!o.kv_memory.empty() && !parse_kv_memory(o.kv_memory, kv_memory)) {
        std::fprintf(stderr, "error: --kv-memory expects a size such as 512M or 2G, or a fraction such as 0.9\n");
        return 2;
    }
    const int32_t max_level = *std::max_element(o.levels.begin(), o.levels.end());
    const int64_t request_tokens = int64_t{o.n_prompt} + o.n_gen;
    if (request_tokens > std::numeric_limits<int32_t>::max() / 2) {
        std::fprintf(stderr, "error: -p plus -n is too large\n");
        return 2;
    }

    const auto load_start = Clock::now();
    auto device = create_backend(o.device, o.threads);
    if (!device) return fail(device.status().to_string());
    const bool device_memory = device->backend->device_memory().has_value();
    auto loaded = Model::load(o.model_path, *device->backend);
    if (!loaded) return fail(loaded.status().to_string());
    const ModelConfig cfg = loaded.value()->config();
    if (cfg.n_ctx_train < request_tokens)
        return fail("the model's context is " + std::to_string(cfg.n_ctx_train) + " tokens, shorter than -p " +
                    std::to_string(o.n_prompt) + " plus -n " + std::to_string(o.n_gen) + " = " +
                    std::to_string(request_tokens) + "; lower -p or -n");
    if (cfg.n_vocab < 1) return fail("the model has no vocabulary");
    const uint64_t block_bytes =
        loaded.value()->transformer().kv_cache_config(1, GgmlType::F16, kBlockSize).bytes_per_block();
    const int64_t blocks_per_request = (request_tokens + kBlockSize - 1) / kBlockSize;

    EngineConfig ec;
    ec.max_model_len = static_cast<int32_t>(request_tokens);
    ec.max_num_seqs = max_level;
    ec.max_num_batched_tokens = o.step_tokens;
    ec.block_size = kBlockSize;
    ec.kv_type = GgmlType::F16;
    ec.enable_prefix_caching = false;  // distinct prompts anyway; no lookups, no cached blocks kept
    ec.seed = o.seed;
    bool sized_from_levels = false;
    if (kv_memory.fraction > 0 && !device_memory)
        std::fprintf(stderr, "pagoda bench: --kv-memory %s is a fraction of GPU memory; on the CPU the pool holds "
                             "the largest level\n", o.kv_memory.c_str());
    if (kv_memory.bytes > 0 || (kv_memory.fraction > 0 && device_memory)) {
        apply_kv_memory(kv_memory, ec);
    } else {
        const int64_t blocks = blocks_per_request * max_level;
        if (blocks > std::numeric_limits<int32_t>::max() / kBlockSize)
            return fail("a KV pool for " + std::to_string(max_level) + " x " + std::to_string(request_tokens) +
                        " tokens is too large; give --kv-memory");
        ec.kv_blocks = static_cast<int32_t>(blocks);
        sized_from_levels = true;
    }
    auto engine_r = Engine::create(std::move(device->backend), std::move(loaded.value()), ec);
    if (!engine_r) {
        std::string msg = engine_r.status().to_string();
        if (sized_from_levels)
            msg += " (the KV pool for " + std::to_string(max_level) + " requests of " + std::to_string(request_tokens) +
                   " tokens needs " + std::to_string((static_cast<uint64_t>(ec.kv_blocks) * block_bytes) >> 20) +
                   " MiB; give --kv-memory to use less)";
        return fail(msg);
    }
    Engine& engine = *engine_r.value();
    const double load_s = seconds(load_start, Clock::now());
    const EngineStats pool = engine.stats();
    const int64_t pool_tokens = int64_t{pool.kv_blocks_total} * pool.block_size;
    const int64_t fit = pool.kv_blocks_total / blocks_per_request;  // whole requests the pool holds at once
    if (fit < 1)
        return fail("the KV pool holds " + std::to_string(pool_tokens) + " tokens, fewer than one request's " +
                    std::to_string(request_tokens) + "; raise --kv-memory");
    if (fit < max_level)
        std::fprintf(stderr,
                     "pagoda bench: the KV pool holds %lld tokens = %lld requests of %lld tokens; levels above %lld "
                     "run at most that many at once (the rest wait, or preempt)\n",
                     static_cast<long long>(pool_tokens), static_cast<long long>(fit),
                     static_cast<long long>(request_tokens), static_cast<long long>(fit));

    std::mt19937_64 rng(o.seed);
    if (o.warmup) {
        auto tracker = std::make_shared<LevelTracker>(1);
        auto sink = std::make_shared<TimingSink>(tracker);
        Request r;
        r.prompt = random_prompt(rng, std::min(o.n_prompt, 16), cfg.n_vocab);
        r.sampling = bench_sampling(2);
        auto id = engine.submit(std::move(r), sink);
        if (!id) return fail("warm-up: " + id.status().to_string());
        while (!tracker->wait_for(std::chrono::milliseconds(1000))) {
        }
        if (sink->finish.reason == FinishReason::error) return fail("warm-up: " + sink->finish.message);
    }

    std::vector<LevelResult> results;
    for (int32_t n : o.levels) {
        LevelResult r;
        const std::string err = run_level(engine, rng, n, o, cfg.n_vocab, r);
        if (!err.empty()) return fail("concurrency " + std::to_string(n) + ": " + err);
        std::fprintf(stderr, "pagoda bench: concurrency %d: %lld output tokens in %.2f s\n", n,
                     static_cast<long long>(r.output_tokens), r.wall_s);
        results.push_back(r);
    }
    const double base_tps = results.front().output_tps();
    auto ratio = [&](const LevelResult& r) { return base_tps > 0 ? r.output_tps() / base_tps : 0.0; };

    const std::string backend_name = engine.backend_name();
    if (o.json) {
        nlohmann::json j;
        j["engine"] = "pagoda";
        j["mode"] = "concurrency";
        j["model"] = o.model_path;
        j["arch"] = cfg.arch_name;
        j["backend"] = backend_name;
        j["threads"] = o.threads;
        j["n_prompt"] = o.n_prompt;
        j["n_gen"] = o.n_gen;
        j["step_tokens"] = o.step_tokens;
        j["kv_blocks"] = pool.kv_blocks_total;
        j["kv_tokens"] = pool_tokens;
        j["kv_bytes"] = static_cast<uint64_t>(pool.kv_blocks_total) * block_bytes;
        j["kv_requests_fit"] = fit;
        j["prefix_cache"] = false;
        j["load_seconds"] = load_s;
        nlohmann::json levels = nlohmann::json::array();
        for (const LevelResult& r : results) {
            levels.push_back({
                {"concurrency", r.concurrency},
                {"requests", r.concurrency},
                {"wall_seconds", r.wall_s},
                {"prompt_tokens", r.prompt_tokens},
                {"output_tokens", r.output_tokens},
                {"prompt_tokens_computed", r.prompt_tokens_computed},
                {"output_tokens_per_second", r.output_tps()},
                {"total_tokens_per_second", r.total_tps()},
                {"ttft_mean_ms", r.ttft_mean_s * 1e3},
                {"ttft_p50_ms", r.ttft_p50_s * 1e3},
                {"ttft_p99_ms", r.ttft_p99_s * 1e3},
                {"tpot_mean_ms", r.tpot_mean_s * 1e3},
                {"preemptions", r.preemptions},
                {"peak_decoding", r.peak_decoding},
                {"throughput_ratio", ratio(r)},
            });
        }
        j["levels"] = std::move(levels);
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    std::printf("model:   %s (%s, %d layers, dim %d, vocab %d)\n", o.model_path.c_str(), cfg.arch_name.c_str(),
                cfg.n_layers, cfg.n_embd, cfg.n_vocab);
    std::printf("backend: %s, loaded in %.2f s; prompt %d + output %d tokens per request, greedy, step budget %d\n",
                backend_name.c_str(), load_s, o.n_prompt, o.n_gen, o.step_tokens);
    std::printf("KV pool: %lld tokens (%.1f MiB f16) = %lld requests at once; prefix cache off\n\n",
                static_cast<long long>(pool_tokens),
                static_cast<double>(static_cast<uint64_t>(pool.kv_blocks_total) * block_bytes) / (1024.0 * 1024.0),
                static_cast<long long>(fit));
    std::printf("| %5s | %8s | %10s | %10s | %10s | %10s | %10s | %9s | %6s | %7s | %7s |\n", "conc", "wall s",
                "out tok/s", "all tok/s", "TTFT mean", "TTFT p50", "TTFT p99", "TPOT", "peak", "preempt", "ratio");
    std::printf("| %5s | %8s | %10s | %10s | %10s | %10s | %10s | %9s | %6s | %7s | %7s |\n", "----:", "-------:",
                "---------:", "---------:", "---------:", "---------:", "---------:", "--------:", "-----:", "------:",
                "------:");
    for (const LevelResult& r : results) {
        std::printf("| %5d | %8.3f | %10.1f | %10.1f | %7.1f ms | %7.1f ms | %7.1f ms | %6.2f ms | %6d | %7lld "
                    "| %6.2fx |\n",
                    r.concurrency, r.wall_s, r.output_tps(), r.total_tps(), r.ttft_mean_s * 1e3, r.ttft_p50_s * 1e3,
                    r.ttft_p99_s * 1e3, r.tpot_mean_s * 1e3, r.peak_decoding, static_cast<long long>(r.preemptions),
                    ratio(r));
    }
    std::printf("\nTTFT: submit to first token per request; TPOT: time per output token after the first (mean);\n"
                "peak: most requests between their first and last token at once (preempted ones count);\n"
                "ratio: output tok/s over the first level's.\n");
    return 0;
}

}  // namespace pagoda::cli
