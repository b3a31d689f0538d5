#include "engine/engine_core.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "lora/adapter_set.h"
#include "model/ggml_type.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

constexpr double kRateWindowSeconds = 5.0;
constexpr int64_t kDefaultKvBytes = int64_t{1} << 30;
// Device memory left for activations and workspaces when the KV pool is sized from a fraction of it.
constexpr int64_t kActivationReserveBytes = int64_t{512} << 20;

int64_t div_ceil(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

const char* finish_reason_name(FinishReason reason) {
    switch (reason) {
        case FinishReason::stop: return "stop";
        case FinishReason::length: return "length";
        case FinishReason::cancelled: return "cancelled";
        case FinishReason::error: return "error";
    }
    return "?";
}

Result<std::unique_ptr<EngineCore>> EngineCore::create(Model& model, const EngineConfig& config) {
    const ModelConfig& mc = model.config();
    if (config.max_num_seqs < 1 || config.max_num_seqs > 4096)
        return invalid_argument("max_num_seqs must be between 1 and 4096");
    if (config.max_num_batched_tokens < 1 || config.max_num_batched_tokens > (1 << 20))
        return invalid_argument("max_num_batched_tokens must be between 1 and 1048576");
    if (config.block_size < 1 || config.block_size > 1024) return invalid_argument("block_size must be 1..1024");
    if (config.kv_type != GgmlType::F16 && config.kv_type != GgmlType::F32 && config.kv_type != GgmlType::Q8_0)
        return invalid_argument("the KV cache type must be F16, F32 or Q8_0");
    if (config.max_model_len < 0 || config.kv_blocks < 0 || config.kv_memory_bytes < 0)
        return invalid_argument("max_model_len, kv_blocks and kv_memory_bytes must not be negative");
    if (config.lora_memory_bytes < 0) return invalid_argument("lora_memory_bytes must not be negative");
    if (!(config.kv_memory_fraction >= 0.0 && config.kv_memory_fraction <= 1.0))
        return invalid_argument("kv_memory_fraction must be in [0, 1]");
    PAGODA_RETURN_IF_ERROR(AdapterRegistry::check_config({0, config.lora_type}));
    const int32_t max_model_len = config.max_model_len > 0 ? config.max_model_len : std::max(mc.n_ctx_train, 1);

    Transformer& t = model.transformer();
    const uint64_t block_bytes = t.kv_cache_config(1, config.kv_type, config.block_size).bytes_per_block();
    if (block_bytes == 0) return invalid_argument("the KV cache type does not fit the model's head size");
    int64_t n_blocks = 0;
    if (config.kv_blocks > 0) {
        n_blocks = config.kv_blocks;
    } else if (config.kv_memory_bytes > 0) {
        n_blocks = config.kv_memory_bytes / static_cast<int64_t>(block_bytes);
        if (n_blocks < 1)
            return out_of_memory("a KV budget of " + std::to_string(config.kv_memory_bytes) +
                                 " bytes is smaller than one block (" + std::to_string(block_bytes) + " bytes)");
    } else if (const auto mem = t.backend().device_memory(); config.kv_memory_fraction > 0 && mem) {
        const int64_t budget = static_cast<int64_t>(static_cast<double>(mem->free_bytes) * config.kv_memory_fraction) -
                               kActivationReserveBytes;
        n_blocks = budget / static_cast<int64_t>(block_bytes);
        if (n_blocks < div_ceil(max_model_len, config.block_size))
            return out_of_memory("the KV cache needs " + std::to_string(block_bytes) + " bytes a block; " +
                                 std::to_string(mem->free_bytes >> 20) + " MiB of device memory are free, and " +
                                 std::to_string(config.kv_memory_fraction) + " of it less " +
                                 std::to_string(kActivationReserveBytes >> 20) +
                                 " MiB for activations does not hold one full context: lower the context or "
                                 "raise the fraction");
    } else {
        const int64_t per_seq = div_ceil(max_model_len, config.block_size);
        n_blocks = std::clamp<int64_t>(per_seq * config.max_num_seqs, 1,
                                       std::max<int64_t>(kDefaultKvBytes / static_cast<int64_t>(block_bytes), 1));
        n_blocks = std::max(n_blocks, per_seq);
    }
    n_blocks = std::min<int64_t>(n_blocks, std::numeric_limits<int32_t>::max() / config.block_size);
    PAGODA_RETURN_IF_ERROR(
        t.init_kv_cache(t.kv_cache_config(static_cast<int32_t>(n_blocks), config.kv_type, config.block_size)));
    return std::unique_ptr<EngineCore>(new EngineCore(model, config, max_model_len, static_cast<int32_t>(n_blocks)));
}

EngineCore::EngineCore(Model& model, const EngineConfig& config, int32_t max_model_len, int32_t n_blocks)
    : model_(model), config_(config), max_model_len_(max_model_len), n_vocab_(model.config().n_vocab) {
    kv_ = std::make_unique<KvCacheManager>(n_blocks, config.block_size, config.enable_prefix_caching);
    SchedulerConfig sc;
    sc.max_num_seqs = config.max_num_seqs;
    sc.max_num_batched_tokens = config.max_num_batched_tokens;
    sc.max_model_len = max_model_len;
    scheduler_ = std::make_unique<Scheduler>(sc, *kv_);
    AdapterRegistryConfig ac;
    ac.backend_budget_bytes = static_cast<uint64_t>(config.lora_memory_bytes);
    ac.type = config.lora_type;
    adapters_ = std::make_unique<AdapterRegistry>(model.transformer().backend(), model.config(), ac);
    seed_rng_.seed(config.seed != 0 ? config.seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
    if (const Tokenizer* tok = model.tokenizer()) {
        eos_ = tok->special().eos;
    } else if (auto eos = model.gguf().get_int("tokenizer.ggml.eos_token_id")) {
        eos_ = static_cast<TokenId>(*eos);
    }
}

EngineCore::~EngineCore() = default;

bool EngineCore::is_eog(TokenId t) const {
    if (const Tokenizer* tok = model_.tokenizer()) return tok->is_eog(t);
    return t == eos_;
}

Status EngineCore::check_request(const Request& r) const {
    const SamplingParams& p = r.sampling;
    for (TokenId t : r.prompt) {
        if (t < 0 || t >= n_vocab_)
            return invalid_argument("prompt token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                                    std::to_string(n_vocab_ - 1) + ")");
    }
    if (!std::isfinite(p.temperature) || p.temperature < 0) return invalid_argument("temperature must be 0 or more");
    if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) return invalid_argument("top_p must be in [0, 1]");
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return invalid_argument("min_p must be in [0, 1]");
    if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty))
        return invalid_argument("repetition_penalty must be a positive number");
    if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty))
        return invalid_argument("presence_penalty and frequency_penalty must be finite");
    for (const auto& [token, bias] : p.logit_bias) {
        if (token < 0 || token >= n_vocab_)
            return invalid_argument("logit_bias token id " + std::to_string(token) + " is outside the vocabulary");
        if (std::isnan(bias)) return invalid_argument("logit_bias values must be numbers");
    }
    if (p.max_tokens < -1 || p.max_tokens == 0) return invalid_argument("max_tokens must be at least 1 (or -1)");
    if (p.top_logprobs < 0 || p.top_logprobs > kMaxTopLogprobs)
        return invalid_argument("top_logprobs must be between 0 and " + std::to_string(kMaxTopLogprobs));
    if (p.stop.size() > 64) return invalid_argument("at most 64 stop strings");
    for (const std::string& s : p.stop) {
        if (s.empty()) return invalid_argument("stop strings must not be empty");
        if (s.size() > 1024) return invalid_argument("stop strings are limited to 1024 bytes");
    }
    if (!p.stop.empty() && !model_.tokenizer())
        return invalid_argument("stop strings need the model's tokenizer, which did not load");
    if (p.grammar && !model_.tokenizer())
        return invalid_argument("a grammar (response_format) needs the model's tokenizer, which did not load");
    const std::string impossible = scheduler_->why_impossible(static_cast<int32_t>(r.prompt.size()), p.n);
    if (!impossible.empty()) return invalid_argument(impossible);
    const std::vector<AdapterRef> set = request_adapter_set(r);
    if (!set.empty()) {
        Backend& backend = model_.transformer().backend();
        if (!backend.supports_lora())
            return unsupported("LoRA adapters are not supported on the " + backend.name() + " backend");
        PAGODA_RETURN_IF_ERROR(check_adapter_set(set));
        PAGODA_RETURN_IF_ERROR(adapters_->check(set));
    }
    return Status::ok();
}

