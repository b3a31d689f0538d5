// The ops the transformer forward pass needs, implemented once per device: cpu/ (always
// built) and kernels/ (CUDA). The forward pass (model/transformer.*) is written once
// against this interface, so everything above the ops is shared and the CPU backend is
// the executable specification of the CUDA one.
//
// Memory model: a Backend owns its tensors' storage (host memory for the CPU, device
// memory for CUDA). Activations are fp32 and row-major: a Tensor with rows R and cols C
// holds R rows of C contiguous values. Weights keep their GGUF encoding.
//
// Step model: begin_step() hands over one batch's metadata (tokens of several
// sequences concatenated, positions, KV slots, block tables); every op after it reads
// that metadata, so a CUDA backend uploads it once per step and can replay a graph.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "backend/row_sampling.h"
#include "pagoda/status.h"
#include "pagoda/types.h"

namespace pagoda {

struct Tensor {
    void* data = nullptr;  // backend memory
    GgmlType type = GgmlType::F32;
    int64_t rows = 0;  // outer dimension (GGUF dims[1], or 1 for vectors)
    int64_t cols = 0;  // inner, contiguous dimension (GGUF dims[0])

    int64_t n_elements() const { return rows * cols; }
    // Same storage seen as another row/col split of the same element count; fp32 only.
    Tensor reshaped(int64_t new_rows, int64_t new_cols) const { return {data, type, new_rows, new_cols}; }
    // Rows [first, first + count) of an fp32 tensor.
    Tensor row_slice(int64_t first, int64_t count) const {
        return {static_cast<float*>(data) + first * cols, type, count, cols};
    }
};

// The paged KV cache: per layer, K and V pools of n_blocks blocks, each block holding
// block_size token slots of [n_kv_heads, head_dim]. Slot s of the pool is block
// s / block_size, offset s % block_size. The layout is the same on every backend.
struct KvCacheConfig {
    int32_t n_layers = 0;
    int32_t n_kv_heads = 0;
    int32_t head_dim = 0;
    int32_t block_size = 16;
    int32_t n_blocks = 0;
    GgmlType type = GgmlType::F16;  // F16 (default, as llama.cpp), F32 or Q8_0

    uint64_t bytes_per_block() const;  // K and V of all layers
};

// One forward step's batch, in host memory. Token i belongs to the sequence s with
// query_start[s] <= i < query_start[s+1]; the sequences' tokens are contiguous.
struct StepInputs {
    std::span<const TokenId> tokens;        // [n_tokens]
    std::span<const int32_t> positions;     // [n_tokens] position in its sequence
    std::span<const int64_t> slot_mapping;  // [n_tokens] KV slot this token's K/V is written to
    std::span<const int32_t> query_start;   // [n_seqs + 1]
    std::span<const int32_t> context_lens;  // [n_seqs] tokens in KV after this step, new ones included
    std::span<const int32_t> block_tables;  // [n_seqs, max_blocks_per_seq] block ids, row-major
    int32_t max_blocks_per_seq = 0;
    std::span<const int32_t> logit_rows;    // token indices whose logits the caller wants, in order

    int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
    int32_t n_seqs() const { return static_cast<int32_t>(context_lens.size()); }
};

struct RopeParams {
    int32_t head_dim = 0;
    int32_t n_rot = 0;         // leading dims of each head that rotate (== head_dim for supported archs)
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;   // linear scaling: position * freq_scale
    bool neox = false;         // NeoX (qwen2/qwen3): pairs (i, i + n_rot/2); normal (llama): pairs (2i, 2i+1)
    const Tensor* freq_factors = nullptr;  // [n_rot / 2] divisors of theta (llama3 rope_freqs), or null
};

struct AttentionParams {
    int32_t n_heads = 0;
    int32_t n_kv_heads = 0;  // grouped-query attention: n_heads / n_kv_heads queries share a KV head
    int32_t head_dim = 0;
    float scale = 1.0f;      // usually 1 / sqrt(head_dim)
};

// One LoRA adapter over a run of consecutive rows (a segment, as in S-LoRA/Punica's
// SGMV): rows [first_row, first_row + n_rows) of x and out. Both matrices are backend
// tensors from load_weight (F32 or F16).
struct LoraSegment {
    int32_t first_row = 0;
    int32_t n_rows = 0;
    const Tensor* a = nullptr;  // [rank, in_features]
    const Tensor* b = nullptr;  // [out_features, rank]
    float scale = 1.0f;         // adapter scale (alpha / rank) x the request's scale
};

// Memory of the device a backend computes on (bytes).
struct MemoryInfo {
    uint64_t free_bytes = 0;
    uint64_t total_bytes = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;  // "cpu (8 threads, avx2)", "cuda:0 (NVIDIA H100)"

