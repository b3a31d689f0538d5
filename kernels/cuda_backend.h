// The CUDA backend: the Backend ops on one GPU, one stream.
//
// Memory: weights are cudaMalloc'ed and uploaded once (no managed memory); activations
// come from a DeviceArena reset by reset_scratch(); the KV cache is one allocation of
// 2 * n_layers pools [n_blocks * block_size, n_kv_heads * head_dim] in F16, F32 or Q8_0,
// the same layout as the CPU backend's. Per-op temporaries (quantized activations,
// dequantized weight chunks, attention partials) share one workspace: ops run in
// stream order, so each op may reuse all of it.
//
// Step: begin_step() validates the batch like the CPU backend, packs all metadata into
// one pinned buffer and uploads it with a single async copy. Ops launch kernels and
// record the first failure; end_step() waits for the stream and reports it. In a
// decode-only step the ops' launches are recorded instead and end_step() launches them
// as one CUDA graph, replayed while the launches stay byte-identical (cuda_graph_step.h).
//
// The op bodies are split by family: cuda_backend_ops.cpp (row-wise ops, rope, KV,
// attention) and cuda_matmul.cpp.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "create_cuda_backend.h"
#include "cuda_graph_step.h"
#include "device_arena.h"
#include "kernel_launch.h"

namespace pagoda::cuda {

// Kernel arguments with every byte zeroed, padding included: a CUDA graph step is
// replayed only when its launches' argument bytes equal the captured ones.
template <typename A>
A zeroed_args() {
    A a;
    std::memset(static_cast<void*>(&a), 0, sizeof(A));
    return a;
}

// Quantized matmuls with at most this many activation rows take the mmvq kernels (in
// groups of kMmvqMaxCols rows, each group reading the weight once); wider ones cuBLAS.
constexpr int kSmallBatchMaxCols = 32;

// Knobs for tests and benchmarks that want a particular kernel path.
struct CudaDebugOptions {
    int mmvq_max_cols = kSmallBatchMaxCols;  // matmuls with more activation rows go through cuBLAS (0: always)
    bool force_decode_attention = false;     // decode kernel for every token, even in prefill
    bool force_prefill_attention = false;    // tiled kernel for every step, even pure decode
    int attention_split_len = 0;             // > 0: fixed keys per split (multiple of 64)
};

class CudaBackend final : public Backend {
public:
    // Use create_cuda_backend(); init() does the fallible part.
    explicit CudaBackend(CudaDeviceInfo info);
    ~CudaBackend() override;
    Status init();

    std::string name() const override;

    Result<Tensor> load_weight(GgmlType type, int64_t rows, int64_t cols, const void* host_data) override;
    // Frees a weight of this backend (LoRA adapters come and go); unknown pointers are ignored.
    void free_weight(const Tensor& weight) override;
    Result<Tensor> alloc_activations(int64_t rows, int64_t cols) override;
    void reset_scratch() override;
    Status init_kv_cache(const KvCacheConfig& config) override;
    Status read(const Tensor& src, float* dst) override;
    Status write(Tensor& dst, const float* src) override;
    // cudaMemGetInfo of this device (cuda_memory_info.cpp).
    std::optional<MemoryInfo> device_memory() const override;
    Status check_weights_fit(uint64_t bytes) const override;

    Status begin_step(const StepInputs& inputs) override;
    Status end_step() override;

    void embed(const Tensor& table, Tensor& out) override;
    void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
    void add(Tensor& x, const Tensor& y) override;
    void add_bias(Tensor& x, const Tensor& bias) override;
    void matmul(const Tensor& w, const Tensor& x, Tensor& out) override;
    void rope(Tensor& x, int32_t n_heads, const RopeParams& params) override;
    void kv_write(int32_t layer, const Tensor& k, const Tensor& v) override;
    void attention(int32_t layer, const Tensor& q, Tensor& out, const AttentionParams& params) override;
    void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) override;
    void gather_logit_rows(const Tensor& x, Tensor& out) override;

    // LoRA (cuda_lora.cpp, kernels/lora.cu): A and B in F32 or F16.
    bool supports_lora() const override { return true; }
    void lora_add(const Tensor& x, std::span<const LoraSegment> segments, Tensor& out) override;

    // ---- GPU sampling (cuda_sampling.cpp) ---------------------------------------------------
    // ids[r] = argmax of logits row r: lowest id on ties, 0 when nothing is above -inf
    // (as TokenSampler::argmax). Waits for the device.
    Status argmax_rows(const Tensor& logits, std::span<int32_t> ids);
    // probs = softmax(logits / temperature) per row; an op (failures come from end_step).
    void softmax_rows(const Tensor& logits, float temperature, Tensor& probs);
    // Token choice next to the logits (backend/row_sampling.h, kernels/sampling_rows.cu):
    // one upload of the requests, one download of ids and log-probabilities. On unless
    // PAGODA_DEVICE_SAMPLING=0 is in the environment (then the engine samples on the host).
    bool supports_device_sampling() const override;
    Status sample_rows(const Tensor& logits, std::span<const RowSamplingRequest> requests,
                       std::span<RowSamplingResult> results) override;