void EngineCore::add_request(RequestId id, Request request, std::shared_ptr<Sink> sink, Clock::time_point submitted,
                             bool adapters_held) {
    auto req = std::make_unique<RequestState>();
    RequestState& r = *req;
    r.id = id;
    r.sink = std::move(sink);
    r.submitted = submitted;
    r.adapters = request_adapter_set(request);
    if (!r.adapters.empty()) {
        const Status held = adapters_held ? Status::ok() : adapters_->acquire(r.adapters);
        if (!held) {
            // Unloaded between check_request and now: the request ends before it starts.
            RequestFinish f;
            f.id = id;
            f.reason = FinishReason::error;
            f.sample_reasons.assign(static_cast<size_t>(std::max(request.sampling.n, 1)), FinishReason::error);
            f.message = held.to_string();
            f.usage.prompt_tokens = static_cast<int32_t>(request.prompt.size());
            f.total_time_s = std::chrono::duration<double>(Clock::now() - submitted).count();
            ++requests_finished_;
            if (r.sink) {
                try {
                    r.sink->on_finish(f);
                } catch (...) {
                }
            }
            return;
        }
        r.holds_adapters = true;
    }
    r.base_seed = request.sampling.seed ? *request.sampling.seed : seed_rng_();
    const int32_t n = std::max(request.sampling.n, 1);
    r.reasons.resize(static_cast<size_t>(n));
    r.usage.prompt_tokens = static_cast<int32_t>(request.prompt.size());
    r.request = std::move(request);

    auto st = std::make_unique<SeqState>(derive_seed(r.base_seed, 0), model_.tokenizer(), r.request.sampling.stop);
    auto seq = std::make_unique<Sequence>();
    seq->id = next_seq_id_++;
    seq->request_id = id;
    seq->sample_index = 0;
    seq->priority = r.request.priority;
    seq->arrival = next_arrival_++;
    seq->adapters = r.adapters;
    seq->adapter_id = adapter_set_key(r.adapters);
    seq->tokens = r.request.prompt;
    seq->n_prompt = static_cast<int32_t>(seq->tokens.size());
    seq->fork_count = n;
    if (penalties_enabled(r.request.sampling)) st->penalties.add_prompt(seq->tokens);
    if (r.request.sampling.grammar) {
        st->grammar.emplace(r.request.sampling.grammar);
        r.grammar_filter = std::make_unique<grammar::TokenFilter>(grammar_vocabulary());
    }
    st->seq = std::move(seq);
    st->req = &r;
    r.live.push_back(st.get());
    scheduler_->add(st->seq.get());
    seqs_.emplace(st->seq->id, std::move(st));
    requests_.emplace(id, std::move(req));
}

