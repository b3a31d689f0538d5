// Whole-model quantization, as llama.cpp's llama-quantize does it without an importance
// matrix: every 2-D weight is re-encoded to the target's type, adjusted per tensor by
// llama.cpp's llama_tensor_get_type rules (output.weight gets Q6_K, Q4_K_M gives
// attn_v/ffn_down Q6_K on some layers, shapes a type cannot hold fall back), while
// norms, biases and other 1-D tensors keep their type. Metadata is copied, with
// general.file_type set to llama.cpp's LLAMA_FTYPE number for the target.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "pagoda/status.h"
#include "pagoda/types.h"

namespace pagoda {

enum class QuantTarget { F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_S, Q4_K_M, Q5_K_S, Q6_K };

struct QuantTargetInfo {
    QuantTarget target;
    const char* name;       // canonical CLI name, e.g. "q4_k_m"
    GgmlType default_type;  // type of an ordinary weight matrix
    uint32_t llama_ftype;   // general.file_type value (llama.cpp's enum llama_ftype)
};
const QuantTargetInfo& quant_target_info(QuantTarget target);

// Case-insensitive: f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k (= q4_k_s), q4_k_m,
// q5_k (= q5_k_s), q6_k. An unknown name's error lists the valid ones.
Result<QuantTarget> parse_quant_target(std::string_view name);
// "f16, bf16, q8_0, ..." for help texts.
std::string quant_target_names();

// The model-wide facts llama.cpp's per-tensor rules look at.
struct QuantModelShape {
    std::string arch;        // general.architecture ("llama", "falcon", ...)
    int n_layers = 0;        // {arch}.block_count: the ffn_down rules' layer count
    int n_attention_wv = 0;  // attn_v-like tensors in the file (attn_v, attn_qkv, attn_kv_b)
    int n_expert = 0;        // {arch}.expert_count
    int n_head = 0;          // {arch}.attention.head_count
    int n_head_kv = 0;       // {arch}.attention.head_count_kv
    bool has_output = true;  // false when token_embd.weight doubles as the output matrix
};

// Whether llama.cpp would re-encode this tensor at all: 2-D or more, named "*weight",
// not a norm, not one of the small special tensors (expert gate, positional embeddings...).
bool tensor_is_quantizable(std::string_view name, size_t n_dims);

struct TensorTypeChoice {
    GgmlType type = GgmlType::F32;
    bool fell_back = false;  // the rules' choice cannot hold a row of dims[0] values
};

// llama.cpp's llama_tensor_get_type for one tensor. `layer` is the tensor's index among
// the tensors of its kind in layer order; for attn_v and ffn_down in an ordinary model
// that is its block number. Tensors that are not quantizable keep `current`.
TensorTypeChoice choose_tensor_type(QuantTarget target, std::string_view name, std::span<const int64_t> dims,
                                    GgmlType current, int layer, const QuantModelShape& shape);

struct TensorQuantEvent {
    size_t index = 0;  // 0-based, in output order
    size_t count = 0;
    std::string_view name;
    std::span<const int64_t> dims;
    GgmlType from = GgmlType::F32;
    GgmlType to = GgmlType::F32;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    bool requantized = false;  // `from` was already quantized: precision is lost twice
    bool fell_back = false;
};

struct QuantizeOptions {
    QuantTarget target = QuantTarget::Q8_0;
    int n_threads = 0;  // <= 0: all hardware threads
    // Called after each tensor is encoded (on the calling thread).
    std::function<void(const TensorQuantEvent&)> on_tensor;
};

struct QuantizeStats {
    size_t n_tensors = 0;
    size_t n_converted = 0;    // re-encoded (the rest were copied as they were)
    size_t n_requantized = 0;  // converted from an already quantized type
    size_t n_fallback = 0;
    uint64_t bytes_in = 0;  // tensor data only
    uint64_t bytes_out = 0;
};

// Reads in_path, writes out_path (atomically, via out_path.tmp). Inputs may be F32, F16,
// BF16 or any runnable quantized type (dequantized first).
Result<QuantizeStats> quantize_model(const std::string& in_path, const std::string& out_path,
                                     const QuantizeOptions& options);

}  // namespace pagoda
