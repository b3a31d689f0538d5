// LoRA adapter files: the PEFT and GGUF forms of one random adapter load to the same
// LoraAdapter, and every way a file can disagree with itself or with the base model is
// refused with a message that says which tensor and why.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fixtures/random_lora.h"
#include "lora/gguf_adapter_loader.h"
#include "lora/load_lora_adapter.h"
#include "lora/peft_adapter_loader.h"
#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "model/model_config.h"
#include "model/quant/quant.h"
#include "model/safetensors_writer.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;
using fixtures::RandomLoraConfig;
using fixtures::RandomLoraDtype;
using fixtures::RandomModelConfig;

RandomModelConfig small_model(const std::string& arch, int32_t layers = 2, int32_t dim = 64) {
    RandomModelConfig m;
    m.arch = arch;
    m.dim = dim;
    m.n_layers = layers;
    m.ffn = 96;
    m.n_heads = 4;
    m.n_kv_heads = 2;
    m.vocab = 300;
    m.ctx = 64;
    return m;
}

ModelConfig config_of(const RandomModelConfig& m) {
    GgufWriter w;
    EXPECT_TRUE(fixtures::build_random_model(m, w).is_ok());
    const auto bytes = w.to_bytes();
    auto f = GgufFile::parse(bytes, "base.gguf");
    EXPECT_TRUE(f.is_ok());
    auto c = parse_model_config(*f.value());
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.value();
}

class LoraFiles : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ =
            fs::temp_directory_path() / ("pagoda_lora_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& leaf) const { return (dir_ / leaf).string(); }

    // Writes the PEFT folder and GGUF file of a random adapter under dir_/<tag>.
    LoraAdapter write_both(const RandomModelConfig& m, const RandomLoraConfig& l, const std::string& tag = "a") {
        auto adapter = fixtures::make_random_lora(m, l);
        EXPECT_TRUE(adapter.is_ok()) << adapter.status().to_string();
        EXPECT_TRUE(fixtures::write_random_lora_peft(m, l, adapter.value(), path(tag + "_peft")).is_ok());
        EXPECT_TRUE(fixtures::write_random_lora_gguf(m, l, adapter.value(), path(tag + ".gguf")).is_ok());
        return adapter.value();
    }

    void edit_config(const std::string& peft_dir, const std::function<void(nlohmann::json&)>& edit) {
        const std::string p = peft_dir + "/adapter_config.json";
        std::ifstream in(p);
        nlohmann::json c = nlohmann::json::parse(in);
        in.close();
        edit(c);
        std::ofstream(p) << c.dump();
    }

    fs::path dir_;
};

void expect_same(const LoraAdapter& got, const LoraAdapter& want, bool exact_scale = true) {
    EXPECT_EQ(got.rank, want.rank);
    if (exact_scale) {
        EXPECT_EQ(got.scale, want.scale);
    } else {
        EXPECT_NEAR(got.scale, want.scale, 1e-6 * std::abs(want.scale));
    }
    ASSERT_EQ(got.layers.size(), want.layers.size());
    for (size_t l = 0; l < want.layers.size(); ++l) {
        for (int t = 0; t < kLoraTargetCount; ++t) {
            const auto& g = got.layers[l][t];
            const auto& w = want.layers[l][t];
            ASSERT_EQ(g.has_value(), w.has_value()) << "layer " << l << " target " << t;
            if (!w) continue;
            EXPECT_EQ(g->rank, w->rank);
            EXPECT_EQ(g->in_features, w->in_features);
            EXPECT_EQ(g->out_features, w->out_features);
            EXPECT_EQ(g->a, w->a) << "layer " << l << " " << lora_target_peft_name(static_cast<LoraTarget>(t));
            EXPECT_EQ(g->b, w->b) << "layer " << l << " " << lora_target_peft_name(static_cast<LoraTarget>(t));
        }
    }
}

Status load_error(const std::string& path, const ModelConfig& base, const std::string& name = "x") {
    return load_lora_adapter(path, base, name).status();
}

