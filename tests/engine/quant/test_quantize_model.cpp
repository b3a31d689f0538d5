// Whole-model quantization: llama.cpp's per-tensor type rules for the supported mixes,
// target names, and a write -> quantize -> read round trip on a small F32 model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "model/quant/quant.h"
#include "model/quantize_model.h"

namespace pagoda {
namespace {

QuantModelShape llama_shape(int n_layers) {
    QuantModelShape s;
    s.arch = "llama";
    s.n_layers = n_layers;
    s.n_attention_wv = n_layers;
    s.n_head = 32;
    s.n_head_kv = 8;
    return s;
}

GgmlType pick(QuantTarget t, const std::string& name, std::vector<int64_t> dims, int layer, const QuantModelShape& s,
              GgmlType current = GgmlType::F32) {
    return choose_tensor_type(t, name, dims, current, layer, s).type;
}

std::string blk(int i, const char* what) { return "blk." + std::to_string(i) + "." + what; }

// Layers llama.cpp's use_more_bits() picks, written out by hand for the two model sizes.
const std::set<int> kMoreBits22 = {0, 1, 4, 7, 10, 13, 16, 19, 20, 21};
const std::set<int> kMoreBits32 = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};

void check_q4_k_m(int n_layers, const std::set<int>& more_bits) {
    const auto s = llama_shape(n_layers);
    const std::vector<int64_t> sq = {4096, 4096}, kv = {4096, 1024}, down = {11008, 4096}, up = {4096, 11008};
    for (int i = 0; i < n_layers; ++i) {
        const GgmlType rich = more_bits.count(i) ? GgmlType::Q6_K : GgmlType::Q4_K;
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "attn_v.weight"), kv, i, s), rich) << n_layers << " layer " << i;
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "ffn_down.weight"), down, i, s), rich) << n_layers << " layer " << i;
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "attn_q.weight"), sq, i, s), GgmlType::Q4_K);
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "attn_k.weight"), kv, i, s), GgmlType::Q4_K);
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "attn_output.weight"), sq, i, s), GgmlType::Q4_K);
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "ffn_up.weight"), up, i, s), GgmlType::Q4_K);
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "ffn_gate.weight"), up, i, s), GgmlType::Q4_K);
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "attn_norm.weight"), {4096}, i, s), GgmlType::F32);
        EXPECT_EQ(pick(QuantTarget::Q4_K_M, blk(i, "ffn_norm.weight"), {4096}, i, s), GgmlType::F32);
    }
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "output.weight", {4096, 32000}, 0, s), GgmlType::Q6_K);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "token_embd.weight", {4096, 32000}, 0, s), GgmlType::Q4_K);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "output_norm.weight", {4096}, 0, s), GgmlType::F32);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "rope_freqs.weight", {64}, 0, s), GgmlType::F32);
}

TEST(QuantMix, Q4_K_M_22Layers) { check_q4_k_m(22, kMoreBits22); }
TEST(QuantMix, Q4_K_M_32Layers) { check_q4_k_m(32, kMoreBits32); }

TEST(QuantMix, Q4_K_S) {
    for (int n : {22, 32}) {
        const auto s = llama_shape(n);
        for (int i = 0; i < n; ++i) {
            EXPECT_EQ(pick(QuantTarget::Q4_K_S, blk(i, "attn_v.weight"), {4096, 1024}, i, s),
                      i < 4 ? GgmlType::Q5_K : GgmlType::Q4_K);
            EXPECT_EQ(pick(QuantTarget::Q4_K_S, blk(i, "ffn_down.weight"), {11008, 4096}, i, s),
                      i < n / 8 ? GgmlType::Q5_K : GgmlType::Q4_K);
            EXPECT_EQ(pick(QuantTarget::Q4_K_S, blk(i, "ffn_up.weight"), {4096, 11008}, i, s), GgmlType::Q4_K);
        }
        EXPECT_EQ(pick(QuantTarget::Q4_K_S, "output.weight", {4096, 32000}, 0, s), GgmlType::Q6_K);
    }
}