SampleDelta& EngineCore::delta_for(RequestState& req, int32_t index) {
    if (!req.has_pending) {
        req.has_pending = true;
        req.pending = RequestDelta{};
        req.pending.id = req.id;
        touched_.push_back(&req);
    }
    for (SampleDelta& d : req.pending.samples) {
        if (d.index == index) return d;
    }
    req.pending.samples.emplace_back();
    req.pending.samples.back().index = index;
    return req.pending.samples.back();
}

void EngineCore::finish_seq(SeqState& st, FinishReason reason) {
    if (st.done) return;
    RequestState& req = *st.req;
    Sequence& seq = *st.seq;
    SampleDelta& d = delta_for(req, seq.sample_index);
    d.text += st.text.flush();
    d.finish_reason = reason;
    st.done = true;
    req.usage.cached_prompt_tokens = std::max(req.usage.cached_prompt_tokens, seq.n_cached_prompt_tokens);
    // Before the fork one sequence stands for all n samples.
    const int32_t first = seq.sample_index;
    const int32_t last = seq.fork_count > 1 ? seq.fork_count - 1 + first : first;
    for (int32_t i = first; i <= last; ++i) {
        if (!req.reasons[static_cast<size_t>(i)]) req.reasons[static_cast<size_t>(i)] = reason;
        if (i != first) delta_for(req, i).finish_reason = reason;
    }
    scheduler_->remove(&seq);
    req.live.erase(std::find(req.live.begin(), req.live.end(), &st));
    dead_seqs_.push_back(seq.id);
}