void expect_error(const Status& s, const std::string& needle, ErrorCode code) {
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), code) << s.to_string();
    EXPECT_NE(s.message().find(needle), std::string::npos) << "'" << needle << "' not in: " << s.message();
}

TEST(LoraTargetNames, PeftAndGguf) {
    EXPECT_STREQ(lora_target_peft_name(LoraTarget::q), "q_proj");
    EXPECT_STREQ(lora_target_peft_name(LoraTarget::down), "down_proj");
    EXPECT_STREQ(lora_target_gguf_name(LoraTarget::o), "attn_output");
    EXPECT_STREQ(lora_target_gguf_name(LoraTarget::gate), "ffn_gate");
}

TEST_F(LoraFiles, PeftAndGgufLoadTheSameAdapter) {
    for (const std::string arch : {"llama", "qwen2", "qwen3", "mistral"}) {
        for (RandomLoraDtype dtype : {RandomLoraDtype::f32, RandomLoraDtype::f16, RandomLoraDtype::bf16}) {
            SCOPED_TRACE(arch + " dtype " + std::to_string(static_cast<int>(dtype)));
            const auto m = small_model(arch);
            RandomLoraConfig l;
            l.dtype = dtype;
            l.seed = 11 + static_cast<int>(dtype);
            const LoraAdapter want = write_both(m, l);
            const ModelConfig base = config_of(m);

            auto peft = load_lora_adapter(path("a_peft"), base);
            ASSERT_TRUE(peft.is_ok()) << peft.status().to_string();
            auto gguf = load_lora_adapter(path("a.gguf"), base);
            ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
            expect_same(peft.value(), want);
            expect_same(gguf.value(), want);
            EXPECT_EQ(peft->alpha, 16.0f);
            EXPECT_EQ(gguf->alpha, 16.0f);
            EXPECT_EQ(peft->scale, 2.0f);
            EXPECT_EQ(peft->name, "a_peft");
            EXPECT_EQ(gguf->name, "a");
            EXPECT_EQ(peft->architecture, base.arch_name);
            EXPECT_EQ(gguf->architecture, base.arch_name);
            EXPECT_EQ(peft->bytes(), want.bytes());
            // The safetensors file alone finds its config beside it.
            auto by_file = load_lora_adapter(path("a_peft/adapter_model.safetensors"), base, "named");
            ASSERT_TRUE(by_file.is_ok()) << by_file.status().to_string();
            EXPECT_EQ(by_file->name, "named");
            expect_same(by_file.value(), want);
        }
    }
}

TEST_F(LoraFiles, LlamaQkRowsArePermutedLikeTheConverter) {
    for (const std::string arch : {"llama", "qwen2"}) {
        const auto m = small_model(arch);
        const LoraAdapter want = write_both(m, RandomLoraConfig{});
        auto raw = load_peft_adapter(path("a_peft"));
        ASSERT_TRUE(raw.is_ok()) << raw.status().to_string();
        const bool llama = arch == "llama";
        // The raw PEFT file holds HF row order: it differs from the GGUF layout for llama only.
        EXPECT_EQ(raw->layers[0][0]->b != want.layers[0][0]->b, llama) << arch;  // q
        EXPECT_EQ(raw->layers[0][1]->b != want.layers[0][1]->b, llama) << arch;  // k
        EXPECT_EQ(raw->layers[0][2]->b, want.layers[0][2]->b);                   // v is never permuted
        // Row h*hd + 2i + j of the GGUF layout is row h*hd + j*hd/2 + i of the HF layout.
        const int32_t hd = 16, rank = 8;
        if (llama) {
            EXPECT_EQ(want.layers[0][0]->b[(1 * hd + 2 * 3 + 1) * rank + 5],
                      raw->layers[0][0]->b[(1 * hd + 8 + 3) * rank + 5]);
        }
    }
}

