#include "model/model_config.h"

#include <cmath>
#include <limits>
#include <optional>

#include "model/gguf_file.h"

namespace pagoda {

const char* architecture_name(Architecture arch) {
    switch (arch) {
        case Architecture::llama: return "llama";
        case Architecture::qwen2: return "qwen2";
        case Architecture::qwen3: return "qwen3";
    }
    return "?";
}

const char* supported_architectures() { return "llama, qwen2, qwen3"; }

namespace {

// Reads '<arch>.<suffix>' as a positive int32. Per-layer arrays are accepted when all
// layers agree (the supported architectures never vary them).
class KeyReader {
public:
    KeyReader(const GgufFile& gguf, std::string prefix) : gguf_(gguf), prefix_(std::move(prefix)) {}

    std::string key(const char* suffix) const { return prefix_ + suffix; }

    // nullopt + ok status: absent. Error: present but not a usable positive int32.
    Result<std::optional<int32_t>> positive_int(const char* suffix) const {
        const std::string k = key(suffix);
        const GgufValue* v = gguf_.find(k);
        if (!v) return std::optional<int32_t>{};
        std::optional<int64_t> n;
        if (const auto* arr = v->as_array()) {
            if (arr->items.empty()) return invalid_format("metadata '" + k + "' is an empty array");
            for (const auto& item : arr->items) {
                auto x = item.as_int();
                if (!x) return invalid_format("metadata '" + k + "' holds a non-integer");
                if (n && *n != *x)
                    return unsupported("metadata '" + k + "' varies per layer, which Pagoda does not run");
                n = x;
            }
        } else {
            n = v->as_int();
            if (!n)
                return invalid_format("metadata '" + k + "' is a " + gguf_value_type_name(v->type) +
                                      ", expected an integer");
        }
        if (*n <= 0 || *n > std::numeric_limits<int32_t>::max())
            return invalid_format("metadata '" + k + "' = " + std::to_string(*n) + " is out of range");
        return std::optional<int32_t>{static_cast<int32_t>(*n)};
    }

    Result<int32_t> required_int(const char* suffix) const {
        auto r = positive_int(suffix);
        if (!r) return r.status();
        if (!r.value()) return invalid_format("missing metadata '" + key(suffix) + "'");
        return *r.value();
    }

