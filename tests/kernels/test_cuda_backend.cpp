// CUDA backend behaviour beyond op parity: refusing bad inputs with a Status instead of
// crashing, memory growth, and the CLI's device choice (which runs with or without a GPU).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backend_factory.h"
#include "create_cuda_backend.h"
#include "parity_harness.h"

namespace pagoda {
namespace {

using gpu_parity::Session;

// ---- device choice (no GPU needed) ------------------------------------------------------

TEST(CudaDeviceChoice, CpuIsAlwaysAvailable) {
    auto choice = cli::create_backend("cpu", 1);
    ASSERT_TRUE(choice.is_ok()) << choice.status().to_string();
    ASSERT_NE(choice->backend, nullptr);
    EXPECT_EQ(choice->backend->name().rfind("cpu", 0), 0u) << choice->backend->name();
}

TEST(CudaDeviceChoice, AutoFallsBackToCpuWithAReason) {
    auto choice = cli::create_backend("auto", 1);
    ASSERT_TRUE(choice.is_ok()) << choice.status().to_string();
    ASSERT_NE(choice->backend, nullptr);
    EXPECT_FALSE(choice->reason.empty());
    auto devices = list_cuda_devices();
    const bool usable_gpu = devices.is_ok() && !devices->empty();
    if (!usable_gpu) {
        EXPECT_EQ(choice->backend->name().rfind("cpu", 0), 0u) << choice->backend->name();
        EXPECT_NE(choice->reason.find("CPU"), std::string::npos) << choice->reason;
    }
}

TEST(CudaDeviceChoice, MalformedDevicesAreRefused) {
    for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1234567", "CUDA"}) {
        auto choice = cli::create_backend(bad, 1);
        EXPECT_FALSE(choice.is_ok()) << bad;
        if (!choice.is_ok()) {
            EXPECT_EQ(choice.status().code(), ErrorCode::invalid_argument) << bad;
        }
    }
}

TEST(CudaDeviceChoice, MissingGpuIsAnErrorNotACrash) {
    auto choice = cli::create_backend("cuda:99", 1);
    ASSERT_FALSE(choice.is_ok());
    EXPECT_NE(choice.status().message().find("cuda:99"), std::string::npos) << choice.status().message();
}

// ---- error handling on the device ---------------------------------------------------------

class CudaBackendErrors : public ::testing::Test {
protected:
    void SetUp() override {
        auto devices = list_cuda_devices();
        if (!devices.is_ok() || devices->empty()) GTEST_SKIP() << "no CUDA device";
        auto b = create_cuda_backend(0);
        if (!b.is_ok()) GTEST_SKIP() << "no CUDA device: " << b.status().message();
        backend_ = std::move(b.value());
    }
    std::unique_ptr<Backend> backend_;
};

TEST_F(CudaBackendErrors, NameNamesTheDevice) { EXPECT_EQ(backend_->name().rfind("cuda:0 (", 0), 0u); }

TEST_F(CudaBackendErrors, TokenOutsideTheVocabularyFailsTheStep) {
    std::vector<float> table(10 * 8, 1.0f);
    auto w = backend_->load_weight(GgmlType::F32, 10, 8, table.data());
    ASSERT_TRUE(w.is_ok());
    auto out = backend_->alloc_activations(1, 8);
    ASSERT_TRUE(out.is_ok());
    const std::vector<TokenId> tokens = {10};
    const std::vector<int32_t> positions = {0}, query_start = {0, 1}, context_lens = {1}, tables = {0}, rows = {0};
    const std::vector<int64_t> slots = {0};
    StepInputs in{tokens, positions, slots, query_start, context_lens, tables, 1, rows};
    ASSERT_TRUE(backend_->begin_step(in).is_ok());
    backend_->embed(*w, *out);
    const Status s = backend_->end_step();
    EXPECT_EQ(s.code(), ErrorCode::invalid_argument) << s.to_string();
    // The backend still works afterwards.
    auto x = backend_->alloc_activations(1, 4);
    ASSERT_TRUE(x.is_ok());
    const std::vector<float> v = {1, 2, 3, 4};
    ASSERT_TRUE(backend_->write(*x, v.data()).is_ok());
    backend_->add(*x, *x);
    EXPECT_TRUE(backend_->end_step().is_ok());
    std::vector<float> back(4);
    ASSERT_TRUE(backend_->read(*x, back.data()).is_ok());
    EXPECT_EQ(back, (std::vector<float>{2, 4, 6, 8}));
}

TEST_F(CudaBackendErrors, SlotOutsideTheKvPoolIsRefused) {
    KvCacheConfig kv;
    kv.n_layers = 1;
    kv.n_kv_heads = 1;
    kv.head_dim = 32;
    kv.n_blocks = 2;
    ASSERT_TRUE(backend_->init_kv_cache(kv).is_ok());
    const std::vector<TokenId> tokens = {1};
    const std::vector<int32_t> positions = {0}, query_start = {0, 1}, context_lens = {1}, tables = {5}, rows = {0};
    const std::vector<int64_t> slots = {80};
    StepInputs in{tokens, positions, slots, query_start, context_lens, tables, 1, rows};
    EXPECT_FALSE(backend_->begin_step(in).is_ok());
    EXPECT_FALSE(backend_->end_step().is_ok());
}

TEST_F(CudaBackendErrors, UnsupportedWeightTypeIsRefused) {
    std::vector<uint8_t> data(84, 0);
    auto w = backend_->load_weight(GgmlType::Q2_K, 1, 256, data.data());
    ASSERT_FALSE(w.is_ok());
    EXPECT_EQ(w.status().code(), ErrorCode::unsupported);
}

TEST_F(CudaBackendErrors, HugeKvCacheIsOutOfMemory) {
    KvCacheConfig kv;
    kv.n_layers = 64;
    kv.n_kv_heads = 64;
    kv.head_dim = 256;
    kv.n_blocks = 1 << 20;
    const Status s = backend_->init_kv_cache(kv);
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory) << s.to_string();
}

TEST_F(CudaBackendErrors, ScratchGrowsAndIsReused) {
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 4; ++i) {
            auto t = backend_->alloc_activations(1024, 1024 * 10);  // 40 MiB each
            ASSERT_TRUE(t.is_ok()) << t.status().to_string();
        }
        backend_->reset_scratch();
    }
}

TEST_F(CudaBackendErrors, ReadRefusesNonF32) {
    std::vector<uint16_t> half(16, 0);
    auto w = backend_->load_weight(GgmlType::F16, 1, 16, half.data());
    ASSERT_TRUE(w.is_ok());
    std::vector<float> out(16);
    EXPECT_EQ(backend_->read(*w, out.data()).code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace pagoda