TEST_F(LoraFiles, SubsetOfLayersAndTargets) {
    const auto m = small_model("qwen2", 3);
    RandomLoraConfig l;
    l.targets = {LoraTarget::v, LoraTarget::down};
    l.layers = {1};
    l.rank = 4;
    const LoraAdapter want = write_both(m, l);
    const ModelConfig base = config_of(m);
    auto peft = load_lora_adapter(path("a_peft"), base);
    ASSERT_TRUE(peft.is_ok()) << peft.status().to_string();
    auto gguf = load_lora_adapter(path("a.gguf"), base);
    ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
    EXPECT_EQ(peft->layers.size(), 3u);  // sized to the base model
    expect_same(peft.value(), want);
    expect_same(gguf.value(), want);
    EXPECT_FALSE(peft->layers[0][static_cast<int>(LoraTarget::v)].has_value());
    EXPECT_TRUE(peft->layers[1][static_cast<int>(LoraTarget::v)].has_value());
    EXPECT_EQ(peft->bytes(), uint64_t{4} * (64 + 32 + 96 + 64) * sizeof(float));
}

TEST_F(LoraFiles, RsLoraScale) {
    const auto m = small_model("qwen3");
    RandomLoraConfig l;
    l.rslora = true;
    l.rank = 16;
    l.alpha = 8.0f;
    const LoraAdapter want = write_both(m, l);
    const ModelConfig base = config_of(m);
    auto peft = load_lora_adapter(path("a_peft"), base);
    ASSERT_TRUE(peft.is_ok()) << peft.status().to_string();
    EXPECT_FLOAT_EQ(peft->scale, 8.0f / 4.0f);  // alpha / sqrt(rank), not alpha / rank = 0.5
    EXPECT_EQ(peft->alpha, 8.0f);
    // llama.cpp's GGUF has no rsLoRA flag: the file stores alpha * sqrt(rank).
    auto gguf = load_lora_adapter(path("a.gguf"), base);
    ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
    EXPECT_FLOAT_EQ(gguf->alpha, 32.0f);
    expect_same(gguf.value(), want, /*exact_scale=*/false);
    expect_same(peft.value(), want, /*exact_scale=*/false);
}

TEST_F(LoraFiles, FanInFanOutChangesNothingForLinearLayers) {
    // In PEFT, fan_in_fan_out only transposes the merged delta for Conv1D bases; lora_A
    // and lora_B are nn.Linear weights in either case.
    const auto m = small_model("llama");
    const LoraAdapter want = write_both(m, RandomLoraConfig{});
    edit_config(path("a_peft"), [](nlohmann::json& c) { c["fan_in_fan_out"] = true; });
    auto peft = load_lora_adapter(path("a_peft"), config_of(m));
    ASSERT_TRUE(peft.is_ok()) << peft.status().to_string();
    expect_same(peft.value(), want);
}

TEST_F(LoraFiles, AlphaPatternIsFoldedIntoB) {
    const auto m = small_model("qwen2");
    const LoraAdapter want = write_both(m, RandomLoraConfig{});
    edit_config(path("a_peft"), [](nlohmann::json& c) {
        c["alpha_pattern"] = {{"model.layers.1.self_attn.v_proj", 48.0}};
        c["target_modules"] = ".*proj";  // a regex string: the tensors decide
    });
    auto peft = load_lora_adapter(path("a_peft"), config_of(m));
    ASSERT_TRUE(peft.is_ok()) << peft.status().to_string();
    EXPECT_EQ(peft->scale, 2.0f);
    const auto& v1 = peft->layers[1][static_cast<int>(LoraTarget::v)];
    const auto& v0 = peft->layers[0][static_cast<int>(LoraTarget::v)];
    EXPECT_EQ(v0->b, want.layers[0][static_cast<int>(LoraTarget::v)]->b);
    for (size_t i = 0; i < v1->b.size(); ++i) {
        ASSERT_FLOAT_EQ(v1->b[i], 3.0f * want.layers[1][static_cast<int>(LoraTarget::v)]->b[i]);
    }
    edit_config(path("a_peft"), [](nlohmann::json& c) { c["alpha_pattern"] = {{"layers\\.1.*", 48.0}}; });
    expect_error(load_error(path("a_peft"), config_of(m)), "regular expression", ErrorCode::unsupported);
}

