// Many LoRA adapters in one engine (issue #8): a request with an adapter gives what the
// merged model gives; a batch mixing adapters, stacks and base requests gives each request
// exactly its output alone; adapters load and unload while streams run; bad adapter use
// is refused with a reason. All on seeded random-weight models (no ../shared data).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include <unistd.h>

#include "engine/lora/lora_apply_test_util.h"
#include "fixtures/random_lora.h"
#include "lora/load_lora_adapter.h"
#include "lora/lora_merge.h"
#include "pagoda/engine.h"
#include "forwarding_backend.h"
#include "test_engine_common.h"

namespace pagoda {
namespace {

using namespace engine_test;
using lora_test::random_adapter;

// Requests to run on an EngineCore that first registers `adapters` (ids 1, 2, ... in order).
std::vector<Outcome> run_with_adapters(Model& model, const EngineConfig& config,
                                       const std::vector<LoraAdapter>& adapters, const std::vector<Job>& jobs) {
    auto core = EngineCore::create(model, config);
    EXPECT_TRUE(core.is_ok()) << core.status().to_string();
    if (!core) return std::vector<Outcome>(jobs.size());
    EngineCore& engine = *core.value();
    for (const LoraAdapter& a : adapters) {
        auto id = engine.adapters().add(a);
        EXPECT_TRUE(id.is_ok()) << id.status().to_string();
    }
    std::vector<Outcome> outcomes = drive_jobs(engine, jobs);
    // Every request gave its references back.
    for (const AdapterInfo& info : engine.adapters().list()) EXPECT_EQ(info.in_flight, 0) << info.name;
    return outcomes;
}

Request greedy(std::vector<TokenId> prompt, int32_t max_tokens, std::vector<AdapterRef> adapters = {}) {
    Request r;
    r.prompt = std::move(prompt);
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = max_tokens;
    r.sampling.ignore_eos = true;
    r.adapters = std::move(adapters);
    return r;
}

// (a) Model + adapter (read back from its GGUF LoRA file) == the merged model.
TEST(EngineLora, AdapterGivesTheMergedModelsOutput) {
    const fixtures::RandomModelConfig mc = tiny_random_config(21);
    fixtures::RandomLoraConfig lc;
    lc.rank = 8;
    lc.strength = 1.0f;
    const std::string dir = (std::filesystem::temp_directory_path() /
                             ("pagoda_engine_lora_" + std::to_string(::getpid())))
                                .string();
    auto files = fixtures::write_random_lora_files(mc, lc, dir);
    ASSERT_TRUE(files.is_ok()) << files.status().to_string();
    auto base_backend = create_cpu_backend(2);
    auto merged_backend = create_cpu_backend(2);
    auto base = Model::load(files->base_gguf, *base_backend);
    auto merged = Model::load(files->merged_gguf, *merged_backend);
    ASSERT_TRUE(base.is_ok()) << base.status().to_string();
    ASSERT_TRUE(merged.is_ok()) << merged.status().to_string();
    auto from_file = load_lora_adapter(files->lora_gguf, base.value()->config(), "from-gguf");
    ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();

    const auto prompt = random_tokens(5, 40, mc.vocab);
    Request with = greedy(prompt, 24, {{1, 1.0f}});
    with.return_prompt_logits = true;
    Request plain = greedy(prompt, 24);
    plain.return_prompt_logits = true;
    const EngineConfig config = small_config(256);
    const auto lora_out = run_with_adapters(*base.value(), config, {from_file.value()}, {{with, 0}, {plain, 0}});
    const auto merged_out = run_with_adapters(*merged.value(), config, {}, {{plain, 0}});
    std::filesystem::remove_all(dir);
    ASSERT_EQ(lora_out[0].finish.reason, FinishReason::length) << lora_out[0].finish.message;

    // The prompt logits agree to float rounding; the base model's are far away.
    auto prompt_logits = [&](Model& model, const std::vector<LoraAdapter>& adapters, const Request& r) {
        auto core = EngineCore::create(model, config);
        EXPECT_TRUE(core.is_ok());
        for (const LoraAdapter& a : adapters) EXPECT_TRUE(core.value()->adapters().add(a).is_ok());
        auto sink = std::make_shared<CollectingSink>();
        EXPECT_TRUE(core.value()->check_request(r).is_ok());
        core.value()->add_request(1, r, sink);
        while (core.value()->has_work()) EXPECT_TRUE(core.value()->step().is_ok());
        return sink->prompt_logits();
    };
    const auto l_lora = prompt_logits(*base.value(), {from_file.value()}, with);
    const auto l_merged = prompt_logits(*merged.value(), {}, plain);
    const auto l_base = prompt_logits(*base.value(), {}, plain);
    ASSERT_EQ(l_lora.size(), static_cast<size_t>(mc.vocab));
    ASSERT_EQ(l_merged.size(), l_lora.size());
    double max_diff = 0, max_base_diff = 0;
    for (size_t i = 0; i < l_lora.size(); ++i) {
        max_diff = std::max(max_diff, double{std::fabs(l_lora[i] - l_merged[i])});
        max_base_diff = std::max(max_base_diff, double{std::fabs(l_lora[i] - l_base[i])});
    }
    EXPECT_LT(max_diff, 2e-3) << "adapter vs merged model";
    EXPECT_GT(max_base_diff, 0.5) << "the adapter should change the logits visibly";

    // merge_lora_into_gguf gives the same model as the fixture's merged file.
    GgufWriter mw(base.value()->gguf().alignment());
    ASSERT_TRUE(merge_lora_into_gguf(base.value()->gguf(), from_file.value(), 1.0f, mw).is_ok());
    const std::vector<uint8_t> merged_bytes = mw.to_bytes();
    auto merged_file = GgufFile::parse(merged_bytes, "merged in memory");
    ASSERT_TRUE(merged_file.is_ok()) << merged_file.status().to_string();
    auto own_backend = create_cpu_backend(2);
    auto own_merged = Model::load(std::move(merged_file.value()), *own_backend);
    ASSERT_TRUE(own_merged.is_ok()) << own_merged.status().to_string();
    const auto l_own = prompt_logits(*own_merged.value(), {}, plain);
    ASSERT_EQ(l_own.size(), l_merged.size());
    for (size_t i = 0; i < l_own.size(); ++i) ASSERT_NEAR(l_own[i], l_merged[i], 2e-3) << i;

    // Greedy text: identical to the merged model's, and not the base model's.
    EXPECT_EQ(lora_out[0].samples[0].token_ids, merged_out[0].samples[0].token_ids);
    EXPECT_NE(lora_out[0].samples[0].token_ids, lora_out[1].samples[0].token_ids);
}

// (b) Eight adapters, two stacks and base requests in one batch (prefix caching on, chunked
// prefill, staggered arrivals): each request's tokens are exactly those it gets alone.
TEST(EngineLora, MixedBatchGivesEveryRequestItsOutputAlone) {
    LoadedModel l = load_random(2, 31);
    ASSERT_TRUE(l);
    const ModelConfig& mc = l.model->config();
    std::vector<LoraAdapter> adapters;
    for (int i = 0; i < 8; ++i)
        adapters.push_back(random_adapter(mc, "ad" + std::to_string(i + 1), 100 + i, 4 + i % 3 * 4));

    const auto shared_prompt = random_tokens(77, 40, mc.n_vocab);  // 2.5 blocks, for the prefix cache
    std::vector<Job> jobs;
    for (int i = 0; i < 8; ++i)
        jobs.push_back({greedy(random_tokens(10 + i, 5 + 7 * i, mc.n_vocab), 12, {{i + 1, 1.0f}}), i % 3});
    jobs.push_back({greedy(random_tokens(30, 20, mc.n_vocab), 12, {{1, 0.5f}, {3, 1.5f}}), 1});
    jobs.push_back({greedy(random_tokens(31, 9, mc.n_vocab), 12, {{5, -0.7f}, {2, 1.0f}}), 2});
    jobs.push_back({greedy(random_tokens(32, 17, mc.n_vocab), 12), 0});
    jobs.push_back({greedy(random_tokens(33, 3, mc.n_vocab), 12), 2});
    Request shorthand = greedy(random_tokens(34, 11, mc.n_vocab), 12);
    shorthand.adapter_id = 6;
    jobs.push_back({shorthand, 1});
    // One prompt under the base model, adapter 4, adapter 4 at another scale, adapter 7:
    // the prefix cache must not hand one's KV to another.
    jobs.push_back({greedy(shared_prompt, 10), 0});
    jobs.push_back({greedy(shared_prompt, 10, {{4, 1.0f}}), 3});
    jobs.push_back({greedy(shared_prompt, 10, {{4, 0.25f}}), 5});
    jobs.push_back({greedy(shared_prompt, 10, {{7, 1.0f}}), 7});
    jobs.push_back({greedy(shared_prompt, 10, {{4, 1.0f}}), 9});  // may reuse the earlier adapter-4 KV

    EngineConfig config = small_config(512);
    config.max_num_batched_tokens = 48;  // chunked prefill beside decodes
    const auto together = run_with_adapters(*l.model, config, adapters, jobs);
    EngineConfig alone_config = config;
    alone_config.enable_prefix_caching = false;
    int differs_from_base = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
        Job j = jobs[i];
        j.arrive_step = 0;
        const auto alone = run_with_adapters(*l.model, alone_config, adapters, {j});
        ASSERT_EQ(together[i].finish.reason, FinishReason::length) << "job " << i << ": " << together[i].finish.message;
        ASSERT_EQ(together[i].samples.size(), 1u);
        EXPECT_EQ(together[i].samples[0].token_ids, alone[0].samples[0].token_ids) << "job " << i;
        EXPECT_EQ(together[i].samples[0].token_ids.size(), static_cast<size_t>(j.request.sampling.max_tokens));
        Job base = j;
        base.request.adapters.clear();
        base.request.adapter_id = 0;
        if (!j.request.adapters.empty() || j.request.adapter_id != 0) {
            const auto b = run_with_adapters(*l.model, alone_config, {}, {base});
            differs_from_base += b[0].samples[0].token_ids != alone[0].samples[0].token_ids;
        }
    }
    EXPECT_GE(differs_from_base, 12) << "the adapters should change most outputs";
    EXPECT_NE(together[14].samples[0].token_ids, together[15].samples[0].token_ids);
}

// (c) The Engine thread API: 32 streams while adapters are loaded and unloaded. Every
// request finishes with the output of the adapter set it was submitted with; after the
// unloads the adapters' memory is gone.
TEST(EngineLora, LoadAndUnloadWhileStreamsRun) {
    LoadedModel ref = load_random(2, 41);
    LoadedModel l = load_random(2, 41);
    ASSERT_TRUE(ref && l);
    const ModelConfig mc = l.model->config();
    std::vector<LoraAdapter> adapters;
    for (int i = 0; i < 6; ++i) adapters.push_back(random_adapter(mc, "live" + std::to_string(i + 1), 200 + i, 8));

    EngineConfig config = small_config(512);
    config.max_num_seqs = 32;
    // Each adapter: rank 8 x 1024 (in + out features over the 7 targets) x 2 layers x 4 bytes.
    config.lora_memory_bytes = 3 * 8 * 1024 * 2 * 4;  // room for three: evictions happen too
    auto e = Engine::create(std::move(l.backend), std::move(l.model), config);
    ASSERT_TRUE(e.is_ok()) << e.status().to_string();
    Engine& engine = *e.value();
    const EngineStats before = engine.stats();
    EXPECT_EQ(before.adapter_host_bytes, 0);
    EXPECT_EQ(before.adapter_backend_bytes, 0);
    for (int i = 0; i < 4; ++i) {
        auto id = engine.load_adapter(adapters[static_cast<size_t>(i)]);
        ASSERT_TRUE(id.is_ok()) << id.status().to_string();
        EXPECT_EQ(id.value(), i + 1);
    }

    // Requests: (prompt seed, adapter set) by stream index; ids 5 and 6 are loaded later.
    auto set_for = [](int s) -> std::vector<AdapterRef> {
        switch (s % 6) {
            case 0: return {};
            case 1: return {{1, 1.0f}};
            case 2: return {{2, 0.8f}};
            case 3: return {{1, 0.5f}, {3, 1.0f}};
            case 4: return {{4, 1.0f}};
            default: return {{2, 1.0f}, {4, -0.5f}};
        }
    };
    std::vector<Request> requests;
    std::vector<std::shared_ptr<CollectingSink>> sinks;
    auto submit = [&](Request r) {
        auto sink = std::make_shared<CollectingSink>();
        auto id = engine.submit(r, sink);
        ASSERT_TRUE(id.is_ok()) << id.status().to_string();
        requests.push_back(std::move(r));
        sinks.push_back(sink);
    };
    for (int s = 0; s < 24; ++s) submit(greedy(random_tokens(500 + s, 6 + s % 9, mc.n_vocab), 24, set_for(s)));
    // While they run: load two more, unload two in use, start more streams on the new ones.
    auto id5 = engine.load_adapter(adapters[4]);
    ASSERT_TRUE(id5.is_ok());
    EXPECT_EQ(id5.value(), 5);
    ASSERT_TRUE(engine.unload_adapter(1).is_ok());
    ASSERT_TRUE(engine.unload_adapter("live2").is_ok());
    auto refused = engine.submit(greedy({5, 6, 7}, 4, {{1, 1.0f}}), std::make_shared<CollectingSink>());
    ASSERT_FALSE(refused.is_ok()) << "an unloaded adapter takes no new requests";
    EXPECT_EQ(refused.status().code(), ErrorCode::not_found);
    auto id6 = engine.load_adapter(adapters[5], "live6");
    ASSERT_TRUE(id6.is_ok());
    for (int s = 24; s < 32; ++s) {
        std::vector<AdapterRef> set;
        if (s % 2 == 0) set = {{5, 1.0f}};
        else set = {{6, 1.0f}, {3, 0.5f}};
        submit(greedy(random_tokens(500 + s, 5 + s % 7, mc.n_vocab), 24, set));
    }
    const auto listed = engine.list_adapters();
    EXPECT_GE(listed.size(), 4u);  // 1 and 2 may still be listed as unloading

    for (size_t i = 0; i < sinks.size(); ++i) ASSERT_TRUE(sinks[i]->wait(120.0)) << "stream " << i;
    ASSERT_TRUE(engine.wait_idle(60.0));

    // Each stream against the same request alone on a fresh core with the adapters it used.
    std::vector<LoraAdapter> all = adapters;
    for (size_t i = 0; i < requests.size(); ++i) {
        const auto f = sinks[i]->finish();
        ASSERT_TRUE(f);
        EXPECT_EQ(f->reason, FinishReason::length) << "stream " << i << ": " << f->message;
        const auto alone = run_with_adapters(*ref.model, small_config(256), all, {{requests[i], 0}});
        EXPECT_EQ(sinks[i]->samples()[0].token_ids, alone[0].samples[0].token_ids) << "stream " << i;
    }

    const auto after_run = engine.list_adapters();
    for (const AdapterInfo& a : after_run) {
        EXPECT_EQ(a.in_flight, 0) << a.name;
        EXPECT_FALSE(a.unloading) << a.name << " should be gone once its requests finished";
    }
    EXPECT_EQ(after_run.size(), 4u);  // 3, 4, 5, 6
    for (const AdapterInfo& a : after_run) ASSERT_TRUE(engine.unload_adapter(a.id).is_ok());
    ASSERT_TRUE(engine.wait_idle(60.0));
    const EngineStats done = engine.stats();
    EXPECT_TRUE(engine.list_adapters().empty());
    EXPECT_EQ(done.adapters_loaded, 0);
    EXPECT_EQ(done.adapter_host_bytes, before.adapter_host_bytes);
    EXPECT_EQ(done.adapter_backend_bytes, before.adapter_backend_bytes);
    EXPECT_GT(done.adapter_uploads, 0);
}

// A CPU backend that says it cannot apply LoRA.
class NoLoraBackend final : public ForwardingBackend {
public:
    std::string name() const override { return "no-lora test"; }
    bool supports_lora() const override { return false; }
};

// (d) Unknown ids, bad sets and backends without LoRA are refused with a reason.
TEST(EngineLora, BadAdapterUseIsRefused) {
    LoadedModel l = load_random(2, 51);
    ASSERT_TRUE(l);
    const ModelConfig mc = l.model->config();
    auto e = Engine::create(std::move(l.backend), std::move(l.model), small_config(128));
    ASSERT_TRUE(e.is_ok());
    Engine& engine = *e.value();
    auto sink = std::make_shared<CollectingSink>();

    auto r = engine.submit(greedy({5, 6, 7}, 4, {{42, 1.0f}}), sink);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::not_found);
    EXPECT_NE(r.status().message().find("42"), std::string::npos) << r.status().to_string();
    Request legacy = greedy({5, 6, 7}, 4);
    legacy.adapter_id = 9;
    EXPECT_FALSE(engine.submit(legacy, sink).is_ok()) << "adapter_id goes through the same check";

