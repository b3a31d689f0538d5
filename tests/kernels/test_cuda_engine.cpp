// The engine's batching, preemption and cancellation checks on the CUDA backend: the
// scheduler, KV manager and sampler are shared with the CPU, so what differs is whether
// the device kernels give each row the same result whatever else is in the batch, and
// whether they agree with the CPU backend closely enough that greedy text is identical.
// Skips without a CUDA device.
#include <gtest/gtest.h>

#include <cstdlib>

#include "create_cuda_backend.h"
#include "test_engine_common.h"

namespace pagoda {
namespace {

using namespace engine_test;

// The GPU machine runs binaries built elsewhere: PAGODA_SHARED_DIR in the environment
// overrides the folder compiled in.
std::string stories_path() {
    const char* dir = std::getenv("PAGODA_SHARED_DIR");
    return dir ? std::string(dir) + "/models/stories260K.gguf" : kStoriesPath;
}

LoadedModel load_stories_on(std::unique_ptr<Backend> backend) {
    LoadedModel l;
    l.backend = std::move(backend);
    auto m = Model::load(stories_path(), *l.backend);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    if (m) l.model = std::move(m.value());
    return l;
}

void expect_same_tokens(const std::vector<Outcome>& want, const std::vector<Outcome>& got, const char* what) {
    ASSERT_EQ(want.size(), got.size());
    int differ = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got[i].samples.size(), 1u) << what << " job " << i;
        ASSERT_EQ(want[i].samples.size(), 1u) << what << " job " << i;
        if (got[i].samples[0].token_ids != want[i].samples[0].token_ids) ++differ;
        EXPECT_EQ(got[i].samples[0].token_ids, want[i].samples[0].token_ids) << what << " job " << i;
    }
    EXPECT_EQ(differ, 0) << what;
}

class CudaEngine : public ::testing::Test {
protected:
    void SetUp() override {
        auto devices = list_cuda_devices();
        if (!devices.is_ok() || devices->empty()) GTEST_SKIP() << "no CUDA device";
        if (!std::filesystem::exists(stories_path())) GTEST_SKIP() << "needs " << stories_path();
        auto b = create_cuda_backend(0);
        ASSERT_TRUE(b.is_ok()) << b.status().to_string();
        gpu_ = load_stories_on(std::move(b.value()));
        ASSERT_TRUE(gpu_) << "stories260K did not load on cuda:0";
    }
    LoadedModel gpu_;
};

TEST_F(CudaEngine, GreedyTextMatchesTheCpuBackend) {
    LoadedModel cpu = load_stories_on(create_cpu_backend(2));
    ASSERT_TRUE(cpu);
    const auto jobs = make_mixed_jobs(12, gpu_.model->config().n_vocab, 40, 1, true);
    const auto on_cpu = run_alone(*cpu.model, small_config(), jobs);
    const auto on_gpu = run_alone(*gpu_.model, small_config(), jobs);
    expect_same_tokens(on_cpu, on_gpu, "cuda vs cpu");
}

TEST_F(CudaEngine, ThirtyTwoRequestsGiveWhatEachGivesAlone) {
    Model& model = *gpu_.model;
    const auto jobs = make_mixed_jobs(32, model.config().n_vocab, 40, 24, false);
    const auto alone = run_alone(model, small_config(), jobs);
    EngineConfig c = small_config(512);
    c.max_num_seqs = 32;
    c.max_num_batched_tokens = 48;
    EngineStats stats;
    const auto batched = run_jobs(model, c, jobs, &stats);
    expect_same_tokens(alone, batched, "batched vs alone");
    EXPECT_EQ(stats.kv_blocks_used, 0);
    EXPECT_EQ(stats.requests_finished, 32);
}

TEST_F(CudaEngine, PreemptionUnderATinyKvPoolKeepsEveryOutput) {
    Model& model = *gpu_.model;
    const auto jobs = make_mixed_jobs(64, model.config().n_vocab, 30, 5, false);
    const auto alone = run_alone(model, small_config(), jobs);
    EngineConfig c = small_config(24);
    c.max_num_seqs = 64;
    c.max_num_batched_tokens = 96;
    EngineStats stats;
    const auto batched = run_jobs(model, c, jobs, &stats);
    expect_same_tokens(alone, batched, "preempted vs alone");
    EXPECT_GT(stats.preemptions, 0);
    EXPECT_EQ(stats.kv_blocks_used, 0) << "no block may leak";
}

TEST_F(CudaEngine, CancellationFreesBlocksWithinOneStep) {
    auto core = EngineCore::create(*gpu_.model, small_config(64));
    ASSERT_TRUE(core.is_ok()) << core.status().to_string();
    EngineCore& engine = *core.value();
    Request r;
    r.prompt = random_tokens(5, 60, gpu_.model->config().n_vocab);
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = 200;
    r.sampling.ignore_eos = true;
    auto sink = std::make_shared<CollectingSink>();
    ASSERT_TRUE(engine.check_request(r).is_ok());
    engine.add_request(1, r, sink);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(engine.step().is_ok());
    EXPECT_GT(engine.stats().kv_blocks_used, 0);
    engine.cancel(1);
    ASSERT_TRUE(engine.step().is_ok());
    EXPECT_EQ(engine.stats().kv_blocks_used, 0);
    ASSERT_TRUE(sink->finished());
    EXPECT_EQ(sink->finish()->reason, FinishReason::cancelled);
}

}  // namespace
}  // namespace pagoda
