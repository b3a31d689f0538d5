// The CPU backend: the executable specification of every op, and a multi-threaded SIMD
// implementation fast enough to serve. Weights alias the GGUF mmap; activations live in
// a bump arena; the KV cache uses the same paged layout as the CUDA backend.
//
// The op bodies are split by family: cpu_elementwise.cpp (embed, rms_norm, add,
// add_bias, silu_mul, gather_logit_rows), cpu_matmul.cpp, cpu_rope.cpp, cpu_attention.cpp,
// cpu_lora.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_kv_cache.h"
#include "backend/cpu/scratch_arena.h"
#include "backend/cpu/thread_pool.h"

namespace pagoda::cpu {

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int n_threads);  // n_threads <= 0: physical cores

    std::string name() const override;

    Result<Tensor> load_weight(GgmlType type, int64_t rows, int64_t cols, const void* host_data) override;
    // Weights alias host memory; only the LoRA B transposes cached for it are dropped.
    void free_weight(const Tensor& weight) override;
    Result<Tensor> alloc_activations(int64_t rows, int64_t cols) override;
    void reset_scratch() override;
    Status init_kv_cache(const KvCacheConfig& config) override;
    Status read(const Tensor& src, float* dst) override;
    Status write(Tensor& dst, const float* src) override;

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

    // LoRA (cpu_lora.cpp): F32 and F16 A/B, segments of consecutive rows.
    bool supports_lora() const override { return true; }
    void lora_add(const Tensor& x, std::span<const LoraSegment> segments, Tensor& out) override;

    int n_threads() const { return pool_.size(); }

private:
    // This step's inputs, copied out of the caller's spans by begin_step().
    struct Step {
        bool valid = false;
        std::vector<TokenId> tokens;
        std::vector<int32_t> positions;
        std::vector<int64_t> slot_mapping;
        std::vector<int32_t> query_start;
        std::vector<int32_t> context_lens;
        std::vector<int32_t> block_tables;
        int32_t max_blocks_per_seq = 0;
        std::vector<int32_t> logit_rows;
        std::vector<int32_t> seq_of_token;  // [n_tokens] index of each token's sequence

        int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
        const int32_t* block_table(int32_t seq) const {
            return block_tables.data() + static_cast<int64_t>(seq) * max_blocks_per_seq;
        }
    };

    // cos/sin of every (token, rotated pair) for one step and one set of rope parameters.
    struct RopeTable {
        uint64_t step_id = 0;
        int32_t n_rot = 0;
        float freq_base = 0.0f;
        float freq_scale = 0.0f;
        const void* factors_data = nullptr;
        std::vector<float> cos_sin;  // [n_tokens, n_rot / 2, 2]
    };


    // Records the first failure of this step; ops return early once one is recorded.
    void fail(Status status);
    bool failed() const { return !step_error_.is_ok(); }
    // Checks that t is a usable fp32 tensor of the given shape (-1: any); records a failure if not.
    bool check_f32(const char* op, const char* what, const Tensor& t, int64_t rows, int64_t cols);
    bool check_step(const char* op);
    bool check_kv(const char* op, int32_t layer);
    // fp32 copy of a small vector operand (norm weight, bias, rope factors) of n values.
    const float* as_f32_vector(const char* op, const char* what, const Tensor& t, int64_t n,
                               std::vector<float>& storage);

    ThreadPool pool_;
    ScratchArena arena_;
    KvCache kv_;
    Step step_;
    uint64_t step_id_ = 0;  // counts begin_step calls, so per-step caches know when they are stale
    Status step_error_;
    RopeTable rope_table_;

    // Per-op scratch, grown on demand and reused: the quantized activations of matmul,
    // and one buffer per thread for attention and rope.
    AlignedBuffer matmul_act_;
    std::vector<AlignedBuffer> thread_scratch_;
    AlignedBuffer attention_partials_;
    AlignedBuffer lora_tmp_;  // lora_add: every segment's x · Aᵀ, [rows of the segment, rank] each
    // lora_add: each adapter B [out, rank] kept as fp32 Bᵀ [rank, out], so the expand pass
    // is contiguous multiply-adds along the output row. Keyed by B's data; free_weight drops
    // it, and a fingerprint (shape, type, a few values) catches memory reused without it.
    struct TransposedB {
        uint64_t fingerprint = 0;
        std::vector<float> values;
    };
    std::unordered_map<const void*, TransposedB> lora_bt_;
    const float* lora_b_transposed(const Tensor& b);
};

}  // namespace pagoda::cpu