void EngineCore::fail_request(RequestState& req, FinishReason reason, const std::string& message) {
    if (req.message.empty()) req.message = message;
    const std::vector<SeqState*> live = req.live;
    for (SeqState* st : live) finish_seq(*st, reason);
    for (auto& r : req.reasons) {
        if (!r) r = reason;
    }
}

void EngineCore::fork(SeqState& parent) {
    Sequence& p = *parent.seq;
    RequestState& req = *parent.req;
    const int32_t n = p.fork_count;
    p.fork_count = 1;
    for (int32_t i = 1; i < n; ++i) {
        auto st =
            std::make_unique<SeqState>(derive_seed(req.base_seed, i), model_.tokenizer(), req.request.sampling.stop);
        auto seq = std::make_unique<Sequence>(p);  // tokens, n_computed, priority, arrival, ...
        seq->id = next_seq_id_++;
        seq->sample_index = i;
        seq->n_preemptions = 0;
        st->penalties = parent.penalties;
        st->grammar = parent.grammar;
        st->seq = std::move(seq);
        st->req = &req;
        req.live.push_back(st.get());
        scheduler_->add_fork(&p, st->seq.get());
        seqs_.emplace(st->seq->id, std::move(st));
    }
}

void EngineCore::release_adapters(RequestState& req) {
    if (!req.holds_adapters) return;
    req.holds_adapters = false;
    adapters_->release(req.adapters);
}

void EngineCore::collect_adapter_garbage() {
    if (adapters_->has_garbage()) adapters_->collect_garbage();
}

Result<const LoraStepPlan*> EngineCore::plan_lora(const SchedulerOutput& out) {
    lora_ids_.clear();
    for (const ScheduledSeq& s : out.scheduled) {
        for (const AdapterRef& a : s.seq->adapters) lora_ids_.push_back(a.id);
    }
    if (lora_ids_.empty()) return static_cast<const LoraStepPlan*>(nullptr);
    std::sort(lora_ids_.begin(), lora_ids_.end());
    lora_ids_.erase(std::unique(lora_ids_.begin(), lora_ids_.end()), lora_ids_.end());
    PAGODA_RETURN_IF_ERROR(adapters_->make_resident(lora_ids_));
    lora_sets_.clear();
    for (const ScheduledSeq& s : out.scheduled) lora_sets_.emplace_back(s.seq->adapters);
    PAGODA_RETURN_IF_ERROR(lora_plan_.build(batch_.inputs(), lora_sets_, model_.config().n_layers,
                                            [this](int32_t id) { return adapters_->resident(id); }));
    return static_cast<const LoraStepPlan*>(&lora_plan_);
}