    // ---- beyond the Backend interface (benchmarks, tests) --------------------------------
    // A weight of `type` filled on the GPU with seeded random blocks (values ~ +-scale).
    Result<Tensor> alloc_random_weight(GgmlType type, int64_t rows, int64_t cols, uint64_t seed, float scale);
    const CudaDeviceInfo& device_info() const { return info_; }
    cudaStream_t stream() const { return stream_; }
    void set_debug_options(const CudaDebugOptions& options) { debug_ = options; }
    // CUDA graphs for decode steps (only with PAGODA_CUDA_GRAPHS=1); see cuda_graph_step.h.
    void set_graphs_enabled(bool enabled) { graphs_.set_enabled(enabled); }
    bool graphs_enabled() const { return graphs_.enabled(); }
    const GraphStats& graph_stats() const { return graphs_.stats(); }
    uint64_t weight_bytes() const { return weight_bytes_; }
    // Frees every weight (test harnesses that load many); their Tensors become invalid.
    void release_weights();

private:
    // Host copy of the step plus device pointers into the uploaded metadata.
    struct Step {
        bool valid = false;
        bool kv_checked = false;  // slots and block tables were validated against the KV cache
        int32_t n_tokens = 0;
        int32_t n_seqs = 0;
        int32_t max_blocks_per_seq = 0;
        int32_t n_logit_rows = 0;
        int32_t max_query_len = 0;
        int32_t max_context = 0;  // largest positions[i] + 1
        std::vector<int32_t> tokens;
        std::vector<PrefillTile> tiles;
        // Device copies: [n_tokens], [n_tokens], [n_tokens], [n_seqs, max_blocks], [n_logit_rows], [n_tokens], tiles.
        const int32_t* d_tokens = nullptr;
        const int32_t* d_positions = nullptr;
        const int64_t* d_slots = nullptr;
        const int32_t* d_block_tables = nullptr;
        const int32_t* d_logit_rows = nullptr;
        const int32_t* d_token_seq = nullptr;
        const PrefillTile* d_tiles = nullptr;
    };

    // The CUDA runtime's current device is per host thread: entry points that may run on
    // another thread than the one that created the backend select it first.
    void bind_device() const { cudaSetDevice(info_.index); }
    Status upload_step(const StepInputs& in);

    // First failure since the last end_step; ops return early once one is recorded.
    void fail(Status status);
    // For ops that launch directly on the stream: first launches what a graph step
    // recorded so far (see enqueue), so nothing overtakes it.
    bool failed() {
        flush_recorded();
        return !step_error_.is_ok();
    }
    // For ops whose launches all go through enqueue().
    bool op_failed() const { return !step_error_.is_ok(); }
    // Launches the recorded part of a graph step eagerly; the rest of the step runs eagerly.
    void flush_recorded();
    // max_context as attention plans it: rounded up to 256 keys while recording a graph,
    // so the split plan (baked into the graph) changes every 256 tokens, not every token.
    int32_t plan_context() const {
        return graphs_.recording() ? (step_.max_context + 255) / 256 * 256 : step_.max_context;
    }
    // Records a failed launch; true when err is cudaSuccess.
    bool launched(cudaError_t err, const char* op);
    bool check_f32(const char* op, const char* what, const Tensor& t, int64_t rows, int64_t cols);
    bool check_vector(const char* op, const char* what, const Tensor& t, int64_t n);
    bool check_step(const char* op);
    bool check_kv(const char* op, int32_t layer);
    // Per-op scratch of at least `bytes` (contents undefined); nullptr after recording a failure.
    void* workspace(size_t bytes, const char* op);

    void matmul_mmvq(const Tensor& w, const Tensor& x, Tensor& out);
    void matmul_gemv(const Tensor& w, const Tensor& x, Tensor& out);
    void launch_gemv_batches(GemvArgs a, size_t x_row_bytes);
    void matmul_cublas(const Tensor& w, const Tensor& x, Tensor& out);

    // Launches `fn(args, stream_)` now, or records it for the step's CUDA graph
    // (cuda_graph_step.cpp); false after recording a failure. Args: trivially copyable.
    template <typename A>
    bool enqueue(cudaError_t (*fn)(const A&, cudaStream_t), const A& args, const char* op) {
        if (graphs_.recording()) {
            ++launch_epoch_;
            graphs_.record(fn, args, op);
            return true;
        }
        return launched(fn(args, stream_), op);
    }
    // `buffer` grown to at least `bytes` (contents undefined); nullptr after recording a failure.
    void* device_buffer(DeviceBuffer& buffer, size_t bytes, const char* op);

    CudaDeviceInfo info_;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    CudaDebugOptions debug_;

    std::vector<void*> weights_;
    uint64_t weight_bytes_ = 0;
    DeviceArena arena_;
    DeviceBuffer workspace_;

    KvCacheConfig kv_config_;
    bool kv_ready_ = false;
    void* kv_memory_ = nullptr;
    size_t kv_pool_bytes_ = 0;  // one pool (K or V of one layer)
    int64_t kv_slots_ = 0;
    void* k_pool(int32_t layer) const { return static_cast<char*>(kv_memory_) + (2 * layer) * kv_pool_bytes_; }
    void* v_pool(int32_t layer) const { return static_cast<char*>(kv_memory_) + (2 * layer + 1) * kv_pool_bytes_; }

    // Bumped by every launch and host write: quantized activations (act_q8_) stay valid
    // for the next matmul on the same x only while it is unchanged.
    uint64_t launch_epoch_ = 0;
    struct Q8Cache {
        const void* src = nullptr;  // x the activations were quantized from
        int64_t rows = 0;
        int64_t cols = 0;
        void* acts = nullptr;  // [rows, cols / 32] BlockQ8x32 in act_q8_
        uint64_t epoch = ~uint64_t{0};
    };
    Q8Cache q8_cache_;
    DeviceBuffer act_q8_;
    StepGraphs graphs_;
    DeviceBuffer cublas_workspace_;

    Step step_;
    Status step_error_;
    PinnedBuffer step_host_;
    DeviceBuffer step_device_;
    PinnedBuffer staging_;  // read() / write()
};

}  // namespace pagoda::cuda
