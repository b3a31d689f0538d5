// Arguments and launchers of every CUDA kernel: `launch_xxx(const XxxArgs&, cudaStream_t)`
// returns the launch's cudaError_t. Plain C++ (no device code), so the host-side backend
// (.cpp) drives the kernels without being compiled by nvcc. Shapes are given per field;
// activations are fp32 row-major unless stated. One .cu per op family implements them.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "pagoda/types.h"

namespace pagoda::cuda {

// ---- dequant.cu -----------------------------------------------------------------
struct EmbedArgs {
    GgmlType type;
    const void* table;  // [vocab, dim] in `type`
    int64_t row_bytes;
    const int32_t* tokens;  // [n_tokens], validated < vocab on the host
    float* out;             // [n_tokens, dim]
    int32_t n_tokens;
    int64_t dim;
};
cudaError_t launch_embed(const EmbedArgs& a, cudaStream_t stream);

// Rows [0, rows) of a weight, decoded to F16 (the operand of the large-batch cuBLAS path).
struct DequantizeF16Args {
    GgmlType type;
    const void* src;  // [rows, cols] in `type`
    int64_t row_bytes;
    uint16_t* dst;  // [rows, cols] f16
    int64_t rows;
    int64_t cols;
};
cudaError_t launch_dequantize_f16(const DequantizeF16Args& a, cudaStream_t stream);

bool dequant_supported(GgmlType type);

// ---- elementwise.cu ---------------------------------------------------------------
struct RmsNormArgs {
    const float* x;      // [rows, cols]
    const void* weight;  // [cols] F32, F16 or BF16
    GgmlType weight_type;
    float* out;  // [rows, cols]; may alias x
    int64_t rows;
    int64_t cols;
    float eps;
};
cudaError_t launch_rms_norm(const RmsNormArgs& a, cudaStream_t stream);

struct AddArgs {
    float* x;        // [n]
    const float* y;  // [n]
    int64_t n;
};
cudaError_t launch_add(const AddArgs& a, cudaStream_t stream);

struct AddBiasArgs {
    float* x;          // [rows, cols]
    const void* bias;  // [cols] F32, F16 or BF16
    GgmlType bias_type;
    int64_t rows;
    int64_t cols;
};
cudaError_t launch_add_bias(const AddBiasArgs& a, cudaStream_t stream);

struct SiluMulArgs {
    const float* gate;  // [n]
    const float* up;    // [n]
    float* out;         // [n]; may alias gate or up
    int64_t n;
};
cudaError_t launch_silu_mul(const SiluMulArgs& a, cudaStream_t stream);

struct GatherRowsArgs {
    const float* x;       // [x_rows, cols]
    const int32_t* rows;  // [n_rows] indices into x, validated on the host
    float* out;           // [n_rows, cols]
    int32_t n_rows;
    int64_t cols;
};
cudaError_t launch_gather_rows(const GatherRowsArgs& a, cudaStream_t stream);

// fp32 -> f16 or bf16 (round to nearest even): the activation operand of cuBLAS GEMMs.
struct ConvertArgs {
    const float* src;  // [n]
    uint16_t* dst;     // [n]
    int64_t n;
    bool bf16;
};
cudaError_t launch_convert_f32(const ConvertArgs& a, cudaStream_t stream);

// ---- rope.cu ----------------------------------------------------------------------
struct RopeArgs {
    float* x;                   // [n_tokens, n_heads * head_dim], rotated in place
    const int32_t* positions;   // [n_tokens]
    const float* freq_factors;  // [n_rot / 2] or null
    int32_t n_tokens;
    int32_t n_heads;
    int32_t head_dim;
    int32_t n_rot;
    float theta_scale;  // freq_base^(-2 / n_rot), computed on the host as the CPU backend does
    float freq_scale;
    bool neox;
};
cudaError_t launch_rope(const RopeArgs& a, cudaStream_t stream);

// ---- kv_cache.cu --------------------------------------------------------------------
struct KvWriteArgs {
    const float* k;  // [n_tokens, row_values]
    const float* v;  // [n_tokens, row_values]
    void* k_pool;    // [n_slots, row_values] in `type`
    void* v_pool;
    GgmlType type;                // F32, F16 or Q8_0
    const int64_t* slot_mapping;  // [n_tokens]; negative: skip the token
    int32_t n_tokens;
    int32_t row_values;  // n_kv_heads * head_dim
};
cudaError_t launch_kv_write(const KvWriteArgs& a, cudaStream_t stream);

// ---- attention_decode.cu / attention_prefill.cu -------------------------------------
struct AttentionArgs {
    const float* q;      // [n_tokens, n_heads * head_dim]
    float* out;          // [n_tokens, n_heads * head_dim]
    const void* k_pool;  // [n_slots, n_kv_heads * head_dim] in kv_type
    const void* v_pool;
    GgmlType kv_type;
    const int32_t* positions;     // [n_tokens]: token i sees KV positions 0..positions[i]
    const int32_t* token_seq;     // [n_tokens] sequence of each token
    const int32_t* block_tables;  // [n_seqs, max_blocks_per_seq]
    int32_t max_blocks_per_seq;
    int32_t block_size;
    int32_t n_tokens;
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t head_dim;
    float scale;
};

// One block per (token, KV head, split): flash-decoding. With n_splits > 1 each split
// covers split_len keys and writes (max, sum, acc) partials that a second kernel merges.
struct AttentionDecodeArgs {
    AttentionArgs attn;
    int32_t n_splits;
    int32_t split_len;        // keys per split (multiple of 64)
    float* partials;          // [n_tokens, n_heads, n_splits, head_dim + 2] when n_splits > 1
    int32_t first_token = 0;  // set by the launcher: grids cover at most 65535 tokens each
};
cudaError_t launch_attention_decode(const AttentionDecodeArgs& a, cudaStream_t stream);
bool attention_decode_supported(int32_t head_dim);

// Query tiles of up to kPrefillTileRows tokens of one sequence; K/V staged in shared memory.
constexpr int kPrefillTileRows = 16;
struct PrefillTile {
    int32_t first_token;
    int32_t n_tokens;  // <= kPrefillTileRows
};
struct AttentionPrefillArgs {
    AttentionArgs attn;
    const PrefillTile* tiles;  // [n_tiles]
    int32_t n_tiles;
};
cudaError_t launch_attention_prefill(const AttentionPrefillArgs& a, cudaStream_t stream);
bool attention_prefill_supported(int32_t head_dim);

// Which attention kernel runs a step, and how decode splits the keys: the tiled kernel
// when some sequence has several queries (unless forced either way), else flash-decoding
// with enough splits for about two blocks per SM once contexts pass 512 keys.
struct AttentionPlan {
    bool prefill = false;
    int32_t n_splits = 1;
    int32_t split_len = 1;
};
enum class AttentionKernelChoice { automatic, force_decode, force_prefill };
inline AttentionPlan plan_attention(int32_t n_tokens, int32_t n_kv_heads, int32_t head_dim, int32_t max_query_len,
                                    int32_t max_context, int32_t multiprocessors, AttentionKernelChoice choice,
                                    int32_t split_len_override) {
    AttentionPlan p;
    p.prefill = attention_prefill_supported(head_dim) && choice != AttentionKernelChoice::force_decode &&
                (choice == AttentionKernelChoice::force_prefill || max_query_len > 1);
    if (p.prefill) return p;
    const int64_t max_keys = max_context > 1 ? max_context : 1;
    const int64_t base_blocks = static_cast<int64_t>(n_tokens) * n_kv_heads;
    const int64_t want_blocks = 2LL * (multiprocessors > 1 ? multiprocessors : 1);
    int64_t split_len = max_keys;
    if (split_len_override > 0) {
        split_len = split_len_override;
    } else if (max_keys > 512 && base_blocks < want_blocks) {
        const int64_t want_splits = (want_blocks + base_blocks - 1) / base_blocks;
        const int64_t per_split = (max_keys + want_splits - 1) / want_splits;
        split_len = per_split < 256 ? 256 : (per_split + 63) / 64 * 64;
    }
    p.split_len = static_cast<int32_t>(split_len);
    p.n_splits = static_cast<int32_t>((max_keys + split_len - 1) / split_len);
    return p;
}

// ---- mmvq.cu ------------------------------------------------------------------------
// Activations quantized in blocks of 32: 32 int8 values, their scale d and s = d * sum(q).
struct BlockQ8x32 {
    float d;
    float s;
    int8_t qs[32];
};
static_assert(sizeof(BlockQ8x32) == 40);

struct QuantizeQ8Args {
    const float* x;   // [rows, cols], cols a multiple of 32
    BlockQ8x32* out;  // [rows, cols / 32]
    int64_t rows;
    int64_t cols;
};
cudaError_t launch_quantize_q8(const QuantizeQ8Args& a, cudaStream_t stream);

constexpr int kMmvqMaxCols = 8;
struct MmvqArgs {
    GgmlType type;
    const void* w;  // [n_rows, n_in] in `type`
    int64_t row_bytes;
    const BlockQ8x32* x;  // [n_cols, n_in / 32]
    float* out;           // [n_cols, n_rows]
    int64_t n_rows;
    int64_t n_in;
    int32_t n_cols;  // 1..kMmvqMaxCols activation rows
};
cudaError_t launch_mmvq(const MmvqArgs& a, cudaStream_t stream);
bool mmvq_supported(GgmlType type);

// ---- gemv.cu ------------------------------------------------------------------------
// Dense weights x small batch: out[c][row] = dot(w[row], x[c]) in fp32, n_cols <= 8 per launch.
struct GemvArgs {
    GgmlType type;  // F32, F16 or BF16
    const void* w;  // [n_rows, n_in] in `type`, 16-byte aligned rows
    const void* x;  // [n_cols, n_in]: fp32 for F32 and F16 weights, bf16 for BF16 (16-byte aligned)
    float* out;     // [n_cols, n_rows]
    int64_t n_rows;
    int64_t n_in;    // a multiple of 8 (halves) or 4 (F32): whole 16-byte vectors
    int32_t n_cols;  // 1..kMmvqMaxCols activation rows
};
cudaError_t launch_gemv(const GemvArgs& a, cudaStream_t stream);
bool gemv_supported(GgmlType type, int64_t n_in);

// ---- lora.cu ------------------------------------------------------------------------
// LoRA over row segments (S-LoRA/Punica SGMV): shrink writes t = scale * x·Aᵀ per segment
// into its scratch, expand adds t·Bᵀ into out. Up to kLoraMaxSegments segments per launch,
// passed by value; launch_lora launches more chunks for more segments. Ranks up to 65535.
constexpr int kLoraMaxSegments = 32;
constexpr int kLoraShrinkRows = 8;    // rows per shrink tile
constexpr int kLoraExpandRows = 8;    // rows per expand block
constexpr int kLoraExpandCols = 128;  // output columns per expand block (one thread each)
struct LoraSegmentDesc {
    const void* a;   // [rank, in_features] F32 or F16
    const void* b;   // [out_features, rank] F32 or F16
    float* scratch;  // [n_rows, rank]: scale * x·Aᵀ of the segment's rows
    GgmlType a_type;
    GgmlType b_type;
    int32_t rank;
    int32_t first_row;   // rows [first_row, first_row + n_rows) of x and out; n_rows > 0
    int32_t n_rows;
    int32_t first_tile;  // the segment's first shrink tile (prefix sum of ceil(n_rows / kLoraShrinkRows))
    float scale;
};
struct LoraArgs {
    const float* x;  // [n, in_features]
    float* out;      // [n, out_features]; must not alias x
    int64_t in_features;
    int64_t out_features;
    int32_t n_segments;  // 1..kLoraMaxSegments; later segments add after earlier ones
    int32_t max_rank;
    int32_t n_tiles;    // shrink tiles of all segments
    int32_t row_begin;  // rows the segments touch: [row_begin, row_end)
    int32_t row_end;
    LoraSegmentDesc seg[kLoraMaxSegments];
};
cudaError_t launch_lora_shrink(const LoraArgs& a, cudaStream_t stream);
cudaError_t launch_lora_expand(const LoraArgs& a, cudaStream_t stream);

// A whole lora_add: packs the segments into chunks of kLoraMaxSegments and launches
// shrink then expand per chunk. Shapes are validated by the caller.
struct LoraLaunchArgs {
    const float* x;  // [n, in_features]
    float* out;      // [n, out_features]
    int64_t in_features;
    int64_t out_features;
    // [n_segments] in host memory: a, b, types, rank, first_row, n_rows and scale set;
    // the launcher fills scratch and first_tile. Segments with n_rows == 0 are skipped.
    const LoraSegmentDesc* segments;
    int32_t n_segments;
    float* scratch;  // sum of n_rows * rank floats (device memory)
};
cudaError_t launch_lora(const LoraLaunchArgs& a, cudaStream_t stream);

// ---- fill.cu (benchmarks and tests) --------------------------------------------------
// Seeded pseudo-random bytes whose fp16 scale fields hold small finite values, so a
// weight of any runnable type decodes to numbers in a sane range. `n_blocks` blocks
// of `type` at dst.
struct FillRandomArgs {
    GgmlType type;
    void* dst;
    int64_t n_blocks;
    uint64_t seed;
    float scale;  // magnitude of the decoded values, roughly
};
cudaError_t launch_fill_random(const FillRandomArgs& a, cudaStream_t stream);

// A kernel that does nothing: probes that the binary holds code for the device.
cudaError_t launch_noop(cudaStream_t stream);

}  // namespace pagoda::cuda
