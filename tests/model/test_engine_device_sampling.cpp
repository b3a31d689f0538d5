// The engine's path for backends that choose tokens next to the logits
// (Backend::sample_rows, backend/row_sampling.h), run on a CPU stand-in that samples
// "on the device" with the host reference and hands every other row back (needs_host):
// the tokens, log-probabilities and prompt logits must be those of the plain host path.
#include <gtest/gtest.h>

#include "forwarding_backend.h"
#include "grammar/grammar.h"
#include "grammar/json_schema_grammar.h"
#include "model/gguf_writer.h"
#include "sample/row_sampler.h"
#include "test_engine_common.h"

namespace pagoda::engine_test {
namespace {

class SamplesOnDevice final : public ForwardingBackend {
public:
    bool supports_device_sampling() const override { return true; }
    Status sample_rows(const Tensor& logits, std::span<const RowSamplingRequest> requests,
                       std::span<RowSamplingResult> results) override {
        ++calls;
        if (!failure.empty()) return internal_error(failure);
        if (unsupported_requests) return unsupported("not on this device");
        EXPECT_EQ(requests.size(), results.size());
        std::vector<float> rows(static_cast<size_t>(logits.n_elements()));
        PAGODA_RETURN_IF_ERROR(read(logits, rows.data()));
        const size_t vocab = static_cast<size_t>(logits.cols);
        for (size_t i = 0; i < requests.size(); ++i) {
            EXPECT_LT(requests[i].row, logits.rows);
            if ((handed_back + sampled) % 2 == 1) {
                results[i].needs_host = true;
                ++handed_back;
                continue;
            }
            ++sampled;
            const std::span<const float> row(rows.data() + static_cast<size_t>(requests[i].row) * vocab, vocab);
            results[i] = reference_.sample(row, requests[i]);
        }
        return Status::ok();
    }