    const int32_t id = engine.load_adapter(random_adapter(mc, "x", 1)).value();
    EXPECT_EQ(engine.adapter_id("x").value(), id);
    EXPECT_FALSE(engine.load_adapter(random_adapter(mc, "x", 2)).is_ok()) << "names are unique";
    EXPECT_FALSE(engine.submit(greedy({5}, 2, {{id, 1.0f}, {id, 2.0f}}), sink).is_ok()) << "an id twice";
    EXPECT_FALSE(engine.submit(greedy({5}, 2, {{id, NAN}}), sink).is_ok()) << "a scale that is not finite";
    EXPECT_EQ(engine.unload_adapter(777).code(), ErrorCode::not_found);
    EXPECT_EQ(engine.unload_adapter("nope").code(), ErrorCode::not_found);
    EXPECT_FALSE(engine.load_adapter("/nonexistent/adapter.gguf").is_ok());
    EXPECT_FALSE(sink->finished()) << "refused requests get no callback";

    EngineConfig bad = small_config(64);
    bad.lora_type = GgmlType::Q8_0;
    LoadedModel l2 = load_random(2, 51);
    EXPECT_FALSE(Engine::create(std::move(l2.backend), std::move(l2.model), bad).is_ok());

    // A backend without lora_add: adapters are refused at load and at submit.
    fixtures::RandomModelConfig rc = tiny_random_config(21);
    GgufWriter w;
    ASSERT_TRUE(fixtures::build_random_model(rc, w).is_ok());
    auto bytes = std::make_shared<std::vector<uint8_t>>(w.to_bytes());
    auto file = GgufFile::parse(*bytes, "random.gguf");
    ASSERT_TRUE(file.is_ok());
    auto backend = std::make_unique<NoLoraBackend>();
    auto model = Model::load(std::move(file.value()), *backend);
    ASSERT_TRUE(model.is_ok());
    const ModelConfig nc = model.value()->config();
    auto ne = Engine::create(std::move(backend), std::move(model.value()), small_config(64));
    ASSERT_TRUE(ne.is_ok());
    auto loaded = ne.value()->load_adapter(random_adapter(nc, "y", 3));
    ASSERT_FALSE(loaded.is_ok());
    EXPECT_EQ(loaded.status().code(), ErrorCode::unsupported);
    EXPECT_NE(loaded.status().message().find("no-lora test"), std::string::npos) << loaded.status().to_string();
    auto sub = ne.value()->submit(greedy({5, 6}, 2, {{1, 1.0f}}), sink);
    ASSERT_FALSE(sub.is_ok());
    EXPECT_EQ(sub.status().code(), ErrorCode::unsupported);
    EXPECT_NE(sub.status().message().find("not supported"), std::string::npos);
    // Base requests still run there.
    auto ok_sink = std::make_shared<CollectingSink>();
    ASSERT_TRUE(ne.value()->submit(greedy({5, 6}, 2), ok_sink).is_ok());
    ASSERT_TRUE(ok_sink->wait(60.0));
    EXPECT_EQ(ok_sink->finish()->reason, FinishReason::length);
    ne.value().reset();  // the engine goes before the bytes its model aliases
}

}  // namespace
}  // namespace pagoda
