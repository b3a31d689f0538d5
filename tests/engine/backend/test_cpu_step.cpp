// CPU backend memory and step handling: zero-copy weights, the activation arena, the KV
// cache's limits, and begin_step's validation of untrusted step metadata.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "backend/cpu/create_cpu_backend.h"
#include "cpu_test_util.h"

namespace pagoda {
namespace {

using test::make_step;
using test::make_tensor;
using test::random_floats;
using test::read_tensor;
using test::SeqSpec;
using test::StepData;

KvCacheConfig small_kv(GgmlType type = GgmlType::F16) {
    KvCacheConfig c;
    c.n_layers = 2;
    c.n_kv_heads = 2;
    c.head_dim = 32;
    c.block_size = 16;
    c.n_blocks = 8;
    c.type = type;
    return c;
}

TEST(CpuBackend, NameSaysThreadsAndSimd) {
    auto backend = create_cpu_backend(3);
    const std::string name = backend->name();
    EXPECT_EQ(name.rfind("cpu (3 threads, ", 0), 0u) << name;
    auto automatic = create_cpu_backend(0);
    EXPECT_EQ(automatic->name().rfind("cpu (", 0), 0u);
}

TEST(CpuBackend, ActivationsAreAlignedAndSurviveUntilReset) {
    auto backend = create_cpu_backend(1);
    std::vector<Tensor> tensors;
    for (int i = 0; i < 20; ++i) {
        // Sizes that outgrow the first arena chunk, so several chunks are live at once.
        Result<Tensor> t = backend->alloc_activations(1 + i, 100000 + 17 * i);
        ASSERT_TRUE(t.is_ok());
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 64, 0u);
        const std::vector<float> v(static_cast<size_t>(t->n_elements()), static_cast<float>(i));
        ASSERT_TRUE(backend->write(*t, v.data()).is_ok());
        tensors.push_back(*t);
    }
    for (int i = 0; i < 20; ++i) {
        const auto v = read_tensor(*backend, tensors[i]);
        EXPECT_EQ(v.front(), static_cast<float>(i));
        EXPECT_EQ(v.back(), static_cast<float>(i));
    }
    backend->reset_scratch();
    Result<Tensor> again = backend->alloc_activations(4, 4);
    ASSERT_TRUE(again.is_ok());
    Result<Tensor> empty = backend->alloc_activations(0, 16);
    EXPECT_TRUE(empty.is_ok());

    EXPECT_EQ(backend->alloc_activations(-1, 4).status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(backend->alloc_activations(INT64_MAX, INT64_MAX).status().code(), ErrorCode::out_of_memory);
    EXPECT_EQ(backend->alloc_activations(int64_t{1} << 40, int64_t{1} << 20).status().code(), ErrorCode::out_of_memory);
}

TEST(CpuBackend, ReadWriteRejectNonF32) {
    auto backend = create_cpu_backend(1);
    std::vector<uint16_t> half(8);
    Result<Tensor> w = backend->load_weight(GgmlType::F16, 1, 8, half.data());
    ASSERT_TRUE(w.is_ok());
    std::vector<float> out(8);
    EXPECT_FALSE(backend->read(*w, out.data()).is_ok());
    EXPECT_FALSE(backend->write(*w, out.data()).is_ok());
}

TEST(CpuBackend, KvCacheConfigIsChecked) {
    auto backend = create_cpu_backend(1);
    EXPECT_TRUE(backend->init_kv_cache(small_kv()).is_ok());
    EXPECT_TRUE(backend->init_kv_cache(small_kv(GgmlType::F32)).is_ok());
    EXPECT_TRUE(backend->init_kv_cache(small_kv(GgmlType::Q8_0)).is_ok());
    EXPECT_EQ(backend->init_kv_cache(small_kv(GgmlType::Q4_0)).code(), ErrorCode::unsupported);

    KvCacheConfig c = small_kv(GgmlType::Q8_0);
    c.head_dim = 48;  // Q8_0 blocks of 32 would straddle heads
    EXPECT_EQ(backend->init_kv_cache(c).code(), ErrorCode::invalid_argument);
    c = small_kv();
    c.n_blocks = 0;
    EXPECT_EQ(backend->init_kv_cache(c).code(), ErrorCode::invalid_argument);
    c = small_kv();
    c.block_size = -16;
    EXPECT_EQ(backend->init_kv_cache(c).code(), ErrorCode::invalid_argument);

    // Absurd sizes are refused, not attempted.
    c = small_kv();
    c.n_blocks = INT32_MAX;
    c.n_layers = 1000;
    c.block_size = 4096;
    EXPECT_EQ(backend->init_kv_cache(c).code(), ErrorCode::out_of_memory);
    c = small_kv();
    c.n_blocks = 1 << 24;  // 16M blocks * 16 slots * 128 values * 2 bytes * 2 pools * 1000 layers = 128 TiB
    c.head_dim = 64;
    c.n_layers = 1000;
    EXPECT_EQ(backend->init_kv_cache(c).code(), ErrorCode::out_of_memory);
}

class CpuStepValidation : public ::testing::Test {
protected:
    void SetUp() override {
        backend_ = create_cpu_backend(2);
        ASSERT_TRUE(backend_->init_kv_cache(small_kv()).is_ok());
        // Sequence 0: 20 tokens in blocks 5 and 2, the last 4 new; sequence 1: 3 tokens in block 7.
        good_ = make_step({SeqSpec{{5, 2}, 16, 20}, SeqSpec{{7}, 0, 3}}, 16);
    }