TEST_F(LoraFiles, MixedRanksShareOneScale) {
    // rank_pattern: q_proj has rank 4, the rest rank 8; each module's own scale is alpha / its rank.
    const auto m = small_model("qwen2", 1);
    RandomLoraConfig l8;
    l8.targets = {LoraTarget::v};
    RandomLoraConfig l4 = l8;
    l4.targets = {LoraTarget::q};
    l4.rank = 4;
    const LoraAdapter a8 = fixtures::make_random_lora(m, l8).value();
    const LoraAdapter a4 = fixtures::make_random_lora(m, l4).value();
    SafetensorsWriter w;
    const auto& q = *a4.layers[0][0];
    const auto& v = *a8.layers[0][2];
    const std::string p = "base_model.model.model.layers.0.self_attn.";
    ASSERT_TRUE(w.add_f32_tensor(p + "q_proj.lora_A.weight", SafetensorsDtype::F32, {4, q.in_features}, q.a).is_ok());
    ASSERT_TRUE(w.add_f32_tensor(p + "q_proj.lora_B.weight", SafetensorsDtype::F32, {q.out_features, 4}, q.b).is_ok());
    ASSERT_TRUE(w.add_f32_tensor(p + "v_proj.lora_A.weight", SafetensorsDtype::F32, {8, v.in_features}, v.a).is_ok());
    ASSERT_TRUE(w.add_f32_tensor(p + "v_proj.lora_B.weight", SafetensorsDtype::F32, {v.out_features, 8}, v.b).is_ok());
    fs::create_directories(path("mixed"));
    ASSERT_TRUE(w.write(path("mixed/adapter_model.safetensors")).is_ok());
    std::ofstream(path("mixed/adapter_config.json"))
        << R"({"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj"],)"
           R"("rank_pattern":{"q_proj":4}})";
    auto got = load_lora_adapter(path("mixed"), config_of(m));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(got->rank, 8);
    EXPECT_EQ(got->scale, 2.0f);
    EXPECT_EQ(got->layers[0][2]->b, v.b);
    ASSERT_EQ(got->layers[0][0]->rank, 4);
    for (size_t i = 0; i < q.b.size(); ++i) ASSERT_FLOAT_EQ(got->layers[0][0]->b[i], 2.0f * q.b[i]);  // (16/4) / 2
    // Without rank_pattern, a rank other than r is an error.
    std::ofstream(path("mixed/adapter_config.json")) << R"({"r":8,"lora_alpha":16})";
    expect_error(load_error(path("mixed"), config_of(m)), "says r = 8", ErrorCode::invalid_format);
}

TEST_F(LoraFiles, GgufQ8AndMissingAlpha) {
    const auto m = small_model("llama", 1);
    RandomLoraConfig l;
    l.targets = {LoraTarget::up};
    l.rank = 32;  // Q8_0 rows of lora_b hold `rank` values: a whole block
    const LoraAdapter want = fixtures::make_random_lora(m, l).value();
    const auto& p = *want.layers[0][static_cast<int>(LoraTarget::up)];
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("general.type", "adapter");
    w.set_string("adapter.type", "lora");
    auto q8 = [](const std::vector<float>& v, int64_t row) {
        std::vector<uint8_t> out(v.size() / 32 * 34);
        EXPECT_TRUE(quantize_row(GgmlType::Q8_0, v.data(), out.data(), static_cast<int64_t>(v.size())).is_ok());
        (void)row;
        return out;
    };
    ASSERT_TRUE(w.add_tensor("blk.0.ffn_up.weight.lora_a", GgmlType::Q8_0, {p.in_features, 32}, q8(p.a, 64)).is_ok());
    ASSERT_TRUE(w.add_tensor("blk.0.ffn_up.weight.lora_b", GgmlType::Q8_0, {32, p.out_features}, q8(p.b, 32)).is_ok());
    ASSERT_TRUE(w.write(path("q8.gguf")).is_ok());
    auto got = load_lora_adapter(path("q8.gguf"), config_of(m));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(got->scale, 1.0f);  // no adapter.lora.alpha: llama.cpp scales by 1
    EXPECT_EQ(got->alpha, 32.0f);
    const auto& g = *got->layers[0][static_cast<int>(LoraTarget::up)];
    float max_abs = 0;
    for (float v : p.a) max_abs = std::max(max_abs, std::abs(v));
    // Q8_0 keeps each value within half a step of its block's max / 127.
    for (size_t i = 0; i < p.a.size(); ++i) ASSERT_NEAR(g.a[i], p.a[i], max_abs / 200) << i;
}

