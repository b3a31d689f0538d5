// The engine's batching, preemption and cancellation checks on the CUDA backend: the
// scheduler, KV manager and sampler are shared with the CPU, so what differs is whether
// the device kernels give each row the same result whatever else is in the batch, and
// whether they agree with the CPU backend closely enough that greedy text is identical.
// Skips without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "create_cuda_backend.h"
#include "fixtures/scoped_env.h"
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

using fixtures::ScopedEnv;

// Seeded sampling through every filter, with penalties, logit_bias, log-probabilities and
// two samples per request.
std::vector<Job> make_sampling_jobs(int n_vocab) {
    std::vector<Job> jobs;
    for (int i = 0; i < 10; ++i) {
        Job j;
        j.request.prompt = {1};
        const auto body = random_tokens(static_cast<uint64_t>(i) + 50, static_cast<size_t>(3 + (i * 11) % 30), n_vocab);
        j.request.prompt.insert(j.request.prompt.end(), body.begin(), body.end());
        SamplingParams& p = j.request.sampling;
        p.seed = 7000 + static_cast<uint64_t>(i);
        p.max_tokens = 12 + i % 5 * 4;
        p.ignore_eos = true;
        p.n = 2;
        p.temperature = i == 9 ? 0.0f : 0.7f + 0.15f * static_cast<float>(i % 4);
        p.top_k = i % 3 == 0 ? 0 : i % 3 == 1 ? 40 : 5;
        p.top_p = i % 4 == 1 ? 0.9f : i % 4 == 2 ? 0.5f : 1.0f;
        p.min_p = i % 5 == 3 ? 0.05f : 0.0f;
        if (i % 2 == 0) {
            p.repetition_penalty = 1.3f;
            p.presence_penalty = 0.4f;
            p.frequency_penalty = 0.2f;
        }
        if (i % 3 == 2) p.logit_bias = {{body[0], 2.0f}, {body[0], 1.5f}, {5, -INFINITY}};
        p.logprobs = i % 2 == 1 || i == 9;
        p.top_logprobs = i % 3 == 0 ? 0 : i % 3 == 1 ? 5 : 20;
        j.arrive_step = i % 3;
        jobs.push_back(std::move(j));
    }
    return jobs;
}

void expect_same_samples(const std::vector<Outcome>& want, const std::vector<Outcome>& got, bool logprobs,
                         const char* what) {
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(want[i].samples.size(), 2u) << what << " job " << i;
        ASSERT_EQ(got[i].samples.size(), 2u) << what << " job " << i;
        for (size_t s = 0; s < 2; ++s) {
            const auto& w = want[i].samples[s];
            const auto& g = got[i].samples[s];
            EXPECT_EQ(g.token_ids, w.token_ids) << what << " job " << i << " sample " << s;
            if (!logprobs) continue;
            ASSERT_EQ(g.logprobs.size(), w.logprobs.size()) << what << " job " << i << " sample " << s;
            for (size_t t = 0; t < w.logprobs.size(); ++t) {
                EXPECT_EQ(g.logprobs[t].token, w.logprobs[t].token);
                EXPECT_NEAR(g.logprobs[t].logprob, w.logprobs[t].logprob, 1e-5) << what << " job " << i;
                ASSERT_EQ(g.logprobs[t].top.size(), w.logprobs[t].top.size()) << what << " job " << i;
                for (size_t k = 0; k < w.logprobs[t].top.size(); ++k) {
                    EXPECT_EQ(g.logprobs[t].top[k].token, w.logprobs[t].top[k].token) << what << " job " << i;
                    EXPECT_NEAR(g.logprobs[t].top[k].logprob, w.logprobs[t].top[k].logprob, 1e-5) << what;
                }
            }
        }
    }
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

// Tokens chosen next to the logits (CudaBackend::sample_rows) are the host sampler's: the
// same run with PAGODA_DEVICE_SAMPLING=0 (the host samples the same device logits) gives
// the same tokens and log-probabilities, and the CPU backend the same tokens.
TEST_F(CudaEngine, DeviceSamplingMatchesHostSamplingAndTheCpu) {
    Model& model = *gpu_.model;
    const auto jobs = make_sampling_jobs(model.config().n_vocab);
    std::vector<Outcome> on_device, on_host;
    {
        ScopedEnv on("PAGODA_DEVICE_SAMPLING", "1");
        ASSERT_TRUE(gpu_.backend->supports_device_sampling());
        on_device = run_jobs(model, small_config(), jobs);
    }
    {
        ScopedEnv off("PAGODA_DEVICE_SAMPLING", "0");
        ASSERT_FALSE(gpu_.backend->supports_device_sampling());
        on_host = run_jobs(model, small_config(), jobs);
    }
    expect_same_samples(on_host, on_device, true, "device vs host sampling");
    LoadedModel cpu = load_stories_on(create_cpu_backend(2));
    ASSERT_TRUE(cpu);
    expect_same_samples(run_jobs(*cpu.model, small_config(), jobs), on_device, false, "cuda vs cpu");
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
