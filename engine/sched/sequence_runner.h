// Runs ONE sequence to completion on a Transformer: the prompt is prefilled in chunks
// of up to prefill_chunk tokens, then tokens are decoded one per step. Every step goes
// through StepInputs with slot mapping and block table from a BlockAllocator, i.e. the
// same paged-KV path the continuous-batching scheduler uses.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "kv/block_allocator.h"
#include "model/transformer.h"
#include "pagoda/status.h"
#include "pagoda/types.h"
#include "sample/sampler.h"

namespace pagoda {

enum class RunFinish {
    eos,           // the model produced an end-of-generation token (not reported to on_token)
    length,        // max_new_tokens reached
    context_full,  // no KV block left for the next token
    stopped,       // on_token returned false
};
const char* finish_reason_name(RunFinish reason);

struct RunOptions {
    int32_t max_new_tokens = 128;
    int32_t prefill_chunk = 512;                        // tokens per prefill step (>= 1)
    std::function<bool(TokenId)> is_end_of_generation;  // null: never stop early
};

struct RunCallbacks {
    // The logits of the last prompt position ([n_vocab]), before the first token is sampled.
    std::function<void(std::span<const float>)> on_prompt_logits;
    // Each generated token, in order; return false to stop.
    std::function<bool(TokenId)> on_token;
};

struct RunStats {
    int32_t n_prompt = 0;
    int32_t n_generated = 0;     // tokens passed to on_token
    double prefill_seconds = 0;  // prompt forward steps
    double decode_seconds = 0;   // later forward steps and sampling
    RunFinish finish = RunFinish::length;
};

class SequenceRunner {
public:
    // The transformer's KV cache must be initialised with blocks.n_blocks() blocks.
    SequenceRunner(Transformer& model, BlockAllocator& blocks) : model_(model), blocks_(blocks) {}

    // Fails (without generating) on an empty prompt or one longer than the KV cache.
    // Every block taken is returned before run() returns.
    Result<RunStats> run(std::span<const TokenId> prompt, Sampler& sampler, const RunOptions& options,
                         const RunCallbacks& callbacks);

private:
    Transformer& model_;
    BlockAllocator& blocks_;
};

}  // namespace pagoda
