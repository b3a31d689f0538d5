// Model config and weight validation on GGUFs built in memory: good files of every
// supported architecture parse to the expected hyperparameters, and broken or hostile
// ones fail with an error that names the key or tensor at fault.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backend/cpu/create_cpu_backend.h"
#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "model/model.h"
#include "model/model_config.h"
#include "model/model_weights.h"

namespace pagoda {
namespace {

// A tiny model description; tests perturb it to make broken files.
struct TinyModel {
    std::string arch = "llama";
    int64_t dim = 16, layers = 2, ffn = 32, heads = 4, kv_heads = 2, vocab = 20;
    int64_t head_dim = 4;  // written as key_length when != dim / heads
    bool tied = false;
    bool rope_freqs = false;
    std::set<std::string> drop_keys;
    std::set<std::string> drop_tensors;
    std::map<std::string, GgufValue> set_keys;         // added or replacing
    std::map<std::string, std::vector<int64_t>> dims;  // replaced tensor dims
    std::map<std::string, GgmlType> types;             // replaced tensor types

    std::vector<uint8_t> bytes() const {
        GgufWriter w;
        std::map<std::string, GgufValue> meta;
        auto u32 = [](int64_t v) { return GgufValue{GgufValueType::UINT32, static_cast<uint64_t>(v)}; };
        const std::string p = arch + ".";
        meta["general.architecture"] = GgufValue{GgufValueType::STRING, arch};
        meta[p + "context_length"] = u32(128);
        meta[p + "embedding_length"] = u32(dim);
        meta[p + "block_count"] = u32(layers);
        meta[p + "feed_forward_length"] = u32(ffn);
        meta[p + "attention.head_count"] = u32(heads);
        meta[p + "attention.head_count_kv"] = u32(kv_heads);
        meta[p + "attention.layer_norm_rms_epsilon"] = GgufValue{GgufValueType::FLOAT32, 1e-6};
        meta[p + "rope.freq_base"] = GgufValue{GgufValueType::FLOAT32, 500000.0};
        if (head_dim * heads != dim) meta[p + "attention.key_length"] = u32(head_dim);
        if (head_dim * heads != dim) meta[p + "attention.value_length"] = u32(head_dim);
        for (const auto& [k, v] : set_keys) meta[k] = v;
        for (const auto& [k, v] : meta) {
            if (!drop_keys.count(k)) w.set(k, v);
        }

        const int64_t q = heads * head_dim, kv = kv_heads * head_dim;
        auto tensor = [&](const std::string& name, std::vector<int64_t> d) {
            if (drop_tensors.count(name)) return;
            if (auto it = dims.find(name); it != dims.end()) d = it->second;
            GgmlType type = GgmlType::F32;
            if (auto it = types.find(name); it != types.end()) type = it->second;
            int64_t n = 1;
            for (int64_t x : d) n *= x;
            const uint64_t size = ggml_row_bytes(type, d[0]).value_or(0) * static_cast<uint64_t>(n / d[0]);
            std::vector<uint8_t> data(size, 0);
            if (type == GgmlType::F32) {  // ones, so norms are harmless if a test runs them
                const float one = 1.0f;
                for (size_t i = 0; i + 4 <= size; i += 4) std::memcpy(&data[i], &one, 4);
            }
            EXPECT_TRUE(w.add_tensor(name, type, d, std::move(data)).is_ok()) << name;
        };
        tensor("token_embd.weight", {dim, vocab});
        tensor("output_norm.weight", {dim});
        if (!tied) tensor("output.weight", {dim, vocab});
        if (rope_freqs) tensor("rope_freqs.weight", {head_dim / 2});
        for (int64_t i = 0; i < layers; ++i) {
            const std::string b = "blk." + std::to_string(i) + ".";
            tensor(b + "attn_norm.weight", {dim});
            tensor(b + "attn_q.weight", {dim, q});
            tensor(b + "attn_k.weight", {dim, kv});
            tensor(b + "attn_v.weight", {dim, kv});
            tensor(b + "attn_output.weight", {q, dim});
            if (arch == "qwen2") {
                tensor(b + "attn_q.bias", {q});
                tensor(b + "attn_k.bias", {kv});
                tensor(b + "attn_v.bias", {kv});
            }
            if (arch == "qwen3") {
                tensor(b + "attn_q_norm.weight", {head_dim});
                tensor(b + "attn_k_norm.weight", {head_dim});
            }
            tensor(b + "ffn_norm.weight", {dim});
            tensor(b + "ffn_gate.weight", {dim, ffn});
            tensor(b + "ffn_up.weight", {dim, ffn});
            tensor(b + "ffn_down.weight", {ffn, dim});
        }
        return w.to_bytes();
    }
};

// Keeps the bytes alive alongside the parsed file.
struct Parsed {
    std::vector<uint8_t> bytes;
    std::unique_ptr<GgufFile> file;
};

Parsed parse(const TinyModel& m) {
    Parsed p;
    p.bytes = m.bytes();
    auto f = GgufFile::parse(p.bytes, "tiny.gguf");
    EXPECT_TRUE(f.is_ok()) << f.status().to_string();
    if (f) p.file = std::move(f.value());
    return p;
}

// parse_model_config + ModelWeights::validate: what loading checks before any backend work.
Status check(const TinyModel& m) {
    Parsed p = parse(m);
    if (!p.file) return internal_error("GGUF did not parse");
    auto c = parse_model_config(*p.file);
    if (!c) return c.status();
    return ModelWeights::validate(*p.file, c.value());
}

Result<ModelConfig> config_of(const TinyModel& m) {
    Parsed p = parse(m);
    if (!p.file) return internal_error("GGUF did not parse");
    return parse_model_config(*p.file);
}

void expect_error(const TinyModel& m, ErrorCode code, const std::string& needle) {
    const Status s = check(m);
    ASSERT_FALSE(s.is_ok()) << "expected an error mentioning '" << needle << "'";
    EXPECT_EQ(s.code(), code) << s.to_string();
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.to_string();
}

GgufValue u32(int64_t v) { return GgufValue{GgufValueType::UINT32, static_cast<uint64_t>(v)}; }

TEST(ModelConfig, LlamaHyperparameters) {
    TinyModel m;
    auto c = config_of(m);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    EXPECT_EQ(c->arch, Architecture::llama);
    EXPECT_EQ(c->arch_name, "llama");
    EXPECT_EQ(c->n_vocab, 20);
    EXPECT_EQ(c->n_ctx_train, 128);
    EXPECT_EQ(c->n_embd, 16);
    EXPECT_EQ(c->n_layers, 2);
    EXPECT_EQ(c->n_ff, 32);
    EXPECT_EQ(c->n_heads, 4);
    EXPECT_EQ(c->n_kv_heads, 2);
    EXPECT_EQ(c->head_dim, 4);
    EXPECT_EQ(c->n_rot, 4);
    EXPECT_FLOAT_EQ(c->rms_eps, 1e-6f);
    EXPECT_FLOAT_EQ(c->rope_freq_base, 500000.0f);
    EXPECT_FLOAT_EQ(c->rope_freq_scale, 1.0f);
    EXPECT_FALSE(c->rope_neox);
    EXPECT_FALSE(c->has_qkv_bias);
    EXPECT_FALSE(c->has_qk_norm);
    EXPECT_TRUE(check(m).is_ok()) << check(m).to_string();
}

TEST(ModelConfig, DefaultsForOptionalKeys) {
    TinyModel m;
    m.kv_heads = 4;  // tensors sized for n_kv_heads == n_heads
    m.drop_keys = {"llama.attention.head_count_kv", "llama.rope.freq_base"};
    auto c = config_of(m);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    EXPECT_EQ(c->n_kv_heads, 4);
    EXPECT_FLOAT_EQ(c->rope_freq_base, 10000.0f);
    EXPECT_EQ(c->head_dim, 4);
    EXPECT_TRUE(check(m).is_ok());
}

TEST(ModelConfig, Qwen2NeedsBiasesAndUsesNeox) {
    TinyModel m;
    m.arch = "qwen2";
    auto c = config_of(m);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    EXPECT_EQ(c->arch, Architecture::qwen2);
    EXPECT_TRUE(c->rope_neox);
    EXPECT_TRUE(c->has_qkv_bias);
    EXPECT_TRUE(check(m).is_ok()) << check(m).to_string();

    m.drop_tensors = {"blk.1.attn_k.bias"};
    expect_error(m, ErrorCode::invalid_format, "blk.1.attn_k.bias");
}

TEST(ModelConfig, Qwen3HeadDimOverrideAndQkNorms) {
    TinyModel m;
    m.arch = "qwen3";
    m.head_dim = 8;  // q is 4 * 8 = 32 wide although the embedding is 16
    auto c = config_of(m);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    EXPECT_EQ(c->arch, Architecture::qwen3);
    EXPECT_EQ(c->head_dim, 8);
    EXPECT_EQ(c->n_rot, 8);
    EXPECT_EQ(c->q_dim(), 32);
    EXPECT_EQ(c->kv_dim(), 16);
    EXPECT_TRUE(c->rope_neox);
    EXPECT_TRUE(c->has_qk_norm);
    EXPECT_FALSE(c->has_qkv_bias);
    EXPECT_TRUE(check(m).is_ok()) << check(m).to_string();

    TinyModel missing = m;
    missing.drop_tensors = {"blk.0.attn_q_norm.weight"};
    expect_error(missing, ErrorCode::invalid_format, "blk.0.attn_q_norm.weight");

    TinyModel wrong = m;
    wrong.dims["blk.1.attn_k_norm.weight"] = {16};
    expect_error(wrong, ErrorCode::invalid_format, "blk.1.attn_k_norm.weight");
}

TEST(ModelConfig, UnsupportedArchitectureListsSupportedOnes) {
    TinyModel m;
    m.arch = "gpt2";
    auto c = config_of(m);
    ASSERT_FALSE(c.is_ok());
    EXPECT_EQ(c.status().code(), ErrorCode::unsupported);
    EXPECT_NE(c.status().message().find("gpt2"), std::string::npos);
    EXPECT_NE(c.status().message().find("llama, qwen2, qwen3"), std::string::npos);
}

TEST(ModelConfig, MissingOrBadKeysAreNamed) {
    {
        TinyModel m;
        m.drop_keys = {"llama.embedding_length"};
        expect_error(m, ErrorCode::invalid_format, "llama.embedding_length");
    }
    {
        TinyModel m;
        m.drop_keys = {"llama.attention.layer_norm_rms_epsilon"};
        expect_error(m, ErrorCode::invalid_format, "llama.attention.layer_norm_rms_epsilon");
    }
    {
        TinyModel m;
        m.set_keys["llama.block_count"] = u32(0);
        expect_error(m, ErrorCode::invalid_format, "llama.block_count");
    }
    {
        TinyModel m;
        m.set_keys["llama.feed_forward_length"] = GgufValue{GgufValueType::STRING, std::string("32")};
        expect_error(m, ErrorCode::invalid_format, "llama.feed_forward_length");
    }
    {
        TinyModel m;
        m.set_keys["llama.context_length"] = GgufValue{GgufValueType::INT32, int64_t{-5}};
        expect_error(m, ErrorCode::invalid_format, "llama.context_length");
    }
    {
        TinyModel m;
        m.set_keys["llama.attention.layer_norm_rms_epsilon"] = GgufValue{GgufValueType::FLOAT32, -1.0};
        expect_error(m, ErrorCode::invalid_format, "layer_norm_rms_epsilon");
    }
    {
        TinyModel m;
        m.drop_keys = {"general.architecture"};
        expect_error(m, ErrorCode::invalid_format, "general.architecture");
    }
}

TEST(ModelConfig, HeadCountsMustDivide) {
    TinyModel m;
    m.set_keys["llama.attention.head_count_kv"] = u32(3);
    expect_error(m, ErrorCode::invalid_format, "head_count_kv");

    TinyModel more_kv;
    more_kv.set_keys["llama.attention.head_count_kv"] = u32(8);
    expect_error(more_kv, ErrorCode::invalid_format, "head_count_kv");

    TinyModel odd_embd;
    odd_embd.set_keys["llama.attention.head_count"] = u32(5);
    expect_error(odd_embd, ErrorCode::invalid_format, "head_count");
}

TEST(ModelConfig, HugeLayerCountIsRejectedWithoutAllocating) {
    TinyModel m;
    m.set_keys["llama.block_count"] = u32(4000000000ll);  // > INT32_MAX
    expect_error(m, ErrorCode::invalid_format, "llama.block_count");

    TinyModel many;
    many.set_keys["llama.block_count"] = u32(2000000000ll);  // fits int32, but no such tensors
    expect_error(many, ErrorCode::invalid_format, "block_count");
}

TEST(ModelConfig, RopeScaling) {
    TinyModel linear;
    linear.set_keys["llama.rope.scaling.type"] = GgufValue{GgufValueType::STRING, std::string("linear")};
    linear.set_keys["llama.rope.scaling.factor"] = GgufValue{GgufValueType::FLOAT32, 4.0};
    auto c = config_of(linear);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    EXPECT_FLOAT_EQ(c->rope_freq_scale, 0.25f);
    EXPECT_EQ(c->rope_scaling_type, "linear");

    TinyModel old_key;  // the pre-'scaling' key name still works
    old_key.set_keys["llama.rope.scale_linear"] = GgufValue{GgufValueType::FLOAT32, 2.0};
    c = config_of(old_key);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    EXPECT_FLOAT_EQ(c->rope_freq_scale, 0.5f);

    TinyModel yarn;
    yarn.set_keys["llama.rope.scaling.type"] = GgufValue{GgufValueType::STRING, std::string("yarn")};
    expect_error(yarn, ErrorCode::unsupported, "yarn");

    TinyModel partial;
    partial.set_keys["llama.rope.dimension_count"] = u32(2);
    expect_error(partial, ErrorCode::unsupported, "rope.dimension_count");
}

TEST(ModelConfig, TensorShapeTypeAndPresenceAreChecked) {
    {
        TinyModel m;
        m.drop_tensors = {"blk.1.ffn_down.weight"};
        expect_error(m, ErrorCode::invalid_format, "blk.1.ffn_down.weight");
    }
    {
        TinyModel m;
        m.dims["blk.0.attn_q.weight"] = {16, 8};
        expect_error(m, ErrorCode::invalid_format, "blk.0.attn_q.weight");
    }
    {
        TinyModel m;  // transposed: [out, in] instead of [in, out]
        m.dims["blk.0.ffn_up.weight"] = {32, 16};
        expect_error(m, ErrorCode::invalid_format, "blk.0.ffn_up.weight");
    }
    {
        TinyModel m;
        m.types["blk.0.attn_v.weight"] = GgmlType::I32;
        expect_error(m, ErrorCode::unsupported, "blk.0.attn_v.weight");
    }
    {
        TinyModel m;
        m.drop_tensors = {"token_embd.weight"};
        expect_error(m, ErrorCode::invalid_format, "token_embd.weight");
    }
    {
        TinyModel m;
        m.rope_freqs = true;
        EXPECT_TRUE(check(m).is_ok()) << check(m).to_string();
        m.dims["rope_freqs.weight"] = {4};
        expect_error(m, ErrorCode::invalid_format, "rope_freqs.weight");
    }
}

TEST(ModelConfig, MixtureOfExpertsIsUnsupported) {
    TinyModel m;
    m.set_keys["llama.expert_count"] = u32(8);
    expect_error(m, ErrorCode::unsupported, "expert");
}

TEST(ModelWeights, TiedEmbeddingsReuseTokenEmbd) {
    TinyModel m;
    m.tied = true;
    m.types["token_embd.weight"] = GgmlType::F16;
    Parsed p = parse(m);
    ASSERT_TRUE(p.file);
    auto backend = create_cpu_backend(1);
    auto model = Model::load(std::move(p.file), *backend);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    const ModelWeights& w = model.value()->weights();
    EXPECT_TRUE(w.tied_output);
    EXPECT_EQ(w.output.data, w.token_embd.data);
    EXPECT_EQ(w.output.type, GgmlType::F16);
    EXPECT_EQ(w.output.rows, 20);
    EXPECT_EQ(w.output.cols, 16);
    ASSERT_EQ(w.layers.size(), 2u);
    EXPECT_EQ(w.layers[0].wq.rows, 16);  // GGUF {in, out} -> rows = out
    EXPECT_EQ(w.layers[0].ffn_down.rows, 16);
    EXPECT_EQ(w.layers[0].ffn_down.cols, 32);
    EXPECT_FALSE(w.layers[0].bq.has_value());
}

TEST(ModelWeights, UntiedOutputIsItsOwnTensor) {
    TinyModel m;
    Parsed p = parse(m);
    ASSERT_TRUE(p.file);
    auto backend = create_cpu_backend(1);
    auto model = Model::load(std::move(p.file), *backend);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    const ModelWeights& w = model.value()->weights();
    EXPECT_FALSE(w.tied_output);
    EXPECT_NE(w.output.data, w.token_embd.data);
}

}  // namespace
}  // namespace pagoda
