// Pieces of the parity checks that need no CUDA header: results, seeded data, the
// normalized-MSE comparison (shared with the host emulation check of the kernels).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "pagoda/types.h"

namespace pagoda::gpu_parity {

struct CaseResult {
    enum class Outcome { pass, fail, skip };
    Outcome outcome = Outcome::fail;
    std::string detail;  // "nmse 3.1e-09 <= 1e-07", or what went wrong

    static CaseResult pass(std::string d) { return {Outcome::pass, std::move(d)}; }
    static CaseResult fail(std::string d) { return {Outcome::fail, std::move(d)}; }
    static CaseResult skip(std::string d) { return {Outcome::skip, std::move(d)}; }
};

// Deterministic N(0, stddev^2) samples (splitmix64 + Box-Muller): same values everywhere.
std::vector<float> random_normal(size_t n, uint64_t seed, float stddev = 1.0f);
// A [rows, cols] weight encoded in `type` (quantize_row of random normals).
std::vector<uint8_t> random_weight(GgmlType type, int64_t rows, int64_t cols, uint64_t seed, float stddev = 0.05f);

// Compares a GPU result with the CPU reference.
CaseResult compare(std::span<const float> gpu, std::span<const float> cpu, double threshold);

// One step's batch: sequences with `cached` tokens already in the KV cache and `n_new`
// tokens in this step. Each sequence gets its blocks from a seeded shuffle of the pool,
// so block tables are non-contiguous and out of order.
struct SeqSpec {
    int32_t cached = 0;
    int32_t n_new = 1;
};

class StepBuilder {
public:
    StepBuilder(std::vector<SeqSpec> seqs, int32_t block_size, int32_t n_blocks, int32_t vocab, uint64_t seed);
    StepInputs inputs() const;
    // The step that wrote the cached tokens: the same sequences and block tables with
    // n_new = cached (sequences without history are left out).
    StepBuilder history() const;
    int32_t n_tokens() const { return static_cast<int32_t>(tokens_.size()); }
    bool empty() const { return tokens_.empty(); }

private:
    StepBuilder() = default;
    void fill(const std::vector<SeqSpec>& seqs, int32_t vocab, uint64_t seed);

    std::vector<SeqSpec> seqs_;
    int32_t block_size_ = 16;
    int32_t max_blocks_ = 0;
    std::vector<std::vector<int32_t>> tables_;  // per sequence
    std::vector<TokenId> tokens_;
    std::vector<int32_t> positions_;
    std::vector<int64_t> slots_;
    std::vector<int32_t> query_start_;
    std::vector<int32_t> context_lens_;
    std::vector<int32_t> block_tables_;
    std::vector<int32_t> logit_rows_;
};

}  // namespace pagoda::gpu_parity
