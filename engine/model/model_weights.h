// The transformer's weights, found by their llama.cpp names in a GGUF file, checked
// against the config (presence, exact shape, a runnable type) and handed to a Backend.
//
// GGUF dims are [in (dims[0], contiguous), out (dims[1])], so a weight with dims
// {in, out} becomes a Tensor with rows = out, cols = in, as Backend::matmul expects.
// Small 1-D tensors (norms, biases, rope_freqs) are always handed over as fp32, converted
// on the host when the file stores them otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "backend/backend.h"
#include "model/model_config.h"
#include "pagoda/status.h"

namespace pagoda {

class GgufFile;

struct LayerWeights {
    Tensor attn_norm;                      // [n_embd] fp32
    Tensor wq;                             // [q_dim, n_embd]
    Tensor wk;                             // [kv_dim, n_embd]
    Tensor wv;                             // [kv_dim, n_embd]
    Tensor wo;                             // [n_embd, q_dim]
    std::optional<Tensor> bq, bk, bv;      // [q_dim], [kv_dim], [kv_dim] fp32 (required for qwen2)
    std::optional<Tensor> bo;              // [n_embd] fp32 (some llama-architecture files)
    std::optional<Tensor> q_norm, k_norm;  // [head_dim] fp32 (qwen3)
    Tensor ffn_norm;                       // [n_embd] fp32
    Tensor ffn_gate;                       // [n_ff, n_embd]
    Tensor ffn_up;                         // [n_ff, n_embd]
    Tensor ffn_down;                       // [n_embd, n_ff]
};

class ModelWeights {
public:
    // Checks every tensor the config needs without touching a backend: present, exact
    // shape, runnable type, consistent byte size. Errors name the tensor.
    static Status validate(const GgufFile& gguf, const ModelConfig& config);

    // validate() then load_weight() for each tensor. `gguf` must outlive the backend's use
    // of the weights (the CPU backend aliases the mapping).
    static Result<std::unique_ptr<ModelWeights>> load(const GgufFile& gguf, const ModelConfig& config,
                                                      Backend& backend);

    Tensor token_embd;                 // [n_vocab, n_embd]
    Tensor output_norm;                // [n_embd] fp32
    Tensor output;                     // [n_vocab, n_embd]; token_embd when the file ties them
    bool tied_output = false;          // output.weight absent
    std::optional<Tensor> rope_freqs;  // [head_dim / 2] fp32 (llama3 rope scaling)
    std::vector<LayerWeights> layers;

private:
    ModelWeights() = default;
    // fp32 copies of 1-D tensors stored in another type; the backend may alias them.
    std::vector<std::unique_ptr<float[]>> host_f32_;
};

}  // namespace pagoda