TEST(QuantMix, SingleTypeTargets) {
    const auto s = llama_shape(32);
    const struct {
        QuantTarget t;
        GgmlType body, output;
    } cases[] = {
        {QuantTarget::Q4_0, GgmlType::Q4_0, GgmlType::Q6_K}, {QuantTarget::Q4_1, GgmlType::Q4_1, GgmlType::Q6_K},
        {QuantTarget::Q5_0, GgmlType::Q5_0, GgmlType::Q6_K}, {QuantTarget::Q5_1, GgmlType::Q5_1, GgmlType::Q6_K},
        {QuantTarget::Q8_0, GgmlType::Q8_0, GgmlType::Q8_0}, {QuantTarget::Q5_K_S, GgmlType::Q5_K, GgmlType::Q6_K},
        {QuantTarget::Q6_K, GgmlType::Q6_K, GgmlType::Q6_K}, {QuantTarget::F16, GgmlType::F16, GgmlType::F16},
        {QuantTarget::BF16, GgmlType::BF16, GgmlType::BF16},
    };
    for (const auto& c : cases) {
        const char* name = quant_target_info(c.t).name;
        for (int i : {0, 5, 31}) {
            EXPECT_EQ(pick(c.t, blk(i, "attn_v.weight"), {4096, 1024}, i, s), c.body) << name;
            EXPECT_EQ(pick(c.t, blk(i, "ffn_down.weight"), {11008, 4096}, i, s), c.body) << name;
        }
        EXPECT_EQ(pick(c.t, "token_embd.weight", {4096, 32000}, 0, s), c.body) << name;
        EXPECT_EQ(pick(c.t, "output.weight", {4096, 32000}, 0, s), c.output) << name;
        EXPECT_EQ(pick(c.t, "blk.0.attn_norm.weight", {4096}, 0, s), GgmlType::F32) << name;
    }
}

TEST(QuantMix, TiedEmbeddingsGetTheOutputType) {
    auto s = llama_shape(22);
    s.has_output = false;
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "token_embd.weight", {2048, 32000}, 0, s), GgmlType::Q6_K);
    EXPECT_EQ(pick(QuantTarget::Q4_0, "token_embd.weight", {2048, 32000}, 0, s), GgmlType::Q6_K);
    EXPECT_EQ(pick(QuantTarget::Q8_0, "token_embd.weight", {2048, 32000}, 0, s), GgmlType::Q8_0);
}

TEST(QuantMix, FallbacksForRowLengths) {
    const auto s = llama_shape(32);
    // 96 values: a whole number of 32-blocks but not of 256-blocks.
    auto c = choose_tensor_type(QuantTarget::Q4_K_S, "blk.9.ffn_up.weight", std::vector<int64_t>{96, 64}, GgmlType::F32,
                                9, s);
    EXPECT_EQ(c.type, GgmlType::Q5_0);
    EXPECT_TRUE(c.fell_back);
    c = choose_tensor_type(QuantTarget::Q5_K_S, "blk.9.ffn_up.weight", std::vector<int64_t>{96, 64}, GgmlType::F32, 9,
                           s);
    EXPECT_EQ(c.type, GgmlType::Q5_1);
    c = choose_tensor_type(QuantTarget::Q6_K, "blk.9.ffn_up.weight", std::vector<int64_t>{96, 64}, GgmlType::F32, 9, s);
    EXPECT_EQ(c.type, GgmlType::Q8_0);
    // Q4_K_M's Q6_K layers fall back from Q6_K, the others from Q4_K.
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "blk.0.ffn_down.weight", {96, 64}, 0, s), GgmlType::Q8_0);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "blk.4.ffn_down.weight", {96, 64}, 4, s), GgmlType::Q5_0);
    // 172 values (stories260K's ffn): not even 32-blocks: F16.
    c = choose_tensor_type(QuantTarget::Q4_K_M, "blk.4.ffn_down.weight", std::vector<int64_t>{172, 64}, GgmlType::F32,
                           4, s);
    EXPECT_EQ(c.type, GgmlType::F16);
    EXPECT_TRUE(c.fell_back);
    EXPECT_EQ(pick(QuantTarget::Q4_0, "blk.4.ffn_down.weight", {172, 64}, 4, s), GgmlType::F16);
    // The output rule itself picks Q8_0 when the row does not fit the target's blocks.
    c = choose_tensor_type(QuantTarget::Q4_K_M, "output.weight", std::vector<int64_t>{64, 512}, GgmlType::F32, 0, s);
    EXPECT_EQ(c.type, GgmlType::Q8_0);
    EXPECT_FALSE(c.fell_back);
    // F16 targets have no block constraint.
    EXPECT_EQ(pick(QuantTarget::F16, "blk.4.ffn_down.weight", {172, 64}, 4, s), GgmlType::F16);
}

