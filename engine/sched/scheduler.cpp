#include "sched/scheduler.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace pagoda {

bool schedules_before(const Sequence& a, const Sequence& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.arrival != b.arrival) return a.arrival < b.arrival;
    return a.id < b.id;
}

Scheduler::Scheduler(const SchedulerConfig& config, KvCacheManager& kv) : config_(config), kv_(kv) {}

std::string Scheduler::why_impossible(int32_t prompt_len, int32_t n) const {
    if (prompt_len <= 0) return "the prompt has no tokens";
    if (prompt_len >= config_.max_model_len)
        return "the prompt has " + std::to_string(prompt_len) + " tokens but the context holds " +
               std::to_string(config_.max_model_len) + " (prompt and generated tokens together)";
    if (n < 1 || n > config_.max_num_seqs)
        return "n = " + std::to_string(n) + " samples; the engine runs 1 to " + std::to_string(config_.max_num_seqs) +
               " sequences at once";
    const int64_t capacity = int64_t{kv_.pool().n_blocks()} * kv_.block_size();
    if (int64_t{prompt_len} + 1 > capacity)
        return "the prompt has " + std::to_string(prompt_len) + " tokens but the KV cache holds " +
               std::to_string(capacity) + " (raise the KV memory)";
    return {};
}

AdmissionResult Scheduler::check_admission(int32_t prompt_len, int32_t n) const {
    AdmissionResult r;
    r.reason = why_impossible(prompt_len, n);
    if (!r.reason.empty()) {
        r.admission = Admission::impossible;
        return r;
    }
    const int32_t bs = kv_.block_size();
    const int32_t blocks = (prompt_len + bs) / bs;
    const bool seats = n_running() + n <= config_.max_num_seqs;
    r.admission = waiting_.empty() && seats && blocks <= kv_.pool().n_free() ? Admission::ok : Admission::later;
    return r;
}

void Scheduler::insert_sorted(std::vector<Sequence*>& queue, Sequence* seq) {
    auto it = std::upper_bound(queue.begin(), queue.end(), seq,
                               [](const Sequence* a, const Sequence* b) { return schedules_before(*a, *b); });
    queue.insert(it, seq);
}

void Scheduler::add(Sequence* seq) {
    seq->status = SeqStatus::waiting;
    seq->n_computed = 0;
    insert_sorted(waiting_, seq);
}

void Scheduler::remove(Sequence* seq) {
    for (auto* queue : {&running_, &waiting_}) {
        auto it = std::find(queue->begin(), queue->end(), seq);
        if (it != queue->end()) queue->erase(it);
    }
    kv_.free(seq->id);
    seq->status = SeqStatus::finished;
}

void Scheduler::add_fork(Sequence* parent, Sequence* child) {
    kv_.fork(parent->id, child->id);
    child->status = SeqStatus::running;
    insert_sorted(running_, child);
}

void Scheduler::preempt(Sequence* seq, SchedulerOutput& out) {
    auto it = std::find(running_.begin(), running_.end(), seq);
    if (it == running_.end()) {
        std::fprintf(stderr, "pagoda: Scheduler: preempting sequence %lld that is not running\n",
                     static_cast<long long>(seq->id));
        std::abort();
    }
    running_.erase(it);
    kv_.free(seq->id);
    seq->n_computed = 0;
    seq->status = SeqStatus::waiting;
    ++seq->n_preemptions;
    ++n_preemptions_;
    insert_sorted(waiting_, seq);
    out.preempted.push_back(seq);
}

void Scheduler::preempt_for_priority(SchedulerOutput& out) {
    const std::vector<Sequence*> candidates = waiting_;
    for (Sequence* w : candidates) {
        if (w->priority != Priority::interactive) break;  // sorted: interactive ones come first
        for (;;) {
            if (running_.empty() || running_.back()->priority != Priority::bulk) return;
            const bool seats = n_running() + w->fork_count <= config_.max_num_seqs;
            const PrefixHit hit = kv_.find_cached_prefix(w->tokens, w->adapter_id);
            const int32_t first = std::min(w->n_tokens() - hit.n_tokens, config_.max_num_batched_tokens);
            // One block of slack for the decodes that run before it in the step.
            const bool blocks = kv_.can_allocate(w->id, hit.n_tokens + first + kv_.block_size(), &hit);
            if (seats && blocks) break;
            preempt(running_.back(), out);
        }
    }
}

