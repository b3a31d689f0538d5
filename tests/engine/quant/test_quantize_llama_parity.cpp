// `pagoda quantize` against llama.cpp's own llama_model_quantize (libllama from the
// node-llama-cpp peer, dlopen'ed): for every target and several models, the two output
// files must hold the same tensors with the same types and the same bytes.
// Skips when the peer is not installed.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <span>
#include <string>

#include "fixtures/random_model.h"
#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/quantize_model.h"

namespace pagoda {
namespace {

// llama_model_quantize_params as declared in the llama.h of the peer's llama.cpp
// (node-llama-cpp 3.21.1, llama.cpp release v0.4.0).
struct LlamaQuantizeParams {
    int32_t nthread;
    int32_t ftype;
    int32_t output_tensor_type;
    int32_t token_embedding_type;
    bool allow_requantize;
    bool quantize_output_tensor;
    bool only_copy;
    bool pure;
    bool keep_split;
    bool dry_run;
    const void* imatrix;
    const void* kv_overrides;
    const void* tt_overrides;
    const int32_t* prune_layers;
    size_t max_buf_size;
};

class LlamaQuantizePeer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const std::string lib = std::string(PAGODA_TEST_DATA_DIR) +
                                "/../peers/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.4.0.so";
        if (!std::filesystem::exists(lib)) return;
        handle_ = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle_) return;
        using LogFn = void (*)(int, const char*, void*);
        if (auto set_log = reinterpret_cast<void (*)(LogFn, void*)>(dlsym(handle_, "llama_log_set"))) {
            set_log([](int, const char*, void*) {}, nullptr);  // llama.cpp logs every tensor otherwise
        }
        if (auto init = reinterpret_cast<void (*)()>(dlsym(handle_, "llama_backend_init"))) init();
        default_params_ =
            reinterpret_cast<LlamaQuantizeParams (*)()>(dlsym(handle_, "llama_model_quantize_default_params"));
        quantize_ = reinterpret_cast<uint32_t (*)(const char*, const char*, const LlamaQuantizeParams*)>(
            dlsym(handle_, "llama_model_quantize"));
    }

    void SetUp() override {
        if (!default_params_ || !quantize_) GTEST_SKIP() << "node-llama-cpp's libllama not available";
        dir_ = std::filesystem::temp_directory_path() / ("pagoda_llama_quant_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    static constexpr QuantTarget kAllTargets[] = {QuantTarget::F16,    QuantTarget::BF16,   QuantTarget::Q8_0,
                                                  QuantTarget::Q4_0,   QuantTarget::Q4_1,   QuantTarget::Q5_0,
                                                  QuantTarget::Q5_1,   QuantTarget::Q4_K_S, QuantTarget::Q4_K_M,
                                                  QuantTarget::Q5_K_S, QuantTarget::Q6_K};

    // Quantizes `model` both ways with each target and compares the files.
    void compare_targets(const std::string& model, const std::string& label, std::span<const QuantTarget> targets) {
        for (QuantTarget target : targets) {
            const auto& info = quant_target_info(target);
            const std::string theirs_path = path(label + "-llama-" + info.name + ".gguf");
            const std::string ours_path = path(label + "-ours-" + info.name + ".gguf");
            LlamaQuantizeParams params = default_params_();
            params.ftype = static_cast<int32_t>(info.llama_ftype);
            params.nthread = 1;
            ASSERT_EQ(quantize_(model.c_str(), theirs_path.c_str(), &params), 0u) << label << " " << info.name;
            QuantizeOptions options;
            options.target = target;
            options.n_threads = 2;
            auto stats = quantize_model(model, ours_path, options);
            ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();

            auto theirs = GgufFile::open(theirs_path);
            auto ours = GgufFile::open(ours_path);
            ASSERT_TRUE(theirs.is_ok() && ours.is_ok());
            const GgufFile& a = *theirs.value();
            const GgufFile& b = *ours.value();
            EXPECT_EQ(b.get_int("general.file_type"), a.get_int("general.file_type")) << label << " " << info.name;
            EXPECT_EQ(b.get_int("general.quantization_version"), a.get_int("general.quantization_version"));
            ASSERT_EQ(a.tensors().size(), b.tensors().size());
            for (const auto& ta : a.tensors()) {
                const GgufTensorInfo* tb = b.find_tensor(ta.name);
                ASSERT_NE(tb, nullptr) << ta.name;
                EXPECT_EQ(tb->dims, ta.dims) << ta.name;
                EXPECT_EQ(ggml_type_name(tb->type), std::string(ggml_type_name(ta.type)))
                    << label << " " << info.name << " " << ta.name;
                if (tb->type != ta.type || tb->n_bytes != ta.n_bytes) continue;
                EXPECT_EQ(std::memcmp(tb->data, ta.data, ta.n_bytes), 0)
                    << label << " " << info.name << " " << ta.name << ": bytes differ";
            }
            std::filesystem::remove(theirs_path);
            std::filesystem::remove(ours_path);
        }
    }

    static void* handle_;
    static LlamaQuantizeParams (*default_params_)();
    static uint32_t (*quantize_)(const char*, const char*, const LlamaQuantizeParams*);
    std::filesystem::path dir_;
};
void* LlamaQuantizePeer::handle_ = nullptr;
LlamaQuantizeParams (*LlamaQuantizePeer::default_params_)() = nullptr;
uint32_t (*LlamaQuantizePeer::quantize_)(const char*, const char*, const LlamaQuantizeParams*) = nullptr;