TEST_F(LoraFiles, BaseModelMismatchesAreRefused) {
    const auto m = small_model("llama", 3, 128);
    write_both(m, RandomLoraConfig{});
    // Wrong width: the adapter was made for dim 128.
    const ModelConfig narrow = config_of(small_model("llama", 3, 64));
    expect_error(load_error(path("a_peft"), narrow, "wide"),
                 "adapter wide: layer 0 q_proj lora_A is [8, 128] ([rank, in]); the base model needs [8, 64]",
                 ErrorCode::invalid_argument);
    expect_error(load_error(path("a.gguf"), narrow), "needs [8, 64]", ErrorCode::invalid_argument);
    // Too few layers.
    const ModelConfig shallow = config_of(small_model("llama", 2, 128));
    expect_error(load_error(path("a.gguf"), shallow), "layer 2 q_proj: the base model has only 2 layers",
                 ErrorCode::invalid_argument);
    // Other architecture (GGUF says it; PEFT does not).
    auto qwen = small_model("qwen2", 3, 128);
    expect_error(load_error(path("a.gguf"), config_of(qwen)), "made for 'llama' models, but the base model is 'qwen2'",
                 ErrorCode::invalid_argument);
    EXPECT_TRUE(load_lora_adapter(path("a_peft"), config_of(qwen)).is_ok());
    // Wrong output width only (different kv heads).
    auto gqa = m;
    gqa.n_kv_heads = 4;
    expect_error(load_error(path("a_peft"), config_of(gqa)),
                 "layer 0 k_proj lora_B is [64, 8] ([out, rank]); the base model needs [128, 8]",
                 ErrorCode::invalid_argument);
}

TEST_F(LoraFiles, ValidateInMemory) {
    const auto m = small_model("qwen3", 1);
    const ModelConfig base = config_of(m);
    LoraAdapter a = fixtures::make_random_lora(m, RandomLoraConfig{}).value();
    EXPECT_TRUE(validate_lora_adapter(a, base).is_ok());
    LoraAdapter big = a;
    big.rank = 2048;
    expect_error(validate_lora_adapter(big, base), "outside 1..1024", ErrorCode::invalid_argument);
    LoraAdapter nan = a;
    nan.layers[0][3]->b[5] = NAN;
    expect_error(validate_lora_adapter(nan, base), "layer 0 o_proj lora_B holds NaN", ErrorCode::invalid_argument);
    LoraAdapter empty = a;
    for (auto& t : empty.layers[0]) t.reset();
    expect_error(validate_lora_adapter(empty, base), "adapts no module", ErrorCode::invalid_argument);
    LoraAdapter short_a = a;
    short_a.layers[0][1]->a.pop_back();
    expect_error(validate_lora_adapter(short_a, base), "layer 0 k_proj holds", ErrorCode::invalid_argument);
}