    // ---- memory -------------------------------------------------------------------
    // A weight tensor [rows, cols] in `type`, copied from (or, on the CPU, aliasing)
    // host_data, which stays valid for the backend's lifetime.
    virtual Result<Tensor> load_weight(GgmlType type, int64_t rows, int64_t cols, const void* host_data) = 0;
    // Gives back a tensor from load_weight before the backend goes (LoRA adapters are
    // loaded and evicted while the engine runs); the caller may then release host_data.
    // The default keeps the memory until the backend is destroyed (right for the CPU,
    // whose weights alias host_data).
    virtual void free_weight(const Tensor& weight) { (void)weight; }
    // An fp32 scratch tensor, owned by the backend until reset_scratch().
    virtual Result<Tensor> alloc_activations(int64_t rows, int64_t cols) = 0;
    virtual void reset_scratch() = 0;
    virtual Status init_kv_cache(const KvCacheConfig& config) = 0;
    // Copy an fp32 tensor to host memory (dst has n_elements floats). Waits for the device.
    virtual Status read(const Tensor& src, float* dst) = 0;
    // Copy host fp32 values into a tensor.
    virtual Status write(Tensor& dst, const float* src) = 0;

    // ---- device memory ---------------------------------------------------------------
    // Free and total memory of the backend's device now (so after the weights and KV
    // cache it holds); nullopt for backends without device memory of their own (the CPU).
    // The engine sizes the KV pool from it: free x a user fraction, less room for activations.
    virtual std::optional<MemoryInfo> device_memory() const { return std::nullopt; }
    // Whether `bytes` more of weights fit, asked before uploading a model, so a model too
    // large fails at once saying what it needs and what is free. Default: always ok.
    virtual Status check_weights_fit(uint64_t bytes) const {
        (void)bytes;
        return Status::ok();
    }

    // ---- step ---------------------------------------------------------------------
    virtual Status begin_step(const StepInputs& inputs) = 0;
    // Returns the first error an op hit since begin_step (ops themselves return void so
    // the forward pass reads like the math).
    virtual Status end_step() = 0;

    // ---- ops (all activations fp32) ------------------------------------------------
    // out[i] = table[tokens[i]] dequantized.                      out: [n_tokens, dim]
    virtual void embed(const Tensor& table, Tensor& out) = 0;
    // out[r] = x[r] / rms(x[r]) * weight, row-wise over cols.     weight: [cols]
    virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
    // x += y (same shape).
    virtual void add(Tensor& x, const Tensor& y) = 0;
    // x[r] += bias for every row.                                  bias: [cols] fp32
    virtual void add_bias(Tensor& x, const Tensor& bias) = 0;
    // out[r][o] = dot(x[r], w[o]).   w: [out_features, in_features] any runnable type;
    // x: [n, in_features]; out: [n, out_features]
    virtual void matmul(const Tensor& w, const Tensor& x, Tensor& out) = 0;
    // Rotates each head of x in place by the token's position.    x: [n_tokens, n_heads * head_dim]
    virtual void rope(Tensor& x, int32_t n_heads, const RopeParams& params) = 0;
    // Stores each token's K and V row into its slot of layer's pools.  k, v: [n_tokens, n_kv_heads * head_dim]
    virtual void kv_write(int32_t layer, const Tensor& k, const Tensor& v) = 0;
    // Causal attention of each token's query over its sequence's KV, through the block
    // table: token i sees KV positions 0..positions[i].  q, out: [n_tokens, n_heads * head_dim]
    virtual void attention(int32_t layer, const Tensor& q, Tensor& out, const AttentionParams& params) = 0;
    // out = silu(gate) * up.                                      [n, ffn]
    virtual void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) = 0;
    // out[j] = x[logit_rows[j]].                                  out: [logit_rows, cols]
    virtual void gather_logit_rows(const Tensor& x, Tensor& out) = 0;

    // ---- LoRA -----------------------------------------------------------------------
    // Backends that can apply adapters say so; the engine refuses adapters elsewhere.
    virtual bool supports_lora() const { return false; }
    // out[r] += scale * (x[r] · Aᵀ) · Bᵀ for every segment holding row r; segments may
    // overlap (a stack of adapters on one request).   x: [n, in]; out: [n, out]
    virtual void lora_add(const Tensor& x, std::span<const LoraSegment> segments, Tensor& out) {}

    // ---- sampling next to the logits (row_sampling.h) -----------------------------------
    // Backends whose logits live in device memory choose tokens there; the engine reads
    // the logits to the host and samples there for the others (sample/row_sampler.h).
    virtual bool supports_device_sampling() const { return false; }
    // results[i] = the token for requests[i], from `logits` ([rows, vocab] f32, from
    // Transformer::forward_device). Waits for the device.
    virtual Status sample_rows(const Tensor& logits, std::span<const RowSamplingRequest> requests,
                               std::span<RowSamplingResult> results) {
        (void)logits, (void)requests, (void)results;
        return unsupported("this backend does not sample on its device");
    }
};

}  // namespace pagoda
