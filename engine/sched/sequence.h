// One sequence the scheduler runs: a request's prompt and the tokens sampled so far. A
// request with n parallel samples runs as one sequence until its first sample, then
// forks into n sharing the prompt's KV blocks.
#pragma once

#include <cstdint>
#include <vector>

#include "kv/kv_cache_manager.h"
#include "pagoda/request.h"
#include "pagoda/types.h"

namespace pagoda {

enum class SeqStatus { waiting, running, finished };

struct Sequence {
    SeqId id = 0;
    RequestId request_id = 0;
    int32_t sample_index = 0;  // which of the request's samples
    Priority priority = Priority::bulk;
    uint64_t arrival = 0;  // submission order of the request (children share their parent's)
    // Prefix-cache key of the request's LoRA adapter set (lora/adapter_set.h; 0: base model).
    uint64_t adapter_id = 0;
    std::vector<AdapterRef> adapters;  // the set, sorted by id (children share their parent's)

    std::vector<TokenId> tokens;  // prompt, then sampled tokens
    int32_t n_prompt = 0;
    // Tokens whose K/V are in the cache. A sequence waiting for its next token has
    // exactly one more token than that (the one sampled last).
    int32_t n_computed = 0;
    int32_t fork_count = 1;  // > 1: fork into this many samples when the prompt is done

    SeqStatus status = SeqStatus::waiting;
    int32_t n_cached_prompt_tokens = -1;  // prefix-cache hit at first admission (-1: not yet)
    int32_t n_preemptions = 0;

    int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
    int32_t n_uncomputed() const { return n_tokens() - n_computed; }
    bool in_prefill() const { return n_computed < n_prompt; }
};

}  // namespace pagoda