TEST_F(LoraFiles, BrokenFilesAreRefused) {
    const auto m = small_model("llama");
    const ModelConfig base = config_of(m);
    write_both(m, RandomLoraConfig{});
    // Truncated weights, both formats.
    const auto st = path("a_peft/adapter_model.safetensors");
    fs::resize_file(st, fs::file_size(st) - 3);
    expect_error(load_error(path("a_peft"), base), "adapter x: " + st + ": ", ErrorCode::invalid_format);
    fs::resize_file(path("a.gguf"), fs::file_size(path("a.gguf")) - 100);
    expect_error(load_error(path("a.gguf"), base), "adapter x: ", ErrorCode::invalid_format);
    // A model is not an adapter.
    ASSERT_TRUE(fixtures::write_random_model(m, path("model.gguf")).is_ok());
    expect_error(load_error(path("model.gguf"), base), "a model, not a LoRA adapter", ErrorCode::invalid_format);
    // Not there / not a known format.
    expect_error(load_error(path("nothing.gguf"), base), "nothing.gguf", ErrorCode::not_found);
    std::ofstream(path("notes.txt")) << "hello";
    expect_error(load_error(path("notes.txt"), base), "cannot tell its format", ErrorCode::unsupported);
    // PEFT folder without a config / with a pickle only.
    fs::create_directories(path("noconf"));
    fs::copy_file(path("a_peft/adapter_config.json"), path("noconf/adapter_model.safetensors"));
    expect_error(load_error(path("noconf"), base), "adapter_config.json: not found", ErrorCode::not_found);
    fs::create_directories(path("pickle"));
    std::ofstream(path("pickle/adapter_model.bin")) << "x";
    expect_error(load_error(path("pickle"), base), "PyTorch pickle", ErrorCode::unsupported);
}

// One A/B tensor set written by hand, to break one thing at a time.
class PeftTensors : public LoraFiles {
protected:
    Status load_with(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors,
                     const std::string& config = R"({"r":8,"lora_alpha":16})") {
        SafetensorsWriter w;
        for (const auto& [name, shape] : tensors) {
            int64_t n = 1;
            for (int64_t d : shape) n *= d;
            EXPECT_TRUE(w.add_f32_tensor(name, SafetensorsDtype::F32, shape, std::vector<float>(n, 0.01f)).is_ok());
        }
        fs::create_directories(path("h"));
        EXPECT_TRUE(w.write(path("h/adapter_model.safetensors")).is_ok());
        std::ofstream(path("h/adapter_config.json"), std::ios::trunc) << config;
        return load_error(path("h"), config_of(small_model("qwen2", 2)));
    }
    const std::string q = "base_model.model.model.layers.0.self_attn.q_proj.";
};

TEST_F(PeftTensors, GoodOneLoads) {
    EXPECT_TRUE(load_with({{q + "lora_A.weight", {8, 64}}, {q + "lora_B.weight", {64, 8}}}).is_ok());
    // The inner "model." is optional.
    EXPECT_TRUE(load_with({{"base_model.model.layers.1.mlp.down_proj.lora_A.weight", {8, 96}},
                           {"base_model.model.layers.1.mlp.down_proj.lora_B.weight", {64, 8}}})
                    .is_ok());
}

TEST_F(PeftTensors, ShapeAndPairingErrors) {
    expect_error(load_with({{q + "lora_A.weight", {8, 64}}}), "layer 0 q_proj has lora_A", ErrorCode::invalid_format);
    expect_error(load_with({{q + "lora_B.weight", {64, 8}}}), "but no lora_A", ErrorCode::invalid_format);
    expect_error(load_with({{q + "lora_A.weight", {8, 64}}, {q + "lora_B.weight", {64, 4}}}), "has rank 4",
                 ErrorCode::invalid_format);
    expect_error(load_with({{q + "lora_A.weight", {8, 64, 1}}, {q + "lora_B.weight", {64, 8}}}), "not 2-D",
                 ErrorCode::invalid_format);
    expect_error(load_with({{q + "lora_A.weight", {64, 8}}, {q + "lora_B.weight", {8, 64}}}), "has rank 64",
                 ErrorCode::invalid_format);  // transposed
    expect_error(load_with({{q + "lora_A.weight", {8, 32}}, {q + "lora_B.weight", {64, 8}}}, R"({"r":8})"),
                 "layer 0 q_proj lora_A is [8, 32] ([rank, in]); the base model needs [8, 64]",
                 ErrorCode::invalid_argument);
    expect_error(load_with({{"base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight", {8, 64}},
                            {"base_model.model.model.layers.7.self_attn.q_proj.lora_B.weight", {64, 8}}}),
                 "layer 7 q_proj: the base model has only 2 layers", ErrorCode::invalid_argument);
    expect_error(load_with({{"base_model.model.model.layers.99999.self_attn.q_proj.lora_A.weight", {8, 64}}}),
                 "adapts module", ErrorCode::unsupported);
    expect_error(load_with({{q + "lora_A.weight", {8, 64}},
                            {"base_model.model.layers.0.self_attn.q_proj.lora_A.weight", {8, 64}}}),
                 "are the same lora_A", ErrorCode::invalid_format);
    expect_error(load_with({}), "holds no LoRA", ErrorCode::invalid_format);
}