    // nullopt + ok: absent. Error: present but not a finite number.
    Result<std::optional<float>> finite_float(const char* suffix) const {
        const std::string k = key(suffix);
        const GgufValue* v = gguf_.find(k);
        if (!v) return std::optional<float>{};
        auto x = v->as_float();
        if (!x) x = v->as_int() ? std::optional<double>(static_cast<double>(*v->as_int())) : std::nullopt;
        if (!x)
            return invalid_format("metadata '" + k + "' is a " + gguf_value_type_name(v->type) + ", expected a number");
        if (!std::isfinite(*x) || std::fabs(*x) > std::numeric_limits<float>::max())
            return invalid_format("metadata '" + k + "' is not a finite number");
        return std::optional<float>{static_cast<float>(*x)};
    }

private:
    const GgufFile& gguf_;
    std::string prefix_;
};

template <typename T>
Status assign(T& out, Result<T> r) {
    if (!r) return r.status();
    out = std::move(r.value());
    return Status::ok();
}

}  // namespace

Result<ModelConfig> parse_model_config(const GgufFile& gguf) {
    ModelConfig c;
    const GgufValue* arch_value = gguf.find("general.architecture");
    if (!arch_value) return invalid_format("missing metadata 'general.architecture'");
    const std::string* arch = arch_value->as_string();
    if (!arch) return invalid_format("metadata 'general.architecture' is not a string");
    c.arch_name = *arch;
    if (*arch == "llama") {
        c.arch = Architecture::llama;
    } else if (*arch == "qwen2") {
        c.arch = Architecture::qwen2;
        c.rope_neox = true;
        c.has_qkv_bias = true;
    } else if (*arch == "qwen3") {
        c.arch = Architecture::qwen3;
        c.rope_neox = true;
        c.has_qk_norm = true;
    } else {
        return unsupported("architecture '" + *arch + "' is not supported (supported: " + supported_architectures() +
                           ")");
    }

    const KeyReader keys(gguf, *arch + ".");
    PAGODA_RETURN_IF_ERROR(assign(c.n_ctx_train, keys.required_int("context_length")));
    PAGODA_RETURN_IF_ERROR(assign(c.n_embd, keys.required_int("embedding_length")));
    PAGODA_RETURN_IF_ERROR(assign(c.n_layers, keys.required_int("block_count")));
    PAGODA_RETURN_IF_ERROR(assign(c.n_ff, keys.required_int("feed_forward_length")));
    PAGODA_RETURN_IF_ERROR(assign(c.n_heads, keys.required_int("attention.head_count")));
    // Each block has at least 9 tensors; a larger count is hostile and must not size anything.
    if (static_cast<uint64_t>(c.n_layers) * 9 > gguf.tensors().size())
        return invalid_format("metadata '" + keys.key("block_count") + "' = " + std::to_string(c.n_layers) +
                              " exceeds what the file's " + std::to_string(gguf.tensors().size()) +
                              " tensors can hold");

    std::optional<int32_t> opt;
    PAGODA_RETURN_IF_ERROR(assign(opt, keys.positive_int("attention.head_count_kv")));
    c.n_kv_heads = opt.value_or(c.n_heads);
    if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
        return invalid_format("attention.head_count (" + std::to_string(c.n_heads) +
                              ") is not a multiple of attention.head_count_kv (" + std::to_string(c.n_kv_heads) + ")");

    // Mixture-of-experts files share the 'llama' / 'qwen2' names in some converters.
    if (const GgufValue* experts = gguf.find(keys.key("expert_count"))) {
        if (experts->as_int().value_or(0) > 0)
            return unsupported("mixture-of-experts models ('" + keys.key("expert_count") + "') are not supported");
    }

    std::optional<int32_t> key_length, value_length;
    PAGODA_RETURN_IF_ERROR(assign(key_length, keys.positive_int("attention.key_length")));
    PAGODA_RETURN_IF_ERROR(assign(value_length, keys.positive_int("attention.value_length")));
    if (!key_length && c.n_embd % c.n_heads != 0)
        return invalid_format("embedding_length (" + std::to_string(c.n_embd) + ") is not a multiple of head_count (" +
                              std::to_string(c.n_heads) + ") and attention.key_length is absent");
    c.head_dim = key_length.value_or(c.n_embd / c.n_heads);
    if (value_length.value_or(c.head_dim) != c.head_dim)
        return unsupported("attention.key_length (" + std::to_string(c.head_dim) + ") != attention.value_length (" +
                           std::to_string(*value_length) + ")");
    if (c.head_dim % 2 != 0) return invalid_format("head dimension " + std::to_string(c.head_dim) + " is odd");
    if (c.q_dim() > std::numeric_limits<int32_t>::max()) return invalid_format("head_count * head_dim overflows");

    PAGODA_RETURN_IF_ERROR(assign(opt, keys.positive_int("rope.dimension_count")));
    c.n_rot = opt.value_or(c.head_dim);
    if (c.n_rot != c.head_dim)
        return unsupported("rope.dimension_count (" + std::to_string(c.n_rot) + ") != head dimension (" +
                           std::to_string(c.head_dim) + "): partial rotary embeddings are not supported");

    std::optional<float> f;
    PAGODA_RETURN_IF_ERROR(assign(f, keys.finite_float("attention.layer_norm_rms_epsilon")));
    if (!f) return invalid_format("missing metadata '" + keys.key("attention.layer_norm_rms_epsilon") + "'");
    if (!(*f > 0.0f && *f < 1.0f))
        return invalid_format("metadata '" + keys.key("attention.layer_norm_rms_epsilon") + "' is out of range");
    c.rms_eps = *f;

    PAGODA_RETURN_IF_ERROR(assign(f, keys.finite_float("rope.freq_base")));
    c.rope_freq_base = f.value_or(10000.0f);
    if (!(c.rope_freq_base > 1.0f))
        return invalid_format("metadata '" + keys.key("rope.freq_base") + "' is out of range");

    // As llama.cpp: the scaling factor (or the older rope.scale_linear) sets the linear
    // position scale; only types that need nothing more than that are runnable.
    if (const GgufValue* t = gguf.find(keys.key("rope.scaling.type"))) {
        const std::string* s = t->as_string();
        if (!s) return invalid_format("metadata '" + keys.key("rope.scaling.type") + "' is not a string");
        if (*s != "none" && *s != "linear")
            return unsupported("rope scaling type '" + *s + "' is not supported (supported: none, linear)");
        c.rope_scaling_type = *s;
    }
    PAGODA_RETURN_IF_ERROR(assign(f, keys.finite_float("rope.scaling.factor")));
    if (!f) {
        PAGODA_RETURN_IF_ERROR(assign(f, keys.finite_float("rope.scale_linear")));
    }
    if (f && *f != 0.0f) {
        if (*f < 0.0f) return invalid_format("rope scaling factor " + std::to_string(*f) + " is negative");
        c.rope_freq_scale = 1.0f / *f;
        if (c.rope_scaling_type.empty()) c.rope_scaling_type = "linear";
    }

    const GgufTensorInfo* embd = gguf.find_tensor("token_embd.weight");
    if (!embd) return invalid_format("missing tensor 'token_embd.weight'");
    if (embd->dims.size() != 2 || embd->dims[0] != c.n_embd)
        return invalid_format("tensor 'token_embd.weight' should have dims [" + std::to_string(c.n_embd) +
                              ", n_vocab]");
    if (embd->dims[1] <= 0 || embd->dims[1] > std::numeric_limits<int32_t>::max())
        return invalid_format("tensor 'token_embd.weight' has an out-of-range vocabulary size");
    c.n_vocab = static_cast<int32_t>(embd->dims[1]);
    return c;
}

}  // namespace pagoda
