// Scheduler scenarios without a model: each step is scheduled, "computed" (on_step_done)
// and every sequence that samples gets a token, and the test asserts what ran, in what
// chunks, what was preempted and which blocks each sequence holds.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <vector>

#include "kv/kv_cache_manager.h"
#include "sched/scheduler.h"
#include "sched/step_batch.h"

namespace pagoda {
namespace {

using Ids = std::vector<int32_t>;

struct Ran {
    SeqId id;
    int32_t first_pos;
    int32_t n_tokens;
    bool sample;
    bool operator==(const Ran&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Ran& r) {
    return os << "{seq " << r.id << ", pos " << r.first_pos << ", n " << r.n_tokens << (r.sample ? ", sample}" : "}");
}

class Sim {
public:
    Sim(int32_t n_blocks, int32_t block_size, SchedulerConfig config, bool caching = true)
        : kv(n_blocks, block_size, caching), sched(config, kv) {}

    // Prompts are distinct (no prefix-cache hits) unless first_token is given.
    Sequence* add(int32_t prompt_len, Priority priority = Priority::bulk, TokenId first_token = -1) {
        if (first_token < 0) first_token = 1000 * static_cast<TokenId>(seqs.size() + 1);
        auto seq = std::make_unique<Sequence>();
        seq->id = static_cast<SeqId>(seqs.size());
        seq->request_id = static_cast<RequestId>(seqs.size());
        seq->priority = priority;
        seq->arrival = arrival++;
        seq->tokens.resize(static_cast<size_t>(prompt_len));
        std::iota(seq->tokens.begin(), seq->tokens.end(), first_token);
        seq->n_prompt = prompt_len;
        sched.add(seq.get());
        seqs.push_back(std::move(seq));
        return seqs.back().get();
    }

    // One step; returns what ran.
    std::vector<Ran> step() {
        last = sched.schedule();
        sched.on_step_done(last);
        std::vector<Ran> runs;
        for (const ScheduledSeq& s : last.scheduled) {
            runs.push_back({s.seq->id, s.first_pos, s.n_tokens, s.sample});
            if (s.sample) s.seq->tokens.push_back(9000 + static_cast<TokenId>(s.seq->tokens.size()));
        }
        return runs;
    }

    Ids table(const Sequence* s) const {
        auto t = kv.block_table(s->id);
        return Ids(t.begin(), t.end());
    }

    KvCacheManager kv;
    Scheduler sched;
    SchedulerOutput last;
    std::vector<std::unique_ptr<Sequence>> seqs;
    uint64_t arrival = 0;
};

SchedulerConfig config(int32_t max_seqs, int32_t budget, int32_t max_len = 1024) {
    SchedulerConfig c;
    c.max_num_seqs = max_seqs;
    c.max_num_batched_tokens = budget;
    c.max_model_len = max_len;
    return c;
}

TEST(Scheduler, LongPromptRunsInChunksOfTheBudget) {
    Sim sim(16, 4, config(4, 16));
    Sequence* a = sim.add(40);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 0, 16, false}}));
    EXPECT_EQ(sim.last.n_prefill_tokens, 16);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 16, 16, false}}));
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 32, 8, true}}));
    EXPECT_EQ(a->n_computed, 40);
    EXPECT_EQ(a->n_tokens(), 41);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 40, 1, true}}));
    EXPECT_EQ(sim.last.n_decode_tokens, 1);
    EXPECT_EQ(sim.table(a), (Ids{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST(Scheduler, DecodesGoFirstAndPrefillsTakeTheRestOfTheBudget) {
    Sim sim(32, 4, config(4, 8));
    sim.add(4);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 0, 4, true}}));
    sim.add(20);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 4, 1, true}, {1, 0, 7, false}}));
    sim.add(3);  // waits: the budget is spent on the running ones
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 5, 1, true}, {1, 7, 7, false}}));
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 6, 1, true}, {1, 14, 6, true}, {2, 0, 1, false}}));
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 7, 1, true}, {1, 20, 1, true}, {2, 1, 2, true}}));
}

