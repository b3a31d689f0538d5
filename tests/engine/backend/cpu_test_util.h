// Helpers shared by the CPU backend tests: seeded random data, fp32 tensors in the
// backend's arena, and a StepInputs builder that owns its arrays.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/create_cpu_backend.h"

namespace pagoda::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// An fp32 activation tensor holding `values` ([rows, cols]).
inline Tensor make_tensor(Backend& backend, int64_t rows, int64_t cols, const std::vector<float>& values) {
    Result<Tensor> t = backend.alloc_activations(rows, cols);
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    if (!values.empty()) {
        EXPECT_TRUE(backend.write(t.value(), values.data()).is_ok());
    }
    return t.value();
}

inline std::vector<float> read_tensor(Backend& backend, const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.n_elements()));
    EXPECT_TRUE(backend.read(t, v.data()).is_ok());
    return v;
}

// Owns the arrays a StepInputs points into.
struct StepData {
    std::vector<TokenId> tokens;
    std::vector<int32_t> positions;
    std::vector<int64_t> slot_mapping;
    std::vector<int32_t> query_start{0};
    std::vector<int32_t> context_lens;
    std::vector<int32_t> block_tables;
    int32_t max_blocks_per_seq = 0;
    std::vector<int32_t> logit_rows;

    StepInputs inputs() const {
        StepInputs in;
        in.tokens = tokens;
        in.positions = positions;
        in.slot_mapping = slot_mapping;
        in.query_start = query_start;
        in.context_lens = context_lens;
        in.block_tables = block_tables;
        in.max_blocks_per_seq = max_blocks_per_seq;
        in.logit_rows = logit_rows;
        return in;
    }
};

// A sequence of the paged KV cache: its block table, and the positions [first, last)
// this step computes.
struct SeqSpec {
    std::vector<int32_t> blocks;
    int32_t first = 0;
    int32_t last = 0;  // == context length after the step
};

// Builds a step of the given sequences (block tables padded with -1 to the longest).
inline StepData make_step(const std::vector<SeqSpec>& seqs, int32_t block_size, uint32_t token_seed = 1) {
    StepData d;
    size_t max_blocks = 0;
    for (const SeqSpec& s : seqs) max_blocks = std::max(max_blocks, s.blocks.size());
    d.max_blocks_per_seq = static_cast<int32_t>(max_blocks);
    std::mt19937 rng(token_seed);
    for (const SeqSpec& s : seqs) {
        for (int32_t p = s.first; p < s.last; ++p) {
            d.tokens.push_back(static_cast<TokenId>(rng() % 100));
            d.positions.push_back(p);
            d.slot_mapping.push_back(static_cast<int64_t>(s.blocks[static_cast<size_t>(p / block_size)]) * block_size +
                                     p % block_size);
        }
        d.query_start.push_back(static_cast<int32_t>(d.tokens.size()));
        d.context_lens.push_back(s.last);
        for (size_t b = 0; b < max_blocks; ++b) d.block_tables.push_back(b < s.blocks.size() ? s.blocks[b] : -1);
    }
    for (int32_t i = 0; i < static_cast<int32_t>(d.tokens.size()); ++i) d.logit_rows.push_back(i);
    return d;
}

// A step of n_tokens tokens in one sequence at positions 0..n_tokens-1, for ops that
// only need the token count (embed, rope on small tests); no KV cache needed.
inline StepData simple_step(const std::vector<TokenId>& tokens, const std::vector<int32_t>& positions) {
    StepData d;
    d.tokens = tokens;
    d.positions = positions;
    int32_t ctx = 0;
    for (int32_t p : positions) ctx = std::max(ctx, p + 1);
    d.slot_mapping.assign(tokens.size(), 0);
    d.query_start.push_back(static_cast<int32_t>(tokens.size()));
    d.context_lens.push_back(ctx);
    d.max_blocks_per_seq = 0;
    return d;
}

}  // namespace pagoda::test