TEST(QuantMix, ArchitectureAndSizeRules) {
    auto falcon = llama_shape(32);
    falcon.arch = "falcon";
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "output.weight", {4544, 65024}, 0, falcon), GgmlType::Q8_0);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "blk.1.ffn_down.weight", {18176, 4544}, 1, falcon), GgmlType::Q6_K);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "blk.6.ffn_down.weight", {18176, 4544}, 6, falcon), GgmlType::Q5_K);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "blk.7.ffn_down.weight", {18176, 4544}, 7, falcon), GgmlType::Q4_K);
    // Llama 70B (80 layers, grouped KV heads): attn_v one step up even where Q4_K_M keeps Q4_K.
    const auto big = llama_shape(80);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "blk.11.attn_v.weight", {8192, 1024}, 11, big), GgmlType::Q5_K);
    EXPECT_EQ(pick(QuantTarget::Q4_K_M, "blk.12.attn_v.weight", {8192, 1024}, 12, big), GgmlType::Q6_K);
    EXPECT_EQ(pick(QuantTarget::Q4_K_S, "blk.40.attn_v.weight", {8192, 1024}, 40, big), GgmlType::Q5_K);
}

TEST(QuantMix, NonQuantizableTensorsKeepTheirType) {
    const auto s = llama_shape(4);
    EXPECT_EQ(pick(QuantTarget::Q4_0, "blk.0.attn_norm.weight", {64}, 0, s, GgmlType::F16), GgmlType::F16);
    EXPECT_EQ(pick(QuantTarget::Q4_0, "blk.0.ffn_gate_inp.weight", {4096, 8}, 0, s), GgmlType::F32);
    EXPECT_EQ(pick(QuantTarget::Q4_0, "blk.0.attn_q.bias", {4096}, 0, s), GgmlType::F32);
    EXPECT_EQ(pick(QuantTarget::Q4_0, "blk.0.attn_q.bias2d", {64, 64}, 0, s), GgmlType::F32);  // not "*weight"
    EXPECT_EQ(pick(QuantTarget::Q4_0, "position_embd.weight", {768, 1024}, 0, s), GgmlType::F32);
    EXPECT_FALSE(tensor_is_quantizable("blk.3.ssm_conv1d.weight", 2));
    EXPECT_TRUE(tensor_is_quantizable("blk.3.attn_q.weight", 2));
}

TEST(QuantTargets, ParseNames) {
    EXPECT_EQ(*parse_quant_target("q4_k_m"), QuantTarget::Q4_K_M);
    EXPECT_EQ(*parse_quant_target("Q4_K_M"), QuantTarget::Q4_K_M);
    EXPECT_EQ(*parse_quant_target("q4_k"), QuantTarget::Q4_K_S);
    EXPECT_EQ(*parse_quant_target("Q4_K_S"), QuantTarget::Q4_K_S);
    EXPECT_EQ(*parse_quant_target("q5_k"), QuantTarget::Q5_K_S);
    EXPECT_EQ(*parse_quant_target("BF16"), QuantTarget::BF16);
    EXPECT_EQ(*parse_quant_target("q6_K"), QuantTarget::Q6_K);
    auto bad = parse_quant_target("q3_k_m");
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.status().message().find("q3_k_m"), std::string::npos);
    EXPECT_NE(bad.status().message().find("q4_k_m"), std::string::npos);  // lists the valid names
    EXPECT_NE(bad.status().message().find("bf16"), std::string::npos);
    EXPECT_EQ(quant_target_info(QuantTarget::Q4_K_M).llama_ftype, 15u);
    EXPECT_EQ(quant_target_info(QuantTarget::Q4_K_S).llama_ftype, 14u);
    EXPECT_EQ(quant_target_info(QuantTarget::Q8_0).llama_ftype, 7u);
    EXPECT_EQ(quant_target_info(QuantTarget::BF16).llama_ftype, 32u);
    EXPECT_EQ(quant_target_info(QuantTarget::Q6_K).llama_ftype, 18u);
}

