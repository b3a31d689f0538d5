// What a caller hands the Engine (Request, SamplingParams) and what comes back through
// its Sink: one RequestDelta per request per engine step with something new, then one
// RequestFinish. Plain data; no exception crosses this API.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pagoda/types.h"

namespace pagoda {

namespace grammar {
class Grammar;  // engine/grammar/grammar.h: compile_gbnf()
}

using RequestId = uint64_t;

// Interactive work (the desktop chat) is scheduled before bulk work (API traffic) and
// may preempt it when KV blocks or sequence slots run out.
enum class Priority : int32_t { bulk = 0, interactive = 1 };

enum class FinishReason {
    stop,       // EOS, a stop token id or a stop string
    length,     // max_tokens, or the context (or the KV cache) is full
    cancelled,  // Engine::cancel, or the engine shut down
    error,      // the request failed; RequestFinish::message says why
};
const char* finish_reason_name(FinishReason reason);  // "stop", "length", "cancelled", "error"

struct SamplingParams {
    float temperature = 1.0f;  // <= 0: greedy (argmax, lowest id on ties)
    int32_t top_k = 0;         // <= 0: off
    float top_p = 1.0f;        // >= 1: off
    float min_p = 0.0f;        // <= 0: off
    // HF/llama.cpp repetition penalty over prompt and output tokens (1 = off): positive
    // logits are divided by it, negative ones multiplied.
    float repetition_penalty = 1.0f;
    // OpenAI penalties over output tokens: logit -= presence * [count > 0] + frequency * count.
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::vector<std::pair<TokenId, float>> logit_bias;  // added to the logits before anything else
    // Same seed, same prompt -> same tokens, whatever else runs beside the request.
    // Unset: a random seed (each request draws its own).
    std::optional<uint64_t> seed;
    int32_t max_tokens = 256;             // generated tokens per sample; -1: until the context is full
    std::vector<TokenId> stop_token_ids;  // end the sample; not part of the output
    std::vector<std::string> stop;        // stop strings: end the sample; never emitted (needs a tokenizer)
    bool ignore_eos = false;              // EOS is then an ordinary token
    int32_t n = 1;                        // parallel samples sharing the prompt's KV blocks
    bool logprobs = false;                // log-probability of each sampled token
    int32_t top_logprobs = 0;             // and of the k most likely tokens (0..20)
    // Constrained decoding: the output text must follow this grammar (needs a tokenizer).
    // Tokens it cannot continue with are never sampled; EOS only where the grammar is
    // complete, and the sample ends with finish reason stop once nothing can follow.
    std::shared_ptr<const grammar::Grammar> grammar;
};

// One LoRA adapter applied to a request: an id from Engine::load_adapter and a scale that
// multiplies the adapter's own (alpha / rank).
struct AdapterRef {
    int32_t id = 0;
    float scale = 1.0f;
};

struct Request {
    std::vector<TokenId> prompt;  // token ids, chat template already applied (BOS included if wanted)
    SamplingParams sampling;
    Priority priority = Priority::bulk;
    // Shorthand for one adapter at scale 1 (0 = none); it joins `adapters` when set.
    int32_t adapter_id = 0;
    // LoRA adapters applied together (a stack): each projection computes
    // y = x·W + sum over adapters of scale·(x·A)·B. Empty (and adapter_id 0): the base model.
    // The set (ids and scales) is part of the prefix-cache key. Each id at most once.
    std::vector<AdapterRef> adapters;
    // Parity testing: the first delta carries the raw logits of the last prompt position.
    bool return_prompt_logits = false;
};

struct TokenLogprob {
    TokenId token = 0;
    float logprob = 0.0f;
};

// Log-probabilities from the model's raw distribution (before penalties and temperature).
struct SampledLogprobs {
    TokenId token = 0;
    float logprob = 0.0f;
    std::vector<TokenLogprob> top;  // most likely first
};

struct SampleDelta {
    int32_t index = 0;                          // which of the request's n samples
    std::vector<TokenId> token_ids;             // tokens sampled this step (EOS / stop token ids left out)
    std::string text;                           // newly final text: complete UTF-8, stop strings held back
    std::vector<SampledLogprobs> logprobs;      // one per token id, when asked for
    std::optional<FinishReason> finish_reason;  // set in the step the sample ends
};

struct RequestDelta {
    RequestId id = 0;
    std::vector<SampleDelta> samples;  // only the samples with news this step
    std::vector<float> prompt_logits;  // Request::return_prompt_logits, first delta only
};

struct RequestUsage {
    int32_t prompt_tokens = 0;
    int32_t cached_prompt_tokens = 0;  // prompt tokens whose KV came from the prefix cache
    int32_t completion_tokens = 0;     // all samples
};

struct RequestFinish {
    RequestId id = 0;
    FinishReason reason = FinishReason::stop;  // error/cancelled if the request failed, else sample 0's
    std::vector<FinishReason> sample_reasons;  // per sample
    std::string message;                       // why, for error
    RequestUsage usage;
    double time_to_first_token_s = 0.0;  // from submit to the first delta with tokens
    double total_time_s = 0.0;
};

// Receives a request's results. Called on the engine thread: implementations must not
// block (copy what they need and return; hand it to another thread with a queue).
// Exceptions thrown from a sink are caught, and the request is cancelled.
class Sink {
public:
    virtual ~Sink() = default;
    virtual void on_delta(const RequestDelta& delta) = 0;
    // Exactly once per accepted request, after its last on_delta.
    virtual void on_finish(const RequestFinish& finish) = 0;
};

// A Sink that keeps everything (per sample: tokens, text, logprobs) and lets another
// thread wait for the end. For the CLI, tests and simple callers.
class CollectingSink : public Sink {
public:
    struct Sample {
        std::vector<TokenId> token_ids;
        std::string text;
        std::vector<SampledLogprobs> logprobs;
        std::optional<FinishReason> finish_reason;
    };

    void on_delta(const RequestDelta& delta) override;
    void on_finish(const RequestFinish& finish) override;

    // Waits until on_finish; false on timeout (timeout_s < 0: forever).
    bool wait(double timeout_s = -1.0) const;
    bool finished() const;
    // Copies, safe while the request runs.
    std::vector<Sample> samples() const;
    std::optional<RequestFinish> finish() const;
    std::vector<float> prompt_logits() const;
    int32_t n_deltas() const;

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<Sample> samples_;
    std::optional<RequestFinish> finish_;
    std::vector<float> prompt_logits_;
    int32_t n_deltas_ = 0;
};

}  // namespace pagoda
