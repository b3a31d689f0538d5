// `pagoda bench --concurrency 1,8,32,...`: serving-style throughput of the real Engine
// (the continuous batching behind `pagoda generate` and `pagoda serve`). For each level N,
// N requests with distinct random prompts are submitted at once; each generates exactly
// n_gen tokens (greedy, EOS ignored). Reports aggregate tokens/s, time to first token,
// time per output token, preemptions and the throughput ratio to the first level.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pagoda::cli {

struct ConcurrencyBenchOptions {
    std::string model_path;
    std::vector<int32_t> levels;   // from parse_concurrency_levels
    int32_t n_prompt = 512;        // prompt tokens per request (>= 1)
    int32_t n_gen = 256;           // output tokens per request (>= 1)
    std::string device = "auto";   // --device
    int32_t threads = 0;           // CPU threads; 0 = physical cores
    int32_t step_tokens = 512;     // the Engine's token budget of one step (--prefill-chunk)
    std::string kv_memory;         // --kv-memory as given ("" = size the pool from the largest level)
    uint64_t seed = 1;             // of the prompts
    bool warmup = true;
    bool json = false;
};

// Runs every level and prints the table (or one JSON object) to stdout; progress and
// notes about the KV pool go to stderr. Returns the exit code: 0 ok, 1 runtime error,
// 2 usage error.
int run_concurrency_bench(const ConcurrencyBenchOptions& options);

}  // namespace pagoda::cli
