// The engine without its thread: requests in, one step at a time, callbacks out. The
// Engine (engine.h) runs it on its own thread behind an inbox; tests drive it directly
// so that requests can arrive at chosen steps.
//
//   step():  scheduler.schedule() -> StepBatch -> Transformer::forward -> per sampled
//            row: fork (n > 1), logit_bias + penalties, draw, logprobs, stop checks,
//            text -> scheduler.on_step_done -> one on_delta per request, on_finish.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "kv/kv_cache_manager.h"
#include "lora/adapter_registry.h"
#include "lora/lora_step_plan.h"
#include "model/model.h"
#include "pagoda/engine.h"
#include "pagoda/request.h"
#include "sample/logits_processors.h"
#include "sample/row_sampler.h"
#include "sample/text_stream.h"
#include "sample/token_sampler.h"
#include "sched/scheduler.h"
#include "sched/step_batch.h"

namespace pagoda {

class EngineCore {
public:
    using Clock = std::chrono::steady_clock;

    // Sizes the KV pool from the config and allocates it on the model's backend.
    // The model must outlive the core.
    static Result<std::unique_ptr<EngineCore>> create(Model& model, const EngineConfig& config);
    ~EngineCore();

    // Whether the request can run (see Engine::submit). Reads only immutable state and
    // the (thread-safe) adapter registry.
    Status check_request(const Request& request) const;
    // Queues a checked request (ids must be unique). It takes a reference on each of its
    // LoRA adapters unless the caller already did (adapters_held: acquired with
    // adapters().acquire(request_adapter_set(request))); the request gives them back when
    // it finishes. An adapter unloaded since check_request fails the request (on_finish).
    void add_request(RequestId id, Request request, std::shared_ptr<Sink> sink,
                     Clock::time_point submitted = Clock::now(), bool adapters_held = false);
    // Ends the request now as cancelled (its blocks are free when this returns).
    void cancel(RequestId id);
    void cancel_all();
    // One scheduling + forward + sampling step; a no-op when idle. A failed forward
    // pass ends the step's requests with FinishReason::error and is returned too.
    Status step();

    bool has_work() const { return scheduler_->has_work(); }
    bool has_request(RequestId id) const { return requests_.count(id) != 0; }
    EngineStats stats() const;
    // Tokens/s over the last few seconds, at `now` (thread-safe).
    void rates(double& prompt_tps, double& generated_tps) const;

    // LoRA adapters (the registry is thread-safe for loading, unloading and listing).
    AdapterRegistry& adapters() { return *adapters_; }
    const AdapterRegistry& adapters() const { return *adapters_; }
    // Frees unloaded adapters no request holds (the engine thread calls it when idle).
    void collect_adapter_garbage();

    const KvCacheManager& kv() const { return *kv_; }
    const Scheduler& scheduler() const { return *scheduler_; }
    const EngineConfig& config() const { return config_; }
    int32_t max_model_len() const { return max_model_len_; }
    Model& model() { return model_; }

private:
    struct RequestState;
    struct SeqState {
        std::unique_ptr<Sequence> seq;
        RequestState* req = nullptr;
        TokenSampler sampler;
        PenaltyState penalties;
        TextStream text;
        std::optional<grammar::GrammarMatcher> grammar;  // where the output stands in the request's grammar
        int32_t n_generated = 0;
        bool done = false;
        SeqState(uint64_t seed, const Tokenizer* tok, std::vector<std::string> stops)
            : sampler(seed), text(tok, std::move(stops)) {}
    };
    struct RequestState {
        RequestId id = 0;
        Request request;
        std::shared_ptr<Sink> sink;
        std::vector<AdapterRef> adapters;  // sorted by id; held (registry refs) while unfinished
        bool holds_adapters = false;
        uint64_t base_seed = 0;
        std::vector<std::optional<FinishReason>> reasons;  // per sample
        std::vector<SeqState*> live;                       // unfinished sequences
        std::unique_ptr<grammar::TokenFilter> grammar_filter;  // shared by the n samples (mask cache)
        std::string message;
        RequestDelta pending;
        bool has_pending = false;
        bool prompt_logits_sent = false;
        bool finished = false;
        bool sink_failed = false;
        RequestUsage usage;
        Clock::time_point submitted;
        std::optional<Clock::time_point> first_token;
    };