// ---- round trip through files ----

class QuantizeModelFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("pagoda_quantize_test_" + std::to_string(::getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    struct Tensor {
        std::string name;
        std::vector<int64_t> dims;
        std::vector<float> values;
    };

    // A 4-layer llama-shaped model with dims that exercise every rule: 256-wide matrices,
    // a 96-wide one (fallback), norms, and a tied/untied output.
    std::vector<Tensor> make_tensors() const {
        std::mt19937 rng(42);
        std::normal_distribution<float> g(0.0f, 0.05f);
        std::vector<Tensor> ts;
        auto add = [&](std::string name, std::vector<int64_t> dims) {
            int64_t n = 1;
            for (int64_t d : dims) n *= d;
            Tensor t{std::move(name), std::move(dims), std::vector<float>(static_cast<size_t>(n))};
            for (auto& v : t.values) v = g(rng);
            ts.push_back(std::move(t));
        };
        add("token_embd.weight", {256, 40});
        for (int i = 0; i < 4; ++i) {
            add(blk(i, "attn_norm.weight"), {256});
            add(blk(i, "attn_q.weight"), {256, 256});
            add(blk(i, "attn_k.weight"), {256, 64});
            add(blk(i, "attn_v.weight"), {256, 64});
            add(blk(i, "attn_output.weight"), {256, 256});
            add(blk(i, "ffn_norm.weight"), {256});
            add(blk(i, "ffn_gate.weight"), {256, 96});
            add(blk(i, "ffn_up.weight"), {256, 96});
            add(blk(i, "ffn_down.weight"), {96, 256});
        }
        add("output_norm.weight", {256});
        add("output.weight", {256, 40});
        return ts;
    }

    std::string write_f32_model(const std::vector<Tensor>& ts) const {
        GgufWriter w;
        w.set_string("general.architecture", "llama");
        w.set_string("general.name", "quantize-test");
        w.set_u32("general.file_type", 0);
        w.set_u32("llama.block_count", 4);
        w.set_u32("llama.embedding_length", 256);
        w.set_u32("llama.attention.head_count", 4);
        w.set_u32("llama.attention.head_count_kv", 1);
        w.set_f32("llama.rope.freq_base", 10000.0f);
        w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hello"});
        for (const auto& t : ts) {
            std::vector<uint8_t> bytes(t.values.size() * 4);
            std::memcpy(bytes.data(), t.values.data(), bytes.size());
            EXPECT_TRUE(w.add_tensor(t.name, GgmlType::F32, t.dims, std::move(bytes)).is_ok());
        }
        const std::string p = path("model-f32.gguf");
        EXPECT_TRUE(w.write(p).is_ok());
        return p;
    }

    std::filesystem::path dir_;
};

double max_abs_error_allowed(GgmlType t) {
    // Per value, relative to the data's sigma (0.05): generous multiples of each format's step.
    switch (t) {
        case GgmlType::F32:
            return 0.0;
        case GgmlType::F16:
            return 0.05 * 4e-3;  // 2^-11 relative on values up to ~5 sigma
        case GgmlType::BF16:
            return 0.05 * 3e-2;
        case GgmlType::Q8_0:
            return 0.05 * 3e-2;
        case GgmlType::Q6_K:
            return 0.05 * 0.2;
        case GgmlType::Q5_0:
        case GgmlType::Q5_1:
        case GgmlType::Q5_K:
            return 0.05 * 0.3;
        default:
            return 0.05 * 0.6;  // 4-bit
    }
}

TEST_F(QuantizeModelFiles, EveryTargetRoundTrips) {
    const auto tensors = make_tensors();
    const std::string in = write_f32_model(tensors);
    for (const auto& target_name :
         {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q4_k_m", "q5_k", "q6_k"}) {
        const QuantTarget target = *parse_quant_target(target_name);
        const std::string out = path(std::string("model-") + target_name + ".gguf");
        size_t events = 0;
        QuantizeOptions opts;
        opts.target = target;
        opts.n_threads = 2;
        opts.on_tensor = [&](const TensorQuantEvent& ev) {
            EXPECT_EQ(ev.index, events);
            EXPECT_EQ(ev.count, tensors.size());
            EXPECT_FALSE(ev.requantized);
            ++events;
        };
        auto stats = quantize_model(in, out, opts);
        ASSERT_TRUE(stats.is_ok()) << target_name << ": " << stats.status().to_string();
        EXPECT_EQ(events, tensors.size());
        EXPECT_EQ(stats->n_tensors, tensors.size());
        EXPECT_LT(stats->bytes_out, stats->bytes_in) << target_name;

        auto file = GgufFile::open(out);
        ASSERT_TRUE(file.is_ok()) << file.status().to_string();
        const GgufFile& f = *file.value();
        EXPECT_EQ(f.get_int("general.file_type"), quant_target_info(target).llama_ftype) << target_name;
        EXPECT_EQ(f.get_int("general.quantization_version"), 2);
        ASSERT_NE(f.get_string("general.name"), nullptr);
        EXPECT_EQ(*f.get_string("general.name"), "quantize-test");
        EXPECT_EQ(f.get_int("llama.block_count"), 4);
        ASSERT_NE(f.get_array("tokenizer.ggml.tokens"), nullptr);
        EXPECT_EQ(f.get_array("tokenizer.ggml.tokens")->items.size(), 4u);
        ASSERT_EQ(f.tensors().size(), tensors.size());

        QuantModelShape shape;
        shape.arch = "llama";
        shape.n_layers = 4;
        shape.n_attention_wv = 4;
        shape.n_head = 4;
        shape.n_head_kv = 1;
        for (const auto& t : tensors) {
            const GgufTensorInfo* info = f.find_tensor(t.name);
            ASSERT_NE(info, nullptr) << t.name;
            EXPECT_EQ(info->dims, t.dims) << t.name;
            const int layer = t.name.rfind("blk.", 0) == 0 ? t.name[4] - '0' : 0;
            const GgmlType want = choose_tensor_type(target, t.name, t.dims, GgmlType::F32, layer, shape).type;
            EXPECT_EQ(info->type, want) << target_name << " " << t.name;
            // Bytes are exactly what quantize_row makes of the original rows...
            const int64_t n = t.dims[0];
            const int64_t rows = static_cast<int64_t>(t.values.size()) / n;
            std::vector<uint8_t> expect(*ggml_row_bytes(info->type, n) * rows);
            for (int64_t r = 0; r < rows; ++r) {
                ASSERT_TRUE(quantize_row(info->type, t.values.data() + r * n,
                                         expect.data() + r * *ggml_row_bytes(info->type, n), n)
                                .is_ok());
            }
            ASSERT_EQ(info->n_bytes, expect.size()) << t.name;
            EXPECT_EQ(std::memcmp(info->data, expect.data(), expect.size()), 0) << target_name << " " << t.name;
            // ...and decode close to the originals.
            std::vector<float> back(t.values.size());
            for (int64_t r = 0; r < rows; ++r) {
                dequantize_row(info->type, info->data + r * *ggml_row_bytes(info->type, n), back.data() + r * n, n);
            }
            double worst = 0;
            for (size_t i = 0; i < back.size(); ++i) worst = std::max(worst, std::fabs(double(back[i]) - t.values[i]));
            EXPECT_LE(worst, max_abs_error_allowed(info->type) + 1e-12) << target_name << " " << t.name;
        }
    }
}

TEST_F(QuantizeModelFiles, Q4_K_MTypesInTheFile) {
    const std::string in = write_f32_model(make_tensors());
    const std::string out = path("m.gguf");
    QuantizeOptions opts;
    opts.target = QuantTarget::Q4_K_M;
    ASSERT_TRUE(quantize_model(in, out, opts).is_ok());
    auto f = GgufFile::open(out);
    ASSERT_TRUE(f.is_ok());
    auto type_of = [&](const std::string& name) { return f.value()->find_tensor(name)->type; };
    EXPECT_EQ(type_of("output.weight"), GgmlType::Q6_K);
    EXPECT_EQ(type_of("token_embd.weight"), GgmlType::Q4_K);
    EXPECT_EQ(type_of("output_norm.weight"), GgmlType::F32);
    // 4 layers: n/8 = 0 and 7n/8 = 3, so use_more_bits holds for layer 3 and for layer 2 ((2-0)%3 == 2).
    EXPECT_EQ(type_of("blk.0.attn_v.weight"), GgmlType::Q4_K);
    EXPECT_EQ(type_of("blk.1.attn_v.weight"), GgmlType::Q4_K);
    EXPECT_EQ(type_of("blk.2.attn_v.weight"), GgmlType::Q6_K);
    EXPECT_EQ(type_of("blk.3.attn_v.weight"), GgmlType::Q6_K);
    // ffn_down rows are 96 wide: Q6_K falls back to Q8_0, Q4_K to Q5_0.
    EXPECT_EQ(type_of("blk.0.ffn_down.weight"), GgmlType::Q5_0);
    EXPECT_EQ(type_of("blk.2.ffn_down.weight"), GgmlType::Q8_0);
    EXPECT_EQ(type_of("blk.3.ffn_down.weight"), GgmlType::Q8_0);
    EXPECT_EQ(type_of("blk.0.attn_q.weight"), GgmlType::Q4_K);
}

TEST_F(QuantizeModelFiles, RequantizesQuantizedInput) {
    const auto tensors = make_tensors();
    const std::string in = write_f32_model(tensors);
    const std::string q8 = path("q8.gguf"), q4 = path("q4.gguf");
    QuantizeOptions opts;
    opts.target = QuantTarget::Q8_0;
    ASSERT_TRUE(quantize_model(in, q8, opts).is_ok());
    opts.target = QuantTarget::Q4_K_M;
    size_t requantized_events = 0;
    opts.on_tensor = [&](const TensorQuantEvent& ev) { requantized_events += ev.requantized; };
    auto stats = quantize_model(q8, q4, opts);
    ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
    EXPECT_GT(stats->n_requantized, 0u);
    EXPECT_EQ(stats->n_requantized, requantized_events);
    auto f = GgufFile::open(q4);
    ASSERT_TRUE(f.is_ok());
    const auto* info = f.value()->find_tensor("blk.1.attn_q.weight");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->type, GgmlType::Q4_K);
    for (const auto& t : tensors) {
        if (t.name != "blk.1.attn_q.weight") continue;
        std::vector<float> back(t.values.size());
        const uint64_t rb = *ggml_row_bytes(info->type, 256);
        for (int r = 0; r < 256; ++r) dequantize_row(info->type, info->data + r * rb, back.data() + r * 256, 256);
        for (size_t i = 0; i < back.size(); ++i) ASSERT_NEAR(back[i], t.values[i], 0.05 * 0.7) << i;
    }
}

TEST_F(QuantizeModelFiles, ClearErrors) {
    QuantizeOptions opts;
    opts.target = QuantTarget::Q4_0;
    auto missing = quantize_model(path("nope.gguf"), path("out.gguf"), opts);
    ASSERT_FALSE(missing.is_ok());
    EXPECT_NE(missing.status().message().find("nope.gguf"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(path("out.gguf")));

    const std::string in = write_f32_model(make_tensors());
    auto same = quantize_model(in, in, opts);
    ASSERT_FALSE(same.is_ok());
    EXPECT_EQ(same.status().code(), ErrorCode::invalid_argument);

    // A file that is not GGUF.
    const std::string junk = path("junk.gguf");
    {
        FILE* fp = std::fopen(junk.c_str(), "wb");
        ASSERT_NE(fp, nullptr);
        std::fputs("this is not a model", fp);
        std::fclose(fp);
    }
    auto bad = quantize_model(junk, path("out2.gguf"), opts);
    EXPECT_FALSE(bad.is_ok());
    EXPECT_FALSE(std::filesystem::exists(path("out2.gguf")));
}

}  // namespace
}  // namespace pagoda
