// Shared by the engine tests: loading the models they run on (stories260K from
// ../shared, or a seeded random-weight model built in memory), and driving an
// EngineCore step by step with requests that arrive at chosen steps.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/create_cpu_backend.h"
#include "engine/engine_core.h"
#include "fixtures/random_model.h"
#include "model/gguf_file.h"
#include "model/model.h"

namespace pagoda::engine_test {

inline const std::string kStoriesPath = std::string(PAGODA_SHARED_DIR) + "/models/stories260K.gguf";

// A backend and a model on it (and, for in-memory models, the bytes the weights alias).
struct LoadedModel {
    std::shared_ptr<std::vector<uint8_t>> bytes;
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
    explicit operator bool() const { return model != nullptr; }
};

inline LoadedModel load_stories(int threads = 2) {
    LoadedModel l;
    if (!std::filesystem::exists(kStoriesPath)) return l;
    l.backend = create_cpu_backend(threads);
    auto m = Model::load(kStoriesPath, *l.backend);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    if (m) l.model = std::move(m.value());
    return l;
}

// A small llama-architecture model with random weights and a 2048-token context.
inline fixtures::RandomModelConfig tiny_random_config(uint64_t seed = 11,
                                                      fixtures::RandomModelType type = fixtures::RandomModelType::f32) {
    fixtures::RandomModelConfig c;
    c.seed = seed;
    c.type = type;
    c.dim = 64;
    c.n_layers = 2;
    c.ffn = 128;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab = 512;
    c.ctx = 2048;
    return c;
}

// tiny_random_config's model built in memory and loaded on `backend`; `bytes` keeps the
// file the weights alias alive.
inline Result<std::unique_ptr<Model>> load_random_on(Backend& backend, std::shared_ptr<std::vector<uint8_t>>& bytes,
                                                     uint64_t seed = 11,
                                                     fixtures::RandomModelType type = fixtures::RandomModelType::f32) {
    GgufWriter w;
    PAGODA_RETURN_IF_ERROR(fixtures::build_random_model(tiny_random_config(seed, type), w));
    bytes = std::make_shared<std::vector<uint8_t>>(w.to_bytes());
    auto file = GgufFile::parse(*bytes, "random.gguf");
    if (!file) return file.status();
    return Model::load(std::move(file.value()), backend);
}

// The same on a CPU backend.
inline LoadedModel load_random(int threads = 2, uint64_t seed = 11,
                               fixtures::RandomModelType type = fixtures::RandomModelType::f32) {
    LoadedModel l;
    l.backend = create_cpu_backend(threads);
    auto m = load_random_on(*l.backend, l.bytes, seed, type);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    if (m) l.model = std::move(m.value());
    return l;
}

inline EngineConfig small_config(int32_t kv_blocks = 256) {
    EngineConfig c;
    c.kv_blocks = kv_blocks;
    c.seed = 1;
    return c;
}

struct Job {
    Request request;
    int arrive_step = 0;
};

struct Outcome {
    std::vector<CollectingSink::Sample> samples;
    RequestFinish finish;
};

// Runs the jobs on `engine` (each arrives before its step) until every one finished. Fails
// the test (and returns what it has) if a request is refused or the engine does not go idle.
inline std::vector<Outcome> drive_jobs(EngineCore& engine, const std::vector<Job>& jobs) {
    std::vector<Outcome> outcomes(jobs.size());
    std::vector<std::shared_ptr<CollectingSink>> sinks(jobs.size());
    size_t arrived = 0;
    for (int step = 0; step < 100000; ++step) {
        for (size_t i = 0; i < jobs.size(); ++i) {
            if (jobs[i].arrive_step != step) continue;
            const Status ok = engine.check_request(jobs[i].request);
            EXPECT_TRUE(ok.is_ok()) << "job " << i << ": " << ok.to_string();
            sinks[i] = std::make_shared<CollectingSink>();
            engine.add_request(static_cast<RequestId>(i + 1), jobs[i].request, sinks[i]);
            ++arrived;
        }
        if (arrived == jobs.size() && !engine.has_work()) break;
        const Status s = engine.step();
        EXPECT_TRUE(s.is_ok()) << s.to_string();
    }
    EXPECT_FALSE(engine.has_work()) << "the engine did not finish";
    for (size_t i = 0; i < jobs.size(); ++i) {
        if (!sinks[i]) continue;
        EXPECT_TRUE(sinks[i]->finished()) << "job " << i;
        outcomes[i].samples = sinks[i]->samples();
        if (auto f = sinks[i]->finish()) outcomes[i].finish = *f;
    }
    return outcomes;
}

// drive_jobs on a fresh EngineCore over `model`.
inline std::vector<Outcome> run_jobs(Model& model, const EngineConfig& config, const std::vector<Job>& jobs,
                                     EngineStats* final_stats = nullptr) {
    auto core = EngineCore::create(model, config);
    EXPECT_TRUE(core.is_ok()) << core.status().to_string();
    if (!core) return std::vector<Outcome>(jobs.size());
    std::vector<Outcome> outcomes = drive_jobs(*core.value(), jobs);
    if (final_stats) *final_stats = core.value()->stats();
    return outcomes;
}

// Each job alone (arriving at step 0) on its own engine, prefix caching off.
inline std::vector<Outcome> run_alone(Model& model, const EngineConfig& config, const std::vector<Job>& jobs) {
    std::vector<Outcome> outcomes;
    EngineConfig c = config;
    c.enable_prefix_caching = false;
    for (const Job& job : jobs) {
        Job j = job;
        j.arrive_step = 0;
        outcomes.push_back(run_jobs(model, c, {j}).front());
    }
    return outcomes;
}

// Deterministic pseudo-random token ids in [first, n_vocab).
inline std::vector<TokenId> random_tokens(uint64_t seed, size_t n, int32_t n_vocab, TokenId first = 3) {
    std::vector<TokenId> t;
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t.push_back(first + static_cast<TokenId>(x % static_cast<uint64_t>(n_vocab - first)));
    }
    return t;
}

// Request i: BOS + a prompt of its own length; greedy or seeded sampling (or all greedy);
// a few with penalties; EOS ignored by some so lengths differ; arrivals spread over steps.
inline std::vector<Job> make_mixed_jobs(int n, int n_vocab, int max_gen, int spread_steps, bool greedy_only = false) {
    std::vector<Job> jobs;
    for (int i = 0; i < n; ++i) {
        Job j;
        j.request.prompt = {1};
        const auto body = random_tokens(static_cast<uint64_t>(i) + 1, static_cast<size_t>(1 + (i * 37) % 90), n_vocab);
        j.request.prompt.insert(j.request.prompt.end(), body.begin(), body.end());
        SamplingParams& p = j.request.sampling;
        p.max_tokens = 4 + (i * 13) % max_gen;
        p.ignore_eos = i % 3 == 0;
        if (greedy_only || i % 2 == 0) {
            p.temperature = 0.0f;
        } else {
            p.temperature = 0.9f;
            p.top_k = 40;
            p.top_p = 0.95f;
            p.seed = 1000 + static_cast<uint64_t>(i);
        }
        if (i % 5 == 0) {
            p.repetition_penalty = 1.3f;
            p.frequency_penalty = 0.2f;
        }
        j.arrive_step = (i * 7) % spread_steps;
        jobs.push_back(std::move(j));
    }
    return jobs;
}

}  // namespace pagoda::engine_test