    EngineCore(Model& model, const EngineConfig& config, int32_t max_model_len, int32_t n_blocks);

    bool is_eog(TokenId t) const;
    SampleDelta& delta_for(RequestState& req, int32_t index);
    // Chooses and appends this step's tokens (engine_core_sampling.cpp); device_logits:
    // the logits in backend memory when the backend samples there, else they are in logits_.
    Status sample_step(const SchedulerOutput& out, const Tensor* device_logits);
    RowSamplingRequest row_request(SeqState& st, int32_t row);
    void accept_token(SeqState& st, RowSamplingResult& chosen);
    // Constrained decoding (engine_core_grammar.cpp).
    const std::shared_ptr<const grammar::TokenVocabulary>& grammar_vocabulary();
    bool grammar_allows(const SeqState& st, TokenId t) const;
    // Samples a row under the sequence's grammar; false: no token may follow (the
    // sequence was finished or its request failed).
    bool sample_constrained(SeqState& st, std::span<const float> raw, const RowSamplingRequest& r,
                            RowSamplingResult& out);
    // Advances the grammar over an accepted token; true when the output must end here.
    bool advance_grammar(SeqState& st, TokenId t);
    void fork(SeqState& parent);
    // Ends one sequence (and, before its fork, every sample it stands for).
    void finish_seq(SeqState& st, FinishReason reason);
    void fail_request(RequestState& req, FinishReason reason, const std::string& message);
    void deliver();  // pending deltas and finishes of this step
    void compute_kv_fill(int64_t& allocated, int64_t& filled) const;
    // The step's LoRA plan (adapters made resident first); null when no sequence uses one.
    Result<const LoraStepPlan*> plan_lora(const SchedulerOutput& out);
    void release_adapters(RequestState& req);

    Model& model_;
    EngineConfig config_;
    int32_t max_model_len_;
    int32_t n_vocab_;
    TokenId eos_ = -1;
    std::unique_ptr<KvCacheManager> kv_;
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<AdapterRegistry> adapters_;
    LoraStepPlan lora_plan_;
    std::vector<std::span<const AdapterRef>> lora_sets_;  // per scheduled sequence
    std::vector<int32_t> lora_ids_;
    StepBatch batch_;
    std::vector<float> logits_;
    std::vector<float> host_row_;  // a device row read back (prompt logits, rows sampled on the host)
    RowSampler row_sampler_;
    std::shared_ptr<const grammar::TokenVocabulary> grammar_vocabulary_;  // built on first use
    std::vector<uint64_t> grammar_mask_;  // allowed tokens of the row being sampled
    std::vector<SeqState*> sampling_seqs_;  // this step's sampled sequences, forks included
    std::vector<RowSamplingRequest> sampling_requests_;
    std::vector<RowSamplingResult> sampling_results_;
    std::mt19937_64 seed_rng_;

    std::unordered_map<RequestId, std::unique_ptr<RequestState>> requests_;
    std::unordered_map<SeqId, std::unique_ptr<SeqState>> seqs_;
    std::vector<RequestState*> touched_;  // requests with news this step
    std::vector<SeqId> dead_seqs_;        // freed at the end of the step
    SeqId next_seq_id_ = 1;
    uint64_t next_arrival_ = 0;

    // Counters (engine thread).
    int64_t steps_ = 0;
    int64_t prompt_tokens_computed_ = 0;
    int64_t generated_tokens_ = 0;
    int64_t requests_finished_ = 0;

    // Recent throughput: (step end, step seconds, prompt tokens, generated tokens).
    struct RateEntry {
        Clock::time_point end;
        double seconds;
        int64_t prompt;
        int64_t generated;
    };
    mutable std::mutex rate_mutex_;
    std::deque<RateEntry> rate_window_;
};

}  // namespace pagoda