TEST_F(PeftTensors, UnsupportedFeatures) {
    const std::vector<std::pair<std::string, std::vector<int64_t>>> ok = {{q + "lora_A.weight", {8, 64}},
                                                                          {q + "lora_B.weight", {64, 8}}};
    expect_error(load_with(ok, R"({"r":8,"use_dora":true})"), "DoRA", ErrorCode::unsupported);
    expect_error(load_with(ok, R"({"r":8,"bias":"all"})"), "bias is 'all'", ErrorCode::unsupported);
    expect_error(load_with(ok, R"({"r":8,"modules_to_save":["lm_head","embed_tokens"]})"), "modules_to_save",
                 ErrorCode::unsupported);
    expect_error(load_with(ok, R"({"r":8,"peft_type":"IA3"})"), "LORA adapters only", ErrorCode::unsupported);
    expect_error(load_with(ok, R"({"r":8,"alora_invocation_tokens":[1,2]})"), "alora_invocation_tokens",
                 ErrorCode::unsupported);
    auto with = ok;
    with.push_back({q + "lora_magnitude_vector", {64}});
    expect_error(load_with(with), "DoRA", ErrorCode::unsupported);
    with = ok;
    with.push_back({"base_model.model.lm_head.lora_A.weight", {8, 64}});
    expect_error(load_with(with), "adapts module 'lm_head'", ErrorCode::unsupported);
    with = ok;
    with.push_back({"base_model.model.model.embed_tokens.lora_embedding_A", {8, 300}});
    expect_error(load_with(with), "embedding LoRA", ErrorCode::unsupported);
    with = ok;
    with.push_back({"base_model.model.lm_head.modules_to_save.default.weight", {300, 64}});
    expect_error(load_with(with), "modules_to_save", ErrorCode::unsupported);
    with = ok;
    with.push_back({q + "lora_B.bias", {64}});
    expect_error(load_with(with), "LoRA bias", ErrorCode::unsupported);
}

TEST_F(PeftTensors, ConfigErrors) {
    const std::vector<std::pair<std::string, std::vector<int64_t>>> ok = {{q + "lora_A.weight", {8, 64}},
                                                                          {q + "lora_B.weight", {64, 8}}};
    expect_error(load_with(ok, "{"), "not valid JSON", ErrorCode::invalid_format);
    expect_error(load_with(ok, "[]"), "not a JSON object", ErrorCode::invalid_format);
    expect_error(load_with(ok, R"({"lora_alpha":16})"), "has no 'r'", ErrorCode::invalid_format);
    expect_error(load_with(ok, R"({"r":"8"})"), "r must be a positive integer", ErrorCode::invalid_format);
    expect_error(load_with(ok, R"({"r":0})"), "r must be a positive integer", ErrorCode::invalid_format);
    expect_error(load_with(ok, R"({"r":8,"lora_alpha":"x"})"), "lora_alpha must be a number",
                 ErrorCode::invalid_format);
    expect_error(load_with(ok, R"({"r":8,"use_rslora":1})"), "use_rslora must be true or false",
                 ErrorCode::invalid_format);
    expect_error(load_with(ok, R"({"r":8,"target_modules":["v_proj","o_proj"]})"), "target_modules does not list",
                 ErrorCode::invalid_format);
    expect_error(load_with(ok, R"({"r":8,"target_modules":5})"), "target_modules must be", ErrorCode::invalid_format);
    EXPECT_TRUE(load_with(ok, R"({"r":8,"target_modules":["all-linear"]})").is_ok());
    EXPECT_TRUE(load_with(ok, R"({"r":8,"target_modules":["model.layers.0.self_attn.q_proj"]})").is_ok());
    EXPECT_TRUE(
        load_with(ok, R"({"r":8,"lora_alpha":16.5,"modules_to_save":null,"bias":"none","some_new_key":{}})").is_ok());
}

