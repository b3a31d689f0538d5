#include "sched/sequence_runner.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace pagoda {

const char* finish_reason_name(RunFinish reason) {
    switch (reason) {
        case RunFinish::eos: return "eos";
        case RunFinish::length: return "length";
        case RunFinish::context_full: return "context_full";
        case RunFinish::stopped: return "stopped";
    }
    return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The sequence's block table; returns its blocks to the allocator when it goes away.
class SequenceBlocks {
public:
    SequenceBlocks(BlockAllocator& allocator, int32_t block_size) : allocator_(allocator), block_size_(block_size) {}
    ~SequenceBlocks() {
        for (int32_t b : table_) allocator_.free(b);
    }

    // Makes room for tokens at positions < n_tokens; false when the pool runs out.
    bool reserve(int64_t n_tokens) {
        while (static_cast<int64_t>(table_.size()) * block_size_ < n_tokens) {
            auto b = allocator_.allocate();
            if (!b) return false;
            table_.push_back(*b);
        }
        return true;
    }
    int64_t slot(int32_t position) const {
        return int64_t{table_[static_cast<size_t>(position / block_size_)]} * block_size_ + position % block_size_;
    }
    const std::vector<int32_t>& table() const { return table_; }

private:
    BlockAllocator& allocator_;
    int32_t block_size_;
    std::vector<int32_t> table_;
};

}  // namespace

Result<RunStats> SequenceRunner::run(std::span<const TokenId> prompt, Sampler& sampler, const RunOptions& options,
                                     const RunCallbacks& callbacks) {
    const KvCacheConfig& kv = model_.kv_config();
    if (prompt.empty()) return invalid_argument("the prompt has no tokens");
    if (options.prefill_chunk < 1) return invalid_argument("prefill chunk must be at least 1 token");
    if (kv.block_size <= 0 || kv.n_blocks != blocks_.n_blocks())
        return invalid_argument("KV cache not initialised for this block allocator");
    const int64_t capacity = int64_t{blocks_.n_free()} * kv.block_size;
    if (static_cast<int64_t>(prompt.size()) > capacity)
        return out_of_memory("the prompt has " + std::to_string(prompt.size()) + " tokens but the KV cache holds " +
                             std::to_string(capacity) + " (raise --ctx-size)");

    RunStats stats;
    stats.n_prompt = static_cast<int32_t>(prompt.size());
    SequenceBlocks seq(blocks_, kv.block_size);

    // One step's host-side inputs, rebuilt per step.
    std::vector<TokenId> tokens;
    std::vector<int32_t> positions;
    std::vector<int64_t> slots;
    std::vector<float> logits;
    auto step = [&](int32_t first_pos, std::span<const TokenId> chunk, bool want_logits) -> Status {
        const auto n = static_cast<int32_t>(chunk.size());
        if (!seq.reserve(int64_t{first_pos} + n)) return out_of_memory("KV cache full");
        tokens.assign(chunk.begin(), chunk.end());
        positions.resize(static_cast<size_t>(n));
        slots.resize(static_cast<size_t>(n));
        for (int32_t i = 0; i < n; ++i) {
            positions[static_cast<size_t>(i)] = first_pos + i;
            slots[static_cast<size_t>(i)] = seq.slot(first_pos + i);
        }
        const int32_t query_start[2] = {0, n};
        const int32_t context_len = first_pos + n;
        const int32_t logit_row = n - 1;
        StepInputs in;
        in.tokens = tokens;
        in.positions = positions;
        in.slot_mapping = slots;
        in.query_start = query_start;
        in.context_lens = std::span<const int32_t>(&context_len, 1);
        in.block_tables = seq.table();
        in.max_blocks_per_seq = static_cast<int32_t>(seq.table().size());
        if (want_logits) in.logit_rows = std::span<const int32_t>(&logit_row, 1);
        return model_.forward(in, logits);
    };

    // Prefill.
    const auto prefill_start = Clock::now();
    const auto n_prompt = static_cast<int32_t>(prompt.size());
    for (int32_t pos = 0; pos < n_prompt; pos += options.prefill_chunk) {
        const int32_t n = std::min(options.prefill_chunk, n_prompt - pos);
        PAGODA_RETURN_IF_ERROR(
            step(pos, prompt.subspan(static_cast<size_t>(pos), static_cast<size_t>(n)), pos + n == n_prompt));
    }
    stats.prefill_seconds = seconds_since(prefill_start);
    if (callbacks.on_prompt_logits) callbacks.on_prompt_logits(logits);

    // Decode: sample from the latest logits, then feed the token back.
    const auto decode_start = Clock::now();
    int32_t pos = n_prompt;
    while (stats.n_generated < options.max_new_tokens) {
        const TokenId token = sampler.sample(logits);
        if (options.is_end_of_generation && options.is_end_of_generation(token)) {
            stats.finish = RunFinish::eos;
            break;
        }
        ++stats.n_generated;
        if (callbacks.on_token && !callbacks.on_token(token)) {
            stats.finish = RunFinish::stopped;
            break;
        }
        if (stats.n_generated >= options.max_new_tokens) break;  // finish stays `length`
        if (!seq.reserve(int64_t{pos} + 1)) {
            stats.finish = RunFinish::context_full;
            break;
        }
        PAGODA_RETURN_IF_ERROR(step(pos, std::span<const TokenId>(&token, 1), true));
        ++pos;
    }
    stats.decode_seconds = seconds_since(decode_start);
    return stats;
}

}  // namespace pagoda