    // begin_step on `d` fails with invalid_argument; the ops after it fail too, and
    // end_step reports the same error.
    void expect_refused(const StepData& d, const char* what) {
        SCOPED_TRACE(what);
        const Status st = backend_->begin_step(d.inputs());
        EXPECT_EQ(st.code(), ErrorCode::invalid_argument) << st.to_string();
        Tensor kv =
            make_tensor(*backend_, static_cast<int64_t>(d.tokens.size()), 64, random_floats(d.tokens.size() * 64, 1));
        backend_->kv_write(0, kv, kv);
        const Status end = backend_->end_step();
        EXPECT_EQ(end.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(end.message(), st.message());
        backend_->reset_scratch();
    }

    std::unique_ptr<Backend> backend_;
    StepData good_;
};

TEST_F(CpuStepValidation, AcceptsAConsistentStep) {
    ASSERT_TRUE(backend_->begin_step(good_.inputs()).is_ok());
    Tensor kv = make_tensor(*backend_, 7, 64, random_floats(7 * 64, 1));
    backend_->kv_write(1, kv, kv);
    EXPECT_TRUE(backend_->end_step().is_ok());
}

TEST_F(CpuStepValidation, RefusesInconsistentSpans) {
    StepData d = good_;
    d.positions.pop_back();
    expect_refused(d, "positions shorter than tokens");
    d = good_;
    d.slot_mapping.push_back(0);
    expect_refused(d, "slot_mapping longer than tokens");
    d = good_;
    d.query_start.back() = 6;
    expect_refused(d, "query_start does not end at n_tokens");
    d = good_;
    d.query_start = {0, 7};
    expect_refused(d, "query_start size does not match context_lens");
    d = good_;
    d.query_start = {0, 5, 4, 7};
    d.context_lens = {20, 3, 3};
    d.block_tables = {5, 2, 7, -1, 7, -1};
    expect_refused(d, "query_start decreases");
    d = good_;
    d.block_tables.pop_back();
    expect_refused(d, "block_tables too short");
    d = good_;
    d.max_blocks_per_seq = -2;
    expect_refused(d, "negative max_blocks_per_seq");
    d = good_;
    d.logit_rows = {7};
    expect_refused(d, "logit row past the tokens");
}

TEST_F(CpuStepValidation, RefusesOutOfRangeSlotsBlocksAndPositions) {
    StepData d = good_;
    d.slot_mapping[0] = 8 * 16;
    expect_refused(d, "slot past the pool");
    d = good_;
    d.slot_mapping[0] = -1;
    expect_refused(d, "negative slot");
    d = good_;
    d.block_tables[1] = 8;
    expect_refused(d, "block id past the pool");
    d = good_;
    d.block_tables[0] = -3;
    expect_refused(d, "negative block id");
    d = good_;
    d.positions[0] = 20;
    expect_refused(d, "position not below the context length");
    d = good_;
    d.positions[5] = -1;
    expect_refused(d, "negative position");
    d = good_;
    d.context_lens[0] = 40;
    expect_refused(d, "context longer than the block table");
    d = good_;
    d.slot_mapping[4] = 7 * 16 + 1;
    expect_refused(d, "slot that is not the block table's slot for the position");
}

TEST_F(CpuStepValidation, PaddingPastTheContextIsIgnored) {
    StepData d = good_;
    d.block_tables[3] = 12345;  // sequence 1 uses one block; its second entry is padding
    EXPECT_TRUE(backend_->begin_step(d.inputs()).is_ok());
    EXPECT_TRUE(backend_->end_step().is_ok());
}

TEST_F(CpuStepValidation, OpsNeedAStep) {
    Tensor kv = make_tensor(*backend_, 7, 64, random_floats(7 * 64, 1));
    backend_->kv_write(0, kv, kv);  // no begin_step
    EXPECT_EQ(backend_->end_step().code(), ErrorCode::invalid_argument);
    // A good step after a refused one works.
    StepData bad = good_;
    bad.slot_mapping[0] = 1 << 30;
    EXPECT_FALSE(backend_->begin_step(bad.inputs()).is_ok());
    ASSERT_TRUE(backend_->begin_step(good_.inputs()).is_ok());
    backend_->kv_write(0, kv, kv);
    EXPECT_TRUE(backend_->end_step().is_ok());
}

TEST_F(CpuStepValidation, StepInputsAreCopied) {
    // The spans are only valid during begin_step: ops must not read them afterwards.
    StepData d = good_;
    ASSERT_TRUE(backend_->begin_step(d.inputs()).is_ok());
    std::fill(d.slot_mapping.begin(), d.slot_mapping.end(), int64_t{1} << 40);
    std::fill(d.tokens.begin(), d.tokens.end(), -5);
    d.slot_mapping.clear();
    d.slot_mapping.shrink_to_fit();
    Tensor kv = make_tensor(*backend_, 7, 64, random_floats(7 * 64, 1));
    backend_->kv_write(0, kv, kv);
    EXPECT_TRUE(backend_->end_step().is_ok());
}

}  // namespace
}  // namespace pagoda
