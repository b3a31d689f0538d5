// Launchers of the GPU sampling kernels, kept apart from kernel_launch.h: the standalone
// argmax/softmax ops (sampling.cu) and whole sampling requests (sampling_rows.cu, what
// CudaBackend::sample_rows runs for the engine). Plain C++, so host code and the CUDA
// emulator build against it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace pagoda::cuda {

constexpr int kSamplingThreads = 256;  // one block per row

// ids[r] = the index of the largest logit of row r, lowest index on ties; NaN and -inf
// never win; a row with nothing above -inf gives 0 (as TokenSampler::argmax).
struct ArgmaxRowsArgs {
    const float* logits;  // [rows, vocab]
    int32_t* ids;         // [rows]
    int32_t rows;
    int64_t vocab;  // <= INT32_MAX
};
cudaError_t launch_argmax_rows(const ArgmaxRowsArgs& a, cudaStream_t stream);

// probs[r] = softmax(logits[r] * inv_temperature), in fp32 with the max subtracted.
// -inf logits get probability 0; a row with nothing above -inf (or with a NaN) gives NaN.
struct SoftmaxRowsArgs {
    const float* logits;  // [rows, vocab]
    float* probs;         // [rows, vocab]; may alias logits
    int32_t rows;
    int64_t vocab;
    float inv_temperature;
};
cudaError_t launch_softmax_rows(const SoftmaxRowsArgs& a, cudaStream_t stream);

// ---- whole sampling requests (sampling_rows.cu) -------------------------------------------
// The device side of backend/row_sampling.h: the same steps as the host RowSampler, one
// block per request. Sorting is bounded: top_k above kMaxSortedCandidates, or a top_p
// nucleus not reached within that many sorted candidates, is handed back (needs_host).
constexpr int32_t kMaxSortedCandidates = 1024;
constexpr int32_t kRowSampleMaxTop = 20;  // = kMaxTopLogprobs (checked in cuda_sampling.cpp)

struct RowSampleBias {
    int32_t token;
    float value;
};
struct RowSamplePenalty {
    int32_t token;  // unique within a request's list
    int32_t output_count;
};

struct RowSampleJob {
    const float* raw;    // [vocab] the row as the model produced it (logprobs come from it)
    float* processed;    // [vocab] scratch for the row after bias and penalties; nullptr: none apply
    const RowSampleBias* bias;  // [n_bias], applied in order (duplicates add twice)
    const RowSamplePenalty* penalties;  // [n_penalties]
    double uniform;  // [0, 1): the draw
    int32_t n_bias;
    int32_t n_penalties;
    float temperature;  // <= 0: greedy
    float top_p;
    float min_p;
    float repetition;
    float presence;
    float frequency;
    int32_t top_k;
    int32_t logprobs;      // 1: the chosen token's log-probability
    int32_t top_logprobs;  // 0..kRowSampleMaxTop
};

struct RowSampleResult {
    int32_t token;
    int32_t needs_host;  // 1: nothing else is set; the host samples the row
    float logprob;
    int32_t n_top;
    int32_t top_ids[kRowSampleMaxTop];  // most likely first
    float top_logprobs[kRowSampleMaxTop];
};

struct SampleRowsArgs {
    const RowSampleJob* jobs;  // [n_jobs], device memory
    RowSampleResult* results;  // [n_jobs], device memory
    int32_t n_jobs;
    int64_t vocab;  // <= INT32_MAX
    bool any_processed;  // some job has a `processed` row (else the bias/penalty kernel is skipped)
    bool any_logprobs;   // some job wants log-probabilities
};
// Up to three launches: bias/penalties into the processed rows, the choice, logprobs.
cudaError_t launch_sample_rows(const SampleRowsArgs& a, cudaStream_t stream);

}  // namespace pagoda::cuda
