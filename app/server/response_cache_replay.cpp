#include "server/response_cache_replay.h"

#include <algorithm>

#include "server/response_cache_key.h"

namespace pagoda::server {

namespace {

bool clean(FinishReason r) { return r == FinishReason::stop || r == FinishReason::length; }

}  // namespace

CacheRecorder::CacheRecorder(std::shared_ptr<ResponseCache> cache, std::string key, size_t n_slots, int32_t n)
    : cache_(std::move(cache)), key_(std::move(key)), slot_done_(n_slots, false) {
    gen_.request_slots.resize(n_slots);
    for (CachedSlot& s : gen_.request_slots) s.samples.resize(static_cast<size_t>(std::max(n, 1)));
}

void CacheRecorder::on_event(const GenerationEvent& event) {
    if (broken_) return;
    if (event.slot < 0 || static_cast<size_t>(event.slot) >= gen_.request_slots.size()) {
        broken_ = true;
        return;
    }
    CachedSlot& slot = gen_.request_slots[static_cast<size_t>(event.slot)];
    if (event.delta) {
        for (const SampleDelta& s : event.delta->samples) {
            if (s.index < 0 || static_cast<size_t>(s.index) >= slot.samples.size()) {
                broken_ = true;
                return;
            }
            CachedSample& sample = slot.samples[static_cast<size_t>(s.index)];
            if (!s.text.empty() || !s.token_ids.empty() || !s.logprobs.empty()) {
                sample.deltas.push_back(CachedDelta{s.text, s.token_ids, s.logprobs});
            }
            if (s.finish_reason) sample.finish = s.finish_reason;
        }
    }
    if (event.finish) {
        slot.reason = event.finish->reason;
        slot.sample_reasons = event.finish->sample_reasons;
        slot.usage = event.finish->usage;
        slot_done_[static_cast<size_t>(event.slot)] = true;
    }
}

void CacheRecorder::finish(bool cut_short, bool failed) {
    if (finished_) return;
    finished_ = true;
    if (broken_ || cut_short || failed) return;
    for (size_t i = 0; i < gen_.request_slots.size(); ++i) {
        const CachedSlot& slot = gen_.request_slots[i];
        if (!slot_done_[i] || !clean(slot.reason)) return;
        for (FinishReason r : slot.sample_reasons) {
            if (!clean(r)) return;
        }
        for (const CachedSample& s : slot.samples) {
            if (s.finish && !clean(*s.finish)) return;
        }
    }
    auto payload = gen_.serialize();
    if (!payload) {
        cache_->counters().store_failures++;
        return;
    }
    cache_->store(key_, *payload);
}

std::vector<GenerationEvent> replay_events(const CachedGeneration& gen, size_t n_slots, int32_t n,
                                           int32_t steps_per_event) {
    std::vector<GenerationEvent> events;
    if (gen.request_slots.size() != n_slots || n_slots == 0) return events;
    for (const CachedSlot& slot : gen.request_slots) {
        if (slot.samples.size() != static_cast<size_t>(n)) return events;
    }
    const size_t group = static_cast<size_t>(std::max(steps_per_event, 1));
    for (size_t s = 0; s < gen.request_slots.size(); ++s) {
        const CachedSlot& slot = gen.request_slots[s];
        for (size_t i = 0; i < slot.samples.size(); ++i) {
            const CachedSample& sample = slot.samples[i];
            const size_t n_deltas = sample.deltas.size();
            // At least one event per sample when it carries a finish reason (no tokens at all).
            const size_t n_events = std::max<size_t>((n_deltas + group - 1) / group, sample.finish ? 1 : 0);
            for (size_t e = 0; e < n_events; ++e) {
                SampleDelta d;
                d.index = static_cast<int32_t>(i);
                for (size_t k = e * group; k < std::min(n_deltas, (e + 1) * group); ++k) {
                    const CachedDelta& c = sample.deltas[k];
                    d.text += c.text;
                    d.token_ids.insert(d.token_ids.end(), c.token_ids.begin(), c.token_ids.end());
                    d.logprobs.insert(d.logprobs.end(), c.logprobs.begin(), c.logprobs.end());
                }
                if (e + 1 == n_events) d.finish_reason = sample.finish;
                GenerationEvent ev;
                ev.slot = static_cast<int32_t>(s);
                ev.delta = RequestDelta{};
                ev.delta->samples.push_back(std::move(d));
                events.push_back(std::move(ev));
            }
        }
        GenerationEvent fin;
        fin.slot = static_cast<int32_t>(s);
        fin.finish = RequestFinish{};
        fin.finish->reason = slot.reason;
        fin.finish->sample_reasons = slot.sample_reasons;
        fin.finish->usage = slot.usage;
        events.push_back(std::move(fin));
    }
    return events;
}

CachedReplyStream::CachedReplyStream(std::shared_ptr<ServedModel> model, std::vector<GenerationEvent> events,
                                     AssemblerOptions options)
    : model_(std::move(model)),
      events_(std::move(events)),
      assembler_(options, model_->engine ? model_->engine->tokenizer() : nullptr),
      stream_(options.stream) {}

ReplyStream::Usage CachedReplyStream::usage() const {
    Usage u;
    u.model = model_->id;
    return u;
}

bool CachedReplyStream::next(std::string& out) {
    if (stream_) {
        if (!started_) {
            started_ = true;
            out += assembler_.stream_start();
            return true;
        }
        // One SSE write per replayed event (a few engine steps): the client sees a stream,
        // in larger pieces than a live generation.
        while (pos_ < events_.size()) {
            out += assembler_.on_event(events_[pos_++]);
            if (!out.empty() && pos_ < events_.size()) return true;
        }
        out += assembler_.stream_end(false);
        return false;
    }
    for (; pos_ < events_.size(); ++pos_) assembler_.on_event(events_[pos_]);
    out += assembler_.final_body(false).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    return false;
}

CachePlan plan_response_cache(const std::shared_ptr<ResponseCache>& cache, const ServedModel& model,
                              const std::vector<Request>& requests, const AssemblerOptions& options,
                              const std::vector<std::string>& adapters) {
    CachePlan plan;
    if (!cache) return plan;
    const char* kind = options.kind == ApiKind::chat ? "chat" : "completion";
    auto canonical = canonical_cache_request(kind, model_cache_identity(model), adapters, requests);
    const std::string key = canonical ? response_cache_key(*canonical) : std::string();
    if (key.empty()) {
        plan.header = "bypass";
        cache->counters().bypassed++;
        return plan;
    }
    CacheLookupResult found = cache->lookup(key);
    if (found.outcome == CacheLookup::hit) {
        if (auto gen = CachedGeneration::parse(found.value)) {
            plan.hit = replay_events(*gen, requests.size(), options.n);
        }
        if (!plan.hit.empty()) {
            plan.header = "hit";
            cache->counters().hits++;
            return plan;
        }
        // An entry this server cannot read: generate, and the store replaces it.
    } else if (found.outcome == CacheLookup::unavailable) {
        plan.header = "bypass";
        cache->counters().bypassed++;
        return plan;
    }
    plan.header = "miss";
    cache->counters().misses++;
    plan.recorder = std::make_shared<CacheRecorder>(cache, key, requests.size(), options.n);
    return plan;
}

}  // namespace pagoda::server

namespace pagoda::server {

HttpReply cached_reply(std::shared_ptr<ServedModel> model, CachePlan plan, AssemblerOptions options) {
    HttpReply reply;
    reply.status = 200;
    if (options.stream) {
        reply.content_type = "text/event-stream";
        reply.headers.emplace_back("Cache-Control", "no-cache");
        reply.headers.emplace_back("X-Accel-Buffering", "no");
    }
    reply.headers.emplace_back(kCacheHeader, plan.header);
    reply.stream = std::make_shared<CachedReplyStream>(std::move(model), std::move(plan.hit), std::move(options));
    return reply;
}

}  // namespace pagoda::server
