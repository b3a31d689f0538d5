#include "sched/step_batch.h"

#include <algorithm>

namespace pagoda {

void StepBatch::build(const SchedulerOutput& out, const KvCacheManager& kv) {
    tokens_.clear();
    positions_.clear();
    slots_.clear();
    query_start_.assign(1, 0);
    context_lens_.clear();
    block_tables_.clear();
    logit_rows_.clear();
    sampled_.clear();
    const int32_t bs = kv.block_size();

    size_t max_blocks = 1;
    for (const ScheduledSeq& s : out.scheduled) max_blocks = std::max(max_blocks, kv.block_table(s.seq->id).size());

    for (size_t k = 0; k < out.scheduled.size(); ++k) {
        const ScheduledSeq& s = out.scheduled[k];
        const auto table = kv.block_table(s.seq->id);
        for (int32_t j = 0; j < s.n_tokens; ++j) {
            const int32_t pos = s.first_pos + j;
            tokens_.push_back(s.seq->tokens[static_cast<size_t>(pos)]);
            positions_.push_back(pos);
            slots_.push_back(int64_t{table[static_cast<size_t>(pos / bs)]} * bs + pos % bs);
        }
        query_start_.push_back(static_cast<int32_t>(tokens_.size()));
        context_lens_.push_back(s.first_pos + s.n_tokens);
        block_tables_.insert(block_tables_.end(), table.begin(), table.end());
        block_tables_.resize(block_tables_.size() + (max_blocks - table.size()), 0);  // padding: never read
        if (s.sample) {
            logit_rows_.push_back(static_cast<int32_t>(tokens_.size()) - 1);
            sampled_.push_back(static_cast<int32_t>(k));
        }
    }

    inputs_ = StepInputs{};
    inputs_.tokens = tokens_;
    inputs_.positions = positions_;
    inputs_.slot_mapping = slots_;
    inputs_.query_start = query_start_;
    inputs_.context_lens = context_lens_;
    inputs_.block_tables = block_tables_;
    inputs_.max_blocks_per_seq = static_cast<int32_t>(max_blocks);
    inputs_.logit_rows = logit_rows_;
}

}  // namespace pagoda
