#include "model/model_weights.h"

#include <functional>
#include <string>

#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/quant/quant.h"

namespace pagoda {

namespace {

struct TensorSpec {
    std::string name;
    bool matrix = true;  // false: a 1-D tensor handed over as fp32
    int64_t in = 0;      // dims[0]
    int64_t out = 1;     // dims[1] (matrices only)
    bool required = true;
    std::function<void(const Tensor&)> store;  // null when only validating
};

// Everything the forward pass can use, in file order of a typical llama.cpp GGUF.
std::vector<TensorSpec> tensor_specs(const ModelConfig& c, ModelWeights* w) {
    std::vector<TensorSpec> specs;
    auto add = [&](std::string name, bool matrix, int64_t in, int64_t out, bool required,
                   std::function<void(const Tensor&)> store) {
        specs.push_back({std::move(name), matrix, in, out, required, w ? std::move(store) : nullptr});
    };
    using Store = std::function<void(const Tensor&)>;
    auto opt_store = [](std::optional<Tensor>* slot) -> Store { return [slot](const Tensor& t) { *slot = t; }; };
    auto req_store = [](Tensor* slot) -> Store { return [slot](const Tensor& t) { *slot = t; }; };

    add("token_embd.weight", true, c.n_embd, c.n_vocab, true, [w](const Tensor& t) { w->token_embd = t; });
    add("output_norm.weight", false, c.n_embd, 1, true, [w](const Tensor& t) { w->output_norm = t; });
    add("output.weight", true, c.n_embd, c.n_vocab, false, [w](const Tensor& t) {
        w->output = t;
        w->tied_output = false;
    });
    if (c.arch == Architecture::llama) {
        add("rope_freqs.weight", false, c.n_rot / 2, 1, false, [w](const Tensor& t) { w->rope_freqs = t; });
    }
    for (int32_t i = 0; i < c.n_layers; ++i) {
        LayerWeights* l = w ? &w->layers[i] : nullptr;
        const std::string p = "blk." + std::to_string(i) + ".";
        add(p + "attn_norm.weight", false, c.n_embd, 1, true, l ? req_store(&l->attn_norm) : nullptr);
        add(p + "attn_q.weight", true, c.n_embd, c.q_dim(), true, l ? req_store(&l->wq) : nullptr);
        add(p + "attn_k.weight", true, c.n_embd, c.kv_dim(), true, l ? req_store(&l->wk) : nullptr);
        add(p + "attn_v.weight", true, c.n_embd, c.kv_dim(), true, l ? req_store(&l->wv) : nullptr);
        add(p + "attn_output.weight", true, c.q_dim(), c.n_embd, true, l ? req_store(&l->wo) : nullptr);
        // Biases are used whenever a file has them; qwen2 always does.
        add(p + "attn_q.bias", false, c.q_dim(), 1, c.has_qkv_bias, l ? opt_store(&l->bq) : nullptr);
        add(p + "attn_k.bias", false, c.kv_dim(), 1, c.has_qkv_bias, l ? opt_store(&l->bk) : nullptr);
        add(p + "attn_v.bias", false, c.kv_dim(), 1, c.has_qkv_bias, l ? opt_store(&l->bv) : nullptr);
        add(p + "attn_output.bias", false, c.n_embd, 1, false, l ? opt_store(&l->bo) : nullptr);
        if (c.has_qk_norm) {
            add(p + "attn_q_norm.weight", false, c.head_dim, 1, true, l ? opt_store(&l->q_norm) : nullptr);
            add(p + "attn_k_norm.weight", false, c.head_dim, 1, true, l ? opt_store(&l->k_norm) : nullptr);
        }
        add(p + "ffn_norm.weight", false, c.n_embd, 1, true, l ? req_store(&l->ffn_norm) : nullptr);
        add(p + "ffn_gate.weight", true, c.n_embd, c.n_ff, true, l ? req_store(&l->ffn_gate) : nullptr);
        add(p + "ffn_up.weight", true, c.n_embd, c.n_ff, true, l ? req_store(&l->ffn_up) : nullptr);
        add(p + "ffn_down.weight", true, c.n_ff, c.n_embd, true, l ? req_store(&l->ffn_down) : nullptr);
    }
    return specs;
}

std::string dims_string(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

// Checks one present tensor against its spec.
Status check_tensor(const GgufTensorInfo& t, const TensorSpec& spec) {
    std::vector<int64_t> dims = t.dims;
    while (dims.size() > 1 && dims.back() == 1) dims.pop_back();  // [n, 1] is still a vector
    const std::vector<int64_t> expected =
        spec.matrix ? std::vector<int64_t>{spec.in, spec.out} : std::vector<int64_t>{spec.in};
    if (dims != expected)
        return invalid_format("tensor '" + spec.name + "' has shape " + dims_string(t.dims) + ", expected " +
                              dims_string(expected));
    const GgmlTypeInfo& info = ggml_type_info(t.type);
    if (!info.runnable)
        return unsupported("tensor '" + spec.name + "' has type " + info.name + ", which Pagoda cannot run");
    const auto row_bytes = ggml_row_bytes(t.type, spec.in);
    if (!row_bytes)
        return invalid_format("tensor '" + spec.name + "': row of " + std::to_string(spec.in) +
                              " values is not a whole number of " + info.name + " blocks");
    const uint64_t rows = static_cast<uint64_t>(spec.matrix ? spec.out : 1);
    if (*row_bytes != 0 && rows > UINT64_MAX / *row_bytes)
        return invalid_format("tensor '" + spec.name + "' is too large");
    if (t.n_bytes != *row_bytes * rows || t.data == nullptr)
        return invalid_format("tensor '" + spec.name + "' holds " + std::to_string(t.n_bytes) + " bytes, expected " +
                              std::to_string(*row_bytes * rows));
    return Status::ok();
}

}  // namespace

Status ModelWeights::validate(const GgufFile& gguf, const ModelConfig& config) {
    for (const TensorSpec& spec : tensor_specs(config, nullptr)) {
        const GgufTensorInfo* t = gguf.find_tensor(spec.name);
        if (!t) {
            if (spec.required) return invalid_format("missing tensor '" + spec.name + "'");
            continue;
        }
        PAGODA_RETURN_IF_ERROR(check_tensor(*t, spec));
    }
    return Status::ok();
}

Result<std::unique_ptr<ModelWeights>> ModelWeights::load(const GgufFile& gguf, const ModelConfig& config,
                                                         Backend& backend) {
    PAGODA_RETURN_IF_ERROR(validate(gguf, config));
    // Ask the device before uploading anything, so a model too large fails at once saying
    // what it needs and what is free (not half-way through, on some tensor's allocation).
    uint64_t total_bytes = 0;
    for (const TensorSpec& spec : tensor_specs(config, nullptr)) {
        if (const GgufTensorInfo* t = gguf.find_tensor(spec.name)) {
            total_bytes += spec.matrix || t->type == GgmlType::F32 ? t->n_bytes : static_cast<uint64_t>(spec.in) * 4;
        }
    }
    PAGODA_RETURN_IF_ERROR(backend.check_weights_fit(total_bytes));
    std::unique_ptr<ModelWeights> w(new ModelWeights());
    w->layers.resize(static_cast<size_t>(config.n_layers));
    w->tied_output = true;
    for (const TensorSpec& spec : tensor_specs(config, w.get())) {
        const GgufTensorInfo* t = gguf.find_tensor(spec.name);
        if (!t) continue;  // optional and absent (validate() checked the required ones)
        auto load_one = [&]() -> Result<Tensor> {
            if (spec.matrix) return backend.load_weight(t->type, spec.out, spec.in, t->data);
            if (t->type == GgmlType::F32) return backend.load_weight(GgmlType::F32, 1, spec.in, t->data);
            // Norms and biases feed fp32 ops: convert once here.
            auto buf = std::make_unique<float[]>(static_cast<size_t>(spec.in));
            dequantize_row(t->type, t->data, buf.get(), spec.in);
            w->host_f32_.push_back(std::move(buf));
            return backend.load_weight(GgmlType::F32, 1, spec.in, w->host_f32_.back().get());
        };
        Result<Tensor> loaded = load_one();
        if (!loaded) {
            const Status s = loaded.status();
            return Status::error(s.code(), "loading tensor '" + spec.name + "': " + s.message());
        }
        spec.store(loaded.value());
    }
    if (w->tied_output) w->output = w->token_embd;
    return w;
}

}  // namespace pagoda