SchedulerOutput Scheduler::schedule() {
    SchedulerOutput out;
    int32_t budget = config_.max_num_batched_tokens;
    const int32_t bs = kv_.block_size();

    preempt_for_priority(out);
    const size_t priority_preemptions = out.preempted.size();

    auto add_scheduled = [&](Sequence* seq, int32_t n_new) {
        ScheduledSeq s;
        s.seq = seq;
        s.first_pos = seq->n_computed;
        s.n_tokens = n_new;
        s.sample = seq->n_computed + n_new == seq->n_tokens();
        const bool decode = n_new == 1 && s.first_pos >= seq->n_prompt && s.sample;
        (decode ? out.n_decode_tokens : out.n_prefill_tokens) += n_new;
        out.n_tokens += n_new;
        budget -= n_new;
        out.scheduled.push_back(s);
    };
    // Frees blocks for running_[index] by preempting the newest lowest-priority running
    // sequence. Returns false when that is the sequence itself (it is then preempted,
    // or, when it runs alone and still does not fit, handed back as out_of_kv).
    auto make_room = [&](Sequence* seq) -> bool {
        Sequence* victim = running_.back();
        if (victim != seq) {
            preempt(victim, out);
            return true;
        }
        if (running_.size() == 1) {
            running_.pop_back();
            kv_.free(seq->id);
            out.out_of_kv.push_back(seq);
        } else {
            preempt(seq, out);
        }
        return false;
    };

    // 1. Running sequences: decodes and unfinished prompts.
    size_t i = 0;
    while (i < running_.size() && budget > 0) {
        Sequence* seq = running_[i];
        bool lost = false;
        // A shared, partly filled tail block (n > 1 forks) is about to be written:
        // give the sequence its own block; its slots are recomputed this step.
        for (;;) {
            CowCopy copy;
            const auto r = kv_.make_tail_writable(seq->id, seq->n_computed, copy);
            if (r == KvCacheManager::CowResult::copied) {
                seq->n_computed -= copy.n_slots;
                out.copies.push_back(copy);
                break;
            }
            if (r == KvCacheManager::CowResult::not_shared) break;
            if (!make_room(seq)) {
                lost = true;
                break;
            }
        }
        if (lost) break;  // seq was the last running sequence
        const int32_t n_new = std::min(seq->n_uncomputed(), budget);
        if (n_new <= 0) {  // nothing to run (cannot happen for a live sequence)
            ++i;
            continue;
        }
        while (!kv_.allocate(seq->id, seq->n_computed + n_new)) {
            if (!make_room(seq)) {
                lost = true;
                break;
            }
        }
        if (lost) break;
        add_scheduled(seq, n_new);
        ++i;
    }

    // 2. Waiting sequences, unless running ones had to be preempted for blocks.
    if (out.preempted.size() == priority_preemptions) {
        while (!waiting_.empty() && budget > 0) {
            Sequence* seq = waiting_.front();
            if (n_running() + seq->fork_count > config_.max_num_seqs) break;
            const PrefixHit hit = kv_.find_cached_prefix(seq->tokens, seq->adapter_id);
            int32_t n_new = std::min(seq->n_tokens() - hit.n_tokens, budget);
            const bool alone = running_.empty() && out.scheduled.empty();
            if (alone) {
                // Nothing else holds blocks: take a smaller first chunk if the pool is small.
                int32_t usable = kv_.pool().n_free();
                for (int32_t b : hit.blocks) usable -= kv_.pool().ref_count(b) == 0 ? 1 : 0;
                const int64_t max_tokens = (static_cast<int64_t>(hit.blocks.size()) + usable) * bs - hit.n_tokens;
                n_new = static_cast<int32_t>(std::min<int64_t>(n_new, max_tokens));
            }
            if (n_new <= 0 || !kv_.allocate(seq->id, hit.n_tokens + n_new, &hit)) {
                if (alone) {
                    waiting_.erase(waiting_.begin());
                    kv_.free(seq->id);
                    out.out_of_kv.push_back(seq);
                    continue;
                }
                break;  // later
            }
            if (seq->n_cached_prompt_tokens < 0) {
                seq->n_cached_prompt_tokens = std::min(hit.n_tokens, seq->n_prompt);
                kv_.record_lookup(seq->n_prompt, seq->n_cached_prompt_tokens);
            }
            waiting_.erase(waiting_.begin());
            seq->n_computed = hit.n_tokens;
            seq->status = SeqStatus::running;
            insert_sorted(running_, seq);
            add_scheduled(seq, n_new);
        }
    }
    return out;
}

void Scheduler::on_step_done(const SchedulerOutput& out) {
    for (const ScheduledSeq& s : out.scheduled) {
        Sequence* seq = s.seq;
        seq->n_computed = s.first_pos + s.n_tokens;
        kv_.cache_full_blocks(seq->id, seq->tokens, seq->n_computed, seq->adapter_id);
    }
}

}  // namespace pagoda