Status EngineCore::step() {
    Status result;
    collect_adapter_garbage();
    if (scheduler_->has_work()) {
        const auto start = Clock::now();
        SchedulerOutput out = scheduler_->schedule();
        for (Sequence* seq : out.out_of_kv) {
            SeqState& st = *seqs_.at(seq->id);
            if (st.req->message.empty()) st.req->message = "the KV cache cannot hold this sequence";
            finish_seq(st, FinishReason::length);
        }
        if (!out.empty()) {
            batch_.build(out, *kv_);
            const Result<const LoraStepPlan*> lora = plan_lora(out);
            // Backends that sample next to the logits keep them there (row_sampling.h).
            const bool on_device = model_.transformer().backend().supports_device_sampling();
            Tensor device_logits;
            Status forward = lora.status();
            if (lora && on_device) {
                Result<Tensor> logits = model_.transformer().forward_device(batch_.inputs(), lora.value());
                if (logits) device_logits = *logits;
                else forward = logits.status();
            } else if (lora) {
                forward = model_.transformer().forward(batch_.inputs(), logits_, lora.value());
            }
            if (forward) {
                scheduler_->on_step_done(out);
                prompt_tokens_computed_ += out.n_prefill_tokens;
            }
            const int64_t generated_before = generated_tokens_;
            if (forward) forward = sample_step(out, on_device ? &device_logits : nullptr);
            if (!forward) {
                result = forward;
                for (const ScheduledSeq& s : out.scheduled) {
                    auto it = seqs_.find(s.seq->id);
                    if (it != seqs_.end() && !it->second->done)
                        fail_request(*it->second->req, FinishReason::error, forward.to_string());
                }
            } else {
                ++steps_;
                const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
                std::lock_guard<std::mutex> lock(rate_mutex_);
                rate_window_.push_back(
                    {Clock::now(), seconds, out.n_prefill_tokens, generated_tokens_ - generated_before});
                while (!rate_window_.empty() &&
                       std::chrono::duration<double>(rate_window_.back().end - rate_window_.front().end).count() >
                           kRateWindowSeconds)
                    rate_window_.pop_front();
            }
        }
    }
    deliver();
    return result;
}

void EngineCore::cancel(RequestId id) {
    auto it = requests_.find(id);
    if (it == requests_.end() || it->second->finished) return;
    fail_request(*it->second, FinishReason::cancelled, "cancelled");
    deliver();
}

void EngineCore::cancel_all() {
    for (auto& [id, req] : requests_) {
        if (!req->finished) fail_request(*req, FinishReason::cancelled, "cancelled: the engine shut down");
    }
    deliver();
}

void EngineCore::deliver() {
    const auto now = Clock::now();
    std::vector<RequestState*> touched;
    touched.swap(touched_);
    for (RequestState* req : touched) {
        req->has_pending = false;
        if (!req->sink) continue;
        try {
            req->sink->on_delta(req->pending);
        } catch (...) {
            req->sink_failed = true;
        }
    }
    std::vector<RequestId> finished;
    for (RequestState* req : touched) {
        if (req->sink_failed && !req->live.empty()) {
            // A sink that throws gets nothing more but its on_finish.
            fail_request(*req, FinishReason::cancelled, "the request's sink threw an exception");
            req->has_pending = false;
            std::erase(touched_, req);
        }
        const bool done = std::all_of(req->reasons.begin(), req->reasons.end(), [](const auto& r) { return r; });
        if (!done || req->finished) continue;
        req->finished = true;
        RequestFinish f;
        f.id = req->id;
        for (const auto& r : req->reasons) f.sample_reasons.push_back(*r);
        f.reason = f.sample_reasons.front();
        for (FinishReason r : f.sample_reasons) {
            if (r == FinishReason::error || r == FinishReason::cancelled) f.reason = r;
        }
        if (f.reason != FinishReason::stop) f.message = req->message;
        f.usage = req->usage;
        f.total_time_s = std::chrono::duration<double>(now - req->submitted).count();
        if (req->first_token)
            f.time_to_first_token_s = std::chrono::duration<double>(*req->first_token - req->submitted).count();
        if (req->sink) {
            try {
                req->sink->on_finish(f);
            } catch (...) {
            }
        }
        ++requests_finished_;
        finished.push_back(req->id);
    }
    for (SeqId id : dead_seqs_) seqs_.erase(id);
    dead_seqs_.clear();
    bool released = false;
    for (RequestId id : finished) {
        auto it = requests_.find(id);
        if (it == requests_.end()) continue;
        released |= it->second->holds_adapters;
        release_adapters(*it->second);
        requests_.erase(it);
    }
    if (released) collect_adapter_garbage();
}