TEST_F(LlamaQuantizePeer, Stories260KMatchesLlamaCpp) {
    // Real trained weights; its 64- and 172-wide rows exercise every fallback.
    const std::string model = std::string(PAGODA_SHARED_DIR) + "/models/stories260K.gguf";
    if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " not found";
    compare_targets(model, "stories", kAllTargets);
}

TEST_F(LlamaQuantizePeer, RandomLlamaModelsMatchLlamaCpp) {
    // 256-aligned rows so the K mixes apply unchanged; 8 layers so use_more_bits picks
    // layers 0, 3, 6 and 7; and a tied-embedding variant (token_embd takes output's type).
    for (bool tied : {false, true}) {
        fixtures::RandomModelConfig config;
        config.arch = "llama";
        config.seed = tied ? 11 : 7;
        config.dim = 256;
        config.ffn = 256;
        config.n_layers = 8;
        config.n_heads = 4;
        config.n_kv_heads = 2;
        config.vocab = 320;
        config.tied = tied;
        const std::string model = path(tied ? "tied-f32.gguf" : "untied-f32.gguf");
        ASSERT_TRUE(fixtures::write_random_model(config, model).is_ok());
        // The mixes (stories260K covers the plain types); the tied model only needs one.
        static constexpr QuantTarget kMixes[] = {QuantTarget::Q4_0, QuantTarget::Q4_K_S, QuantTarget::Q4_K_M,
                                                 QuantTarget::Q5_K_S, QuantTarget::Q6_K};
        static constexpr QuantTarget kTied[] = {QuantTarget::Q4_K_M};
        compare_targets(model, tied ? "tied" : "untied", tied ? std::span<const QuantTarget>(kTied) : kMixes);
    }
}

TEST_F(LlamaQuantizePeer, QwenWithBiasesMatchesLlamaCpp) {
    fixtures::RandomModelConfig config;
    config.arch = "qwen2";
    config.seed = 3;
    config.dim = 256;
    config.ffn = 256;
    config.n_layers = 3;
    config.n_heads = 4;
    config.n_kv_heads = 2;
    const std::string model = path("qwen2-f32.gguf");
    const Status written = fixtures::write_random_model(config, model);
    ASSERT_TRUE(written.is_ok()) << written.to_string();
    static constexpr QuantTarget kSome[] = {QuantTarget::Q8_0, QuantTarget::Q4_K_M};
    compare_targets(model, "qwen2", kSome);
}

}  // namespace
}  // namespace pagoda