    int calls = 0;
    bool unsupported_requests = false;  // sample_rows answers unsupported
    int sampled = 0;
    int handed_back = 0;
    std::string failure;  // non-empty: sample_rows fails with it

private:
    RowSampler reference_;
};

// make_mixed_jobs plus what only the sampling path touches: logit bias, presence
// penalties, min_p, log-probabilities, parallel samples and prompt logits.
std::vector<Job> sampling_jobs() {
    std::vector<Job> jobs = make_mixed_jobs(10, 512, 12, 4);
    for (size_t i = 0; i < jobs.size(); ++i) {
        SamplingParams& p = jobs[i].request.sampling;
        if (i % 4 == 1) p.logit_bias = {{7, 2.5f}, {9, -INFINITY}, {7, 1.0f}};
        if (i % 4 == 3) {
            p.presence_penalty = 0.7f;
            p.min_p = 0.05f;
            p.top_k = 0;
        }
        if (i % 3 == 1) {
            p.logprobs = true;
            p.top_logprobs = static_cast<int32_t>(i % 6);
        }
    }
    jobs[3].request.sampling.n = 3;
    jobs[3].request.return_prompt_logits = true;
    jobs[6].request.sampling.temperature = 1.1f;  // full-vocabulary draw
    jobs[6].request.sampling.top_k = 0;
    jobs[6].request.sampling.top_p = 1.0f;
    jobs[6].request.sampling.seed = 77;
    // Constrained rows: a greedy one (the device's choice stands when the grammar allows
    // it) and sampled ones (always masked on the host), forks included.
    auto json = grammar::compile_gbnf(grammar::json_object_gbnf());
    EXPECT_TRUE(json.is_ok());
    jobs[2].request.sampling.grammar = *json;
    jobs[2].request.sampling.temperature = 0.0f;
    jobs[3].request.sampling.grammar = *json;
    jobs[5].request.sampling.grammar = *json;
    return jobs;
}

std::vector<float> prompt_logits_of(Model& model, const Job& job) {
    auto core = EngineCore::create(model, small_config());
    if (!core) return {};
    auto sink = std::make_shared<CollectingSink>();
    core.value()->add_request(1, job.request, sink);
    while (core.value()->has_work()) EXPECT_TRUE(core.value()->step().is_ok());
    return sink->prompt_logits();
}

TEST(EngineDeviceSampling, SameTokensLogprobsAndPromptLogitsAsTheHostPath) {
    LoadedModel host = load_random();
    ASSERT_TRUE(host);
    SamplesOnDevice device;
    std::shared_ptr<std::vector<uint8_t>> bytes;
    auto on_device = load_random_on(device, bytes);
    ASSERT_TRUE(on_device.is_ok()) << on_device.status().to_string();

    const std::vector<Job> jobs = sampling_jobs();
    const std::vector<Outcome> want = run_jobs(*host.model, small_config(), jobs);
    const std::vector<Outcome> got = run_jobs(*on_device.value(), small_config(), jobs);
    EXPECT_GT(device.sampled, 20) << "rows were chosen by the backend";
    EXPECT_GT(device.handed_back, 20) << "rows handed back were sampled on the host";
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
        ASSERT_EQ(got[i].samples.size(), want[i].samples.size()) << "job " << i;
        for (size_t s = 0; s < want[i].samples.size(); ++s) {
            const auto& g = got[i].samples[s];
            const auto& w = want[i].samples[s];
            EXPECT_EQ(g.token_ids, w.token_ids) << "job " << i << " sample " << s;
            EXPECT_FALSE(w.token_ids.empty()) << "job " << i;
            ASSERT_EQ(g.logprobs.size(), w.logprobs.size()) << "job " << i;
            for (size_t t = 0; t < w.logprobs.size(); ++t) {
                EXPECT_EQ(g.logprobs[t].token, w.logprobs[t].token);
                EXPECT_EQ(g.logprobs[t].logprob, w.logprobs[t].logprob);
                EXPECT_EQ(g.logprobs[t].top.size(), w.logprobs[t].top.size());
            }
        }
        EXPECT_EQ(got[i].finish.reason, want[i].finish.reason) << "job " << i;
    }
    EXPECT_EQ(want[3].samples.size(), 3u) << "n = 3 forks after the prompt";
    const std::vector<float> host_logits = prompt_logits_of(*host.model, jobs[3]);
    ASSERT_EQ(host_logits.size(), 512u);
    EXPECT_EQ(prompt_logits_of(*on_device.value(), jobs[3]), host_logits) << "read back from the device";
}

TEST(EngineDeviceSampling, AFailureEndsTheStepsRequestsAndTheEngineGoesOn) {
    SamplesOnDevice device;
    std::shared_ptr<std::vector<uint8_t>> bytes;
    auto model = load_random_on(device, bytes);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    auto core = EngineCore::create(*model.value(), small_config());
    ASSERT_TRUE(core.is_ok()) << core.status().to_string();

    Request r;
    r.prompt = {1, 20, 30, 40};
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = 4;
    device.failure = "the sampling kernel failed";
    auto broken = std::make_shared<CollectingSink>();
    core.value()->add_request(1, r, broken);
    const Status s = core.value()->step();
    EXPECT_FALSE(s.is_ok());
    ASSERT_TRUE(broken->finished());
    EXPECT_EQ(broken->finish()->reason, FinishReason::error);
    EXPECT_NE(broken->finish()->message.find("the sampling kernel failed"), std::string::npos)
        << broken->finish()->message;

    device.failure.clear();
    device.unsupported_requests = true;  // the host samples every row instead
    auto healthy = std::make_shared<CollectingSink>();
    core.value()->add_request(2, r, healthy);
    while (core.value()->has_work()) EXPECT_TRUE(core.value()->step().is_ok());
    ASSERT_TRUE(healthy->finished());
    EXPECT_EQ(healthy->finish()->reason, FinishReason::length);
    ASSERT_EQ(healthy->samples().size(), 1u);
    EXPECT_EQ(healthy->samples()[0].token_ids.size(), 4u);
}

}  // namespace
}  // namespace pagoda::engine_test