void EngineCore::rates(double& prompt_tps, double& generated_tps) const {
    std::lock_guard<std::mutex> lock(rate_mutex_);
    prompt_tps = generated_tps = 0.0;
    if (rate_window_.empty()) return;
    const auto now = Clock::now();
    int64_t prompt = 0, generated = 0;
    const RateEntry* first = nullptr;
    for (const RateEntry& e : rate_window_) {
        if (std::chrono::duration<double>(now - e.end).count() > kRateWindowSeconds) continue;
        if (!first) first = &e;
        prompt += e.prompt;
        generated += e.generated;
    }
    if (!first) return;
    // From the start of the oldest step in the window to now.
    const double span = std::chrono::duration<double>(now - first->end).count() + first->seconds;
    if (span <= 0) return;
    prompt_tps = static_cast<double>(prompt) / span;
    generated_tps = static_cast<double>(generated) / span;
}

void EngineCore::compute_kv_fill(int64_t& allocated, int64_t& filled) const {
    const int32_t bs = kv_->block_size();
    allocated = int64_t{kv_->pool().n_used()} * bs;
    std::unordered_map<int32_t, int32_t> fill;  // block -> filled slots (shared blocks counted once)
    for (const Sequence* seq : scheduler_->running()) {
        const auto table = kv_->block_table(seq->id);
        for (size_t i = 0; i < table.size(); ++i) {
            const int32_t f = std::clamp<int32_t>(seq->n_computed - static_cast<int32_t>(i) * bs, 0, bs);
            int32_t& slot = fill[table[i]];
            slot = std::max(slot, f);
        }
    }
    filled = 0;
    for (const auto& [block, f] : fill) filled += f;
}

EngineStats EngineCore::stats() const {
    EngineStats s;
    s.running = scheduler_->n_running();
    s.waiting = scheduler_->n_waiting();
    for (const auto& [id, req] : requests_) s.requests += req->finished ? 0 : 1;
    const BlockPool& pool = kv_->pool();
    s.kv_blocks_total = pool.n_blocks();
    s.kv_blocks_used = pool.n_used();
    s.kv_blocks_free = pool.n_free();
    s.kv_blocks_cached = pool.n_cached();
    s.block_size = pool.block_size();
    compute_kv_fill(s.kv_slots_allocated, s.kv_slots_filled);
    s.prefix_cache_queries = kv_->query_tokens();
    s.prefix_cache_hits = kv_->hit_tokens();
    s.prefix_cache_hit_rate =
        s.prefix_cache_queries > 0 ? static_cast<double>(s.prefix_cache_hits) / s.prefix_cache_queries : 0.0;
    rates(s.prompt_tokens_per_s, s.generated_tokens_per_s);
    s.steps = steps_;
    s.prompt_tokens_computed = prompt_tokens_computed_;
    s.generated_tokens = generated_tokens_;
    s.preemptions = scheduler_->n_preemptions();
    s.requests_finished = requests_finished_;
    return s;
}

}  // namespace pagoda