TEST(Scheduler, MaxRunningSequencesIsALimit) {
    Sim sim(32, 4, config(2, 64));
    sim.add(3);
    sim.add(3);
    sim.add(3);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 0, 3, true}, {1, 0, 3, true}}));
    EXPECT_EQ(sim.sched.n_running(), 2);
    EXPECT_EQ(sim.sched.n_waiting(), 1);
    sim.sched.remove(sim.seqs[0].get());
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 3, 1, true}, {2, 0, 3, true}}));
}

// Two sequences fill the pool; when the older needs a new block the newer is preempted
// (its blocks return, its full block stays cached) and later resumes from the cache,
// recomputing only what is not cached, its sampled token included.
TEST(Scheduler, PreemptsTheNewestWhenBlocksRunOut) {
    Sim sim(4, 4, config(4, 64));
    Sequence* a = sim.add(6, Priority::bulk, 0);
    Sequence* b = sim.add(6, Priority::bulk, 100);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 0, 6, true}, {1, 0, 6, true}}));
    EXPECT_EQ(sim.table(a), (Ids{0, 1}));
    EXPECT_EQ(sim.table(b), (Ids{2, 3}));
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 6, 1, true}, {1, 6, 1, true}}));
    // Position 8 needs a third block each: b goes.
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 7, 1, true}, {1, 7, 1, true}}));
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 8, 1, true}}));
    ASSERT_EQ(sim.last.preempted, (std::vector<Sequence*>{b}));
    EXPECT_EQ(b->status, SeqStatus::waiting);
    EXPECT_EQ(b->n_computed, 0);
    EXPECT_EQ(b->n_tokens(), 9) << "sampled tokens are kept for recomputation";
    EXPECT_TRUE(sim.table(b).empty());
    EXPECT_EQ(sim.table(a), (Ids{0, 1, 3}));
    EXPECT_EQ(sim.kv.pool().free_queue(), (Ids{2}));
    EXPECT_EQ(sim.sched.n_preemptions(), 1);

    sim.sched.remove(a);  // a finishes: its blocks come back
    EXPECT_EQ(sim.kv.pool().n_used(), 0);
    // b resumes from its cached first block (tokens 0..3) and recomputes 4..8.
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 4, 5, true}}));
    EXPECT_EQ(sim.table(b)[0], 2);
}

TEST(Scheduler, InteractiveWorkPreemptsBulkWork) {
    Sim sim(64, 4, config(2, 64));
    sim.add(5);
    sim.add(5);
    sim.step();
    Sequence* chat = sim.add(5, Priority::interactive, 50);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 5, 1, true}, {2, 0, 5, true}}));
    ASSERT_EQ(sim.last.preempted.size(), 1u);
    EXPECT_EQ(sim.last.preempted[0]->id, 1);
    EXPECT_EQ(chat->status, SeqStatus::running);
    EXPECT_EQ(sim.sched.running().front(), chat) << "interactive runs first";
    // A second interactive request does not preempt the first one.
    sim.add(5, Priority::interactive, 60);
    sim.step();
    EXPECT_EQ(sim.sched.n_running(), 2);
    EXPECT_EQ(sim.sched.running()[0], chat);
    EXPECT_EQ(sim.sched.running()[1]->id, 3);
    EXPECT_EQ(sim.sched.n_waiting(), 2);
}

TEST(Scheduler, AdmissionAnswersOkLaterImpossible) {
    Sim sim(4, 4, config(2, 64, 32));
    EXPECT_EQ(sim.sched.check_admission(5, 1).admission, Admission::ok);
    EXPECT_EQ(sim.sched.check_admission(0, 1).admission, Admission::impossible);
    const AdmissionResult too_long = sim.sched.check_admission(32, 1);
    EXPECT_EQ(too_long.admission, Admission::impossible);
    EXPECT_NE(too_long.reason.find("context"), std::string::npos) << too_long.reason;
    const AdmissionResult too_big = sim.sched.check_admission(16, 1);
    EXPECT_EQ(too_big.admission, Admission::impossible) << "16 tokens + 1 do not fit 4 blocks of 4";
    EXPECT_NE(too_big.reason.find("KV cache"), std::string::npos) << too_big.reason;
    EXPECT_EQ(sim.sched.check_admission(5, 3).admission, Admission::impossible);
    sim.add(10);
    sim.add(3);
    sim.step();
    EXPECT_EQ(sim.sched.check_admission(5, 1).admission, Admission::later);
}

