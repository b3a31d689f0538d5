// Rows of logits for the GPU sampling checks (CUDA-free, shared by the device cases and
// the emulated kernels): random rows plus the awkward ones: ties, all -inf, NaNs, the
// maximum in the last column, a constant row. And batches of whole sampling requests
// (Backend::sample_rows) checked against the host RowSampler.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "backend/row_sampling.h"
#include "parity_util.h"

namespace pagoda::gpu_parity {

constexpr int32_t kSamplingRows = 8;

// [kSamplingRows, vocab]; vocab >= 64.
std::vector<float> sampling_logits(int64_t vocab, uint64_t seed);
// TokenSampler::argmax of every row.
std::vector<int32_t> reference_argmax(std::span<const float> logits, int64_t vocab);
// softmax(logits / temperature) per row in double; rows without a finite maximum or with
// a NaN are left NaN (the kernels' contract). Returns the row mask of defined rows.
std::vector<float> reference_softmax(std::span<const float> logits, int64_t vocab, float temperature,
                                     std::vector<bool>& defined);

// ---- whole sampling requests (Backend::sample_rows vs RowSampler) -----------------------

// [rows, vocab] (vocab >= 64): random rows (N(0, 3^2)) where rows 1..11 (when present) are
// awkward: sampling_logits' rows 1..6, heavy ties (values in steps of 0.5), a flat row of
// +0 and -0, a peaked row, a row with three candidates, a row with a +inf.
std::vector<float> row_sampling_logits(int64_t vocab, int32_t rows, uint64_t seed);

// Requests over rows of logits, with the storage their bias and penalty spans point into
// (deques: elements never move). Not copyable, since the spans would dangle.
struct RowSamplingBatch {
    RowSamplingBatch() = default;
    RowSamplingBatch(RowSamplingBatch&&) = default;
    RowSamplingBatch(const RowSamplingBatch&) = delete;
    RowSamplingBatch& operator=(const RowSamplingBatch&) = delete;

    int64_t vocab = 0;
    int32_t rows = 0;
    std::vector<float> logits;  // [rows, vocab]
    std::vector<RowSamplingRequest> requests;
    std::vector<std::string> labels;  // per request: "row 3, top_k=40 t=0.8"
    std::deque<std::vector<std::pair<TokenId, float>>> bias;
    std::deque<std::vector<PenaltyEntry>> penalties;
};

// Parameter families: greedy, temperature, top_k, top_p, top_k_top_p, min_p, bias, penalties,
// logprobs, wide (top_k and top_p nuclei beyond kMaxSortedCandidates = 1024), and "all"
// (every family's parameter sets).
const std::vector<std::string>& row_sampling_families();
// Every parameter set of `family` on every row of row_sampling_logits(vocab, rows, seed).
RowSamplingBatch row_sampling_batch(const std::string& family, int64_t vocab, int32_t rows, uint64_t seed);
// `count` requests cycling through every parameter set, request i on row i % rows.
RowSamplingBatch row_sampling_mixed_batch(int64_t vocab, int32_t rows, int32_t count, uint64_t seed);
// The device's results against RowSampler: the same token, log-probabilities within 1e-5,
// the same top ids; needs_host exactly where the device cannot sort enough candidates
// (top_k > 1024, or top_p alone with a nucleus wider than 1024 of more than 1024 candidates).
CaseResult check_row_sampling(const RowSamplingBatch& b, std::span<const RowSamplingResult> got);

}  // namespace pagoda::gpu_parity
