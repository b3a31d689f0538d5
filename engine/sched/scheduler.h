// Continuous batching (vLLM v1's scheduler): every step gets a token budget.
//
//   1. Running sequences first, interactive before bulk, oldest first: a decode takes
//      one token, an unfinished prompt the next chunk that fits (chunked prefill), so
//      decodes keep flowing beside long prompts. When the pool has no block left for
//      one, the lowest-priority, newest running sequence is preempted: its blocks go
//      back (the prefix cache keeps them while nobody needs them) and it waits to be
//      recomputed, tokens sampled so far included.
//   2. Then, if nothing was preempted, waiting sequences in (priority, arrival) order
//      while budget, sequence slots and blocks last; each starts from its longest
//      prefix-cache hit.
//   Before both, a waiting interactive sequence that cannot start preempts running bulk
//   ones until it can, so the desktop chat is never starved by API traffic.
//
// The scheduler owns the queues, not the sequences.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kv/kv_cache_manager.h"
#include "sched/sequence.h"

namespace pagoda {

struct SchedulerConfig {
    int32_t max_num_seqs = 64;
    int32_t max_num_batched_tokens = 512;
    int32_t max_model_len = 2048;
};

enum class Admission {
    ok,          // can start at the next step
    later,       // valid, queued until sequences finish
    impossible,  // can never run (reason says why)
};

struct AdmissionResult {
    Admission admission = Admission::ok;
    std::string reason;
};

struct ScheduledSeq {
    Sequence* seq = nullptr;
    int32_t first_pos = 0;  // tokens [first_pos, first_pos + n_tokens) run this step
    int32_t n_tokens = 0;
    bool sample = false;  // the step reaches the sequence's last token: sample from it
};

struct SchedulerOutput {
    std::vector<ScheduledSeq> scheduled;
    std::vector<Sequence*> preempted;  // back to waiting this step
    std::vector<Sequence*> out_of_kv;  // can never get the blocks they need: the caller ends them
    std::vector<CowCopy> copies;       // copy-on-write of shared tails, recomputed this step
    int32_t n_tokens = 0;
    int32_t n_prefill_tokens = 0;  // tokens of prompts (and of recomputation after preemption)
    int32_t n_decode_tokens = 0;

    bool empty() const { return scheduled.empty(); }
};

class Scheduler {
public:
    Scheduler(const SchedulerConfig& config, KvCacheManager& kv);

    const SchedulerConfig& config() const { return config_; }

    // Whether a request with this prompt length and n samples can run now, later or never.
    AdmissionResult check_admission(int32_t prompt_len, int32_t n) const;
    // Just the "never" part, from the configuration and the pool size only (so another
    // thread may call it while the scheduler runs). Empty when the request can run.
    std::string why_impossible(int32_t prompt_len, int32_t n) const;

    // Queues a new sequence (status waiting, n_computed 0).
    void add(Sequence* seq);
    SchedulerOutput schedule();
    // After the forward step: advances n_computed and offers full blocks to the prefix cache.
    void on_step_done(const SchedulerOutput& out);
    // `child` (a copy of running `parent`) shares its blocks and runs beside it.
    void add_fork(Sequence* parent, Sequence* child);
    // Removes a sequence from its queue and frees its blocks (finished or cancelled).
    void remove(Sequence* seq);

    int32_t n_running() const { return static_cast<int32_t>(running_.size()); }
    int32_t n_waiting() const { return static_cast<int32_t>(waiting_.size()); }
    const std::vector<Sequence*>& running() const { return running_; }
    const std::vector<Sequence*>& waiting() const { return waiting_; }
    bool has_work() const { return !running_.empty() || !waiting_.empty(); }
    int64_t n_preemptions() const { return n_preemptions_; }

private:
    void preempt(Sequence* seq, SchedulerOutput& out);
    void insert_sorted(std::vector<Sequence*>& queue, Sequence* seq);
    // Makes room for waiting interactive sequences by preempting running bulk ones.
    void preempt_for_priority(SchedulerOutput& out);

    SchedulerConfig config_;
    KvCacheManager& kv_;
    std::vector<Sequence*> running_;  // (priority desc, arrival asc, id asc)
    std::vector<Sequence*> waiting_;  // same order
    int64_t n_preemptions_ = 0;
};

// Scheduling order: interactive first, then older, then lower sequence id.
bool schedules_before(const Sequence& a, const Sequence& b);

}  // namespace pagoda
