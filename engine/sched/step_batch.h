// Turns a SchedulerOutput into the StepInputs of one forward pass: the scheduled
// sequences' tokens concatenated, their positions, KV slots, block tables (padded to the
// longest) and the logit rows of the sequences that sample this step.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "kv/kv_cache_manager.h"
#include "sched/scheduler.h"

namespace pagoda {

class StepBatch {
public:
    // Rebuilds the batch; the StepInputs view stays valid until the next build.
    void build(const SchedulerOutput& out, const KvCacheManager& kv);
    const StepInputs& inputs() const { return inputs_; }
    // For each logit row, in order: the index into out.scheduled it belongs to.
    const std::vector<int32_t>& sampled() const { return sampled_; }

private:
    std::vector<TokenId> tokens_;
    std::vector<int32_t> positions_;
    std::vector<int64_t> slots_;
    std::vector<int32_t> query_start_;
    std::vector<int32_t> context_lens_;
    std::vector<int32_t> block_tables_;
    std::vector<int32_t> logit_rows_;
    std::vector<int32_t> sampled_;
    StepInputs inputs_;
};

}  // namespace pagoda