TEST_F(LoraFiles, MergedModelHoldsTheMergedWeights) {
    for (auto type : {fixtures::RandomModelType::f32, fixtures::RandomModelType::f16}) {
        auto m = small_model("llama", 1);
        m.type = type;
        RandomLoraConfig l;
        l.targets = {LoraTarget::q, LoraTarget::down};
        auto files = fixtures::write_random_lora_files(m, l, path("set"));
        ASSERT_TRUE(files.is_ok()) << files.status().to_string();
        auto base = GgufFile::open(files->base_gguf);
        auto merged = GgufFile::open(files->merged_gguf);
        ASSERT_TRUE(base.is_ok() && merged.is_ok());
        ASSERT_EQ(base.value()->tensors().size(), merged.value()->tensors().size());
        const LoraAdapter& a = files->adapter;
        for (const char* name : {"blk.0.attn_q.weight", "blk.0.ffn_down.weight", "blk.0.attn_k.weight"}) {
            const GgufTensorInfo* tb = base.value()->find_tensor(name);
            const GgufTensorInfo* tm = merged.value()->find_tensor(name);
            ASSERT_TRUE(tb && tm);
            const int64_t in = tb->dims[0], out = tb->dims[1];
            std::vector<float> wb(in * out), wm(in * out);
            dequantize_row(tb->type, tb->data, wb.data(), in * out);
            dequantize_row(tm->type, tm->data, wm.data(), in * out);
            const LoraTarget t = std::string(name).find("attn_q") != std::string::npos     ? LoraTarget::q
                                 : std::string(name).find("ffn_down") != std::string::npos ? LoraTarget::down
                                                                                           : LoraTarget::k;
            const auto& p = a.layers[0][static_cast<int>(t)];
            double max_delta = 0;
            for (int64_t o = 0; o < out; o += 7) {
                for (int64_t i = 0; i < in; i += 5) {
                    double want = wb[o * in + i];
                    if (p) {
                        for (int r = 0; r < p->rank; ++r) want += a.scale * p->b[o * p->rank + r] * p->a[r * in + i];
                    }
                    const double tol = type == fixtures::RandomModelType::f16 ? 2e-3 * (std::abs(want) + 0.1) : 1e-5;
                    ASSERT_NEAR(wm[o * in + i], want, tol) << name << " [" << o << ", " << i << "]";
                    max_delta = std::max(max_delta, static_cast<double>(std::abs(wm[o * in + i] - wb[o * in + i])));
                }
            }
            // The adapter changes what it targets, visibly, and nothing else.
            if (p) {
                EXPECT_GT(max_delta, 0.05) << name;
            } else {
                EXPECT_EQ(max_delta, 0.0) << name;
            }
        }
        // The merged file is still a model of the same shape.
        auto cfg = parse_model_config(*merged.value());
        ASSERT_TRUE(cfg.is_ok()) << cfg.status().to_string();
        EXPECT_EQ(cfg->n_embd, 64);
    }
}

TEST_F(LoraFiles, FixtureIsDeterministic) {
    const auto m = small_model("qwen2");
    RandomLoraConfig l;
    auto a = fixtures::make_random_lora(m, l).value();
    auto b = fixtures::make_random_lora(m, l).value();
    expect_same(a, b);
    l.seed = 8;
    auto c = fixtures::make_random_lora(m, l).value();
    EXPECT_NE(a.layers[0][0]->a, c.layers[0][0]->a);
}

}  // namespace
}  // namespace pagoda
