#include "backend/step_validation.h"

#include <string>

namespace pagoda {

Status validate_step_inputs(const StepInputs& in, const KvCacheConfig* kv) {
    const int64_t n_tokens = static_cast<int64_t>(in.tokens.size());
    const int64_t n_seqs = static_cast<int64_t>(in.context_lens.size());
    if (n_tokens > INT32_MAX) return invalid_argument("begin_step: too many tokens");
    if (static_cast<int64_t>(in.positions.size()) != n_tokens) {
        return invalid_argument("begin_step: " + std::to_string(in.positions.size()) + " positions for " +
                                std::to_string(n_tokens) + " tokens");
    }
    if (static_cast<int64_t>(in.slot_mapping.size()) != n_tokens) {
        return invalid_argument("begin_step: " + std::to_string(in.slot_mapping.size()) + " KV slots for " +
                                std::to_string(n_tokens) + " tokens");
    }
    if (static_cast<int64_t>(in.query_start.size()) != n_seqs + 1) {
        return invalid_argument("begin_step: query_start has " + std::to_string(in.query_start.size()) +
                                " entries for " + std::to_string(n_seqs) + " sequences (expected n_seqs + 1)");
    }
    if (in.query_start[0] != 0 || in.query_start[static_cast<size_t>(n_seqs)] != n_tokens) {
        return invalid_argument("begin_step: query_start must run from 0 to n_tokens");
    }
    if (in.max_blocks_per_seq < 0) return invalid_argument("begin_step: negative max_blocks_per_seq");
    if (static_cast<int64_t>(in.block_tables.size()) != n_seqs * in.max_blocks_per_seq) {
        return invalid_argument(
            "begin_step: block_tables has " + std::to_string(in.block_tables.size()) +
            " entries, expected n_seqs * max_blocks_per_seq = " + std::to_string(n_seqs * in.max_blocks_per_seq));
    }
    for (int64_t s = 0; s < n_seqs; ++s) {
        if (in.query_start[s + 1] < in.query_start[s]) {
            return invalid_argument("begin_step: query_start decreases at sequence " + std::to_string(s));
        }
    }
    const bool have_kv = kv != nullptr;
    const int64_t block_size = have_kv ? kv->block_size : 0;
    const int64_t n_blocks = have_kv ? kv->n_blocks : 0;
    const int64_t n_slots = n_blocks * block_size;
    for (int64_t s = 0; s < n_seqs; ++s) {
        const int32_t begin = in.query_start[s];
        const int32_t end = in.query_start[s + 1];
        const int64_t context_len = in.context_lens[s];
        if (context_len < 0) return invalid_argument("begin_step: negative context length");
        const std::string seq = "sequence " + std::to_string(s);
        const int32_t* table = in.block_tables.data() + s * in.max_blocks_per_seq;
        if (have_kv) {
            const int64_t blocks_needed = (context_len + block_size - 1) / block_size;
            if (blocks_needed > in.max_blocks_per_seq) {
                return invalid_argument("begin_step: " + seq + " has " + std::to_string(context_len) +
                                        " tokens of context but its block table holds " +
                                        std::to_string(in.max_blocks_per_seq) + " blocks");
            }
            for (int64_t b = 0; b < blocks_needed; ++b) {
                if (table[b] < 0 || table[b] >= n_blocks) {
                    return invalid_argument("begin_step: " + seq + " uses block " + std::to_string(table[b]) +
                                            ", outside the pool of " + std::to_string(n_blocks));
                }
            }
        }
        for (int32_t i = begin; i < end; ++i) {
            const int64_t pos = in.positions[i];
            if (pos < 0 || pos >= context_len) {
                return invalid_argument("begin_step: token " + std::to_string(i) + " has position " +
                                        std::to_string(pos) + ", outside its " + seq + "'s context of " +
                                        std::to_string(context_len));
            }
            if (!have_kv) continue;
            const int64_t slot = in.slot_mapping[i];
            if (slot < 0 || slot >= n_slots) {
                return invalid_argument("begin_step: token " + std::to_string(i) + " writes KV slot " +
                                        std::to_string(slot) + ", outside the pool of " +
                                        std::to_string(n_slots));
            }
            // Attention reads this token's own K/V back through the block table, so the
            // slot must be the one the table names for its position.
            const int64_t expected = static_cast<int64_t>(table[pos / block_size]) * block_size + pos % block_size;
            if (slot != expected) {
                return invalid_argument("begin_step: token " + std::to_string(i) + " writes KV slot " +
                                        std::to_string(slot) + " but its block table puts position " +
                                        std::to_string(pos) + " in slot " + std::to_string(expected));
            }
        }
    }
    for (const int32_t row : in.logit_rows) {
        if (row < 0 || row >= n_tokens) {
            return invalid_argument("begin_step: logit row " + std::to_string(row) + " is not a token of the step");
        }
    }
    return Status::ok();
}

}  // namespace pagoda