TEST(Scheduler, ASequenceLargerThanThePoolRunsOutOfKv) {
    Sim sim(2, 4, config(2, 64));
    Sequence* a = sim.add(6);
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 0, 6, true}}));
    sim.step();  // position 6
    sim.step();  // position 7
    EXPECT_TRUE(sim.step().empty());
    ASSERT_EQ(sim.last.out_of_kv, (std::vector<Sequence*>{a}));
    EXPECT_EQ(sim.kv.pool().n_used(), 0);
    EXPECT_FALSE(sim.sched.has_work());
}

TEST(Scheduler, ForkedSamplesCopyTheSharedTailOnFirstWrite) {
    Sim sim(16, 4, config(4, 64));
    Sequence* a = sim.add(6);
    a->fork_count = 3;
    sim.step();  // prefill; the sampled token is appended to a only by the sim
    // Fork as the engine does: children are copies taken before a's token is appended.
    a->tokens.pop_back();
    std::vector<Sequence*> kids;
    for (int i = 1; i < 3; ++i) {
        auto child = std::make_unique<Sequence>(*a);
        child->id = 10 + i;
        child->sample_index = i;
        child->fork_count = 1;
        sim.sched.add_fork(a, child.get());
        kids.push_back(child.get());
        sim.seqs.push_back(std::move(child));
    }
    a->fork_count = 1;
    for (Sequence* s : {a, kids[0], kids[1]}) s->tokens.push_back(500 + static_cast<TokenId>(s->id));
    EXPECT_EQ(sim.kv.pool().ref_count(1), 3);
    // a and the first child recompute their 2-token tail into private blocks; the last
    // sharer writes in place.
    EXPECT_EQ(sim.step(), (std::vector<Ran>{{0, 4, 3, true}, {11, 4, 3, true}, {12, 6, 1, true}}));
    EXPECT_EQ(sim.last.copies.size(), 2u);
    EXPECT_EQ(sim.table(a), (Ids{0, 2}));
    EXPECT_EQ(sim.table(kids[0]), (Ids{0, 3}));
    EXPECT_EQ(sim.table(kids[1]), (Ids{0, 1}));
    EXPECT_EQ(sim.kv.pool().ref_count(0), 3);
    EXPECT_EQ(sim.kv.pool().ref_count(1), 1);
}

TEST(StepBatch, BuildsSlotsTablesAndLogitRows) {
    Sim sim(16, 4, config(4, 8));
    sim.add(4);
    sim.step();
    sim.add(10, Priority::bulk, 100);
    SchedulerOutput out = sim.sched.schedule();
    StepBatch batch;
    batch.build(out, sim.kv);
    const StepInputs& in = batch.inputs();
    // seq 0: decode of position 4 (its 2nd block); seq 1: the first 7 prompt tokens.
    EXPECT_EQ(std::vector<int32_t>(in.positions.begin(), in.positions.end()), (Ids{4, 0, 1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(std::vector<int64_t>(in.slot_mapping.begin(), in.slot_mapping.end()),
              (std::vector<int64_t>{1 * 4 + 0, 2 * 4 + 0, 9, 10, 11, 3 * 4 + 0, 13, 14}));
    EXPECT_EQ(std::vector<int32_t>(in.query_start.begin(), in.query_start.end()), (Ids{0, 1, 8}));
    EXPECT_EQ(std::vector<int32_t>(in.context_lens.begin(), in.context_lens.end()), (Ids{5, 7}));
    EXPECT_EQ(in.max_blocks_per_seq, 2);
    EXPECT_EQ(std::vector<int32_t>(in.block_tables.begin(), in.block_tables.end()), (Ids{0, 1, 2, 3}));
    EXPECT_EQ(std::vector<int32_t>(in.logit_rows.begin(), in.logit_rows.end()), (Ids{0})) << "seq 1 is mid-prompt";
}

}  // namespace
}  // namespace pagoda
