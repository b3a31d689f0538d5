// Between the API layer and the response cache: decide per request (hit, miss, bypass),
// record a miss's generation as it streams by, store it when it ended cleanly, and replay
// a hit through a ResponseAssembler, streamed (SSE chunks of a few engine steps each) or
// as one body.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/generation.h"
#include "server/http_reply.h"
#include "server/response_assembler.h"
#include "server/response_cache.h"

namespace pagoda::server {

// Records a Generation's events; stores them once the request ended cleanly.
class CacheRecorder {
public:
    CacheRecorder(std::shared_ptr<ResponseCache> cache, std::string key, size_t n_slots, int32_t n);

    void on_event(const GenerationEvent& event);
    // At the end of the reply, before its last bytes go out (so a client that sends the
    // same request right after is answered from the cache). Stores only when every
    // request finished with stop/length and nothing was cut short or failed.
    void finish(bool cut_short, bool failed);

private:
    std::shared_ptr<ResponseCache> cache_;
    std::string key_;
    CachedGeneration gen_;
    std::vector<bool> slot_done_;
    bool broken_ = false;
    bool finished_ = false;
};

// The events that replay a cached generation: per slot and sample, deltas merged by
// `steps_per_event` engine steps, then each slot's finish. Empty when the entry does not
// fit the request's shape (n_slots prompts of n samples).
std::vector<GenerationEvent> replay_events(const CachedGeneration& gen, size_t n_slots, int32_t n,
                                           int32_t steps_per_event = 8);

// A cache hit as a ReplyStream: one replay event per next() when streaming.
class CachedReplyStream : public ReplyStream {
public:
    // `model` keeps the tokenizer the assembler reads alive.
    CachedReplyStream(std::shared_ptr<ServedModel> model, std::vector<GenerationEvent> events,
                      AssemblerOptions options);
    bool next(std::string& out) override;
    Usage usage() const override;  // the model; no tokens were computed

private:
    std::shared_ptr<ServedModel> model_;
    std::vector<GenerationEvent> events_;
    size_t pos_ = 0;
    ResponseAssembler assembler_;
    bool stream_;
    bool started_ = false;
};

// What the cache says about one API request before it runs.
struct CachePlan {
    std::string header;                       // x-pagoda-cache: "hit", "miss", "bypass"; "" when no cache is configured
    std::vector<GenerationEvent> hit;         // header "hit": the replay
    std::shared_ptr<CacheRecorder> recorder;  // header "miss": records the generation for the cache
};

// Looks the request up (deterministic requests only); counts hit / miss / bypass.
// `adapters`: the LoRA adapters' identities (name, file, scale), empty for the base model.
CachePlan plan_response_cache(const std::shared_ptr<ResponseCache>& cache, const ServedModel& model,
                              const std::vector<Request>& requests, const AssemblerOptions& options,
                              const std::vector<std::string>& adapters = {});

// The reply for a hit (plan.header "hit"): SSE or a JSON body, with the x-pagoda-cache header.
HttpReply cached_reply(std::shared_ptr<ServedModel> model, CachePlan plan, AssemblerOptions options);

inline constexpr const char* kCacheHeader = "x-pagoda-cache";

}  // namespace pagoda::server
