// A minimal free list of KV cache block ids: enough for one sequence at a time, for the
// single-sequence runner (sched/sequence_runner.h). The engine uses kv/block_pool.h (ref
// counts, eviction order, prefix caching) through kv/kv_cache_manager.h.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace pagoda {

class BlockAllocator {
public:
    // Blocks 0..n_blocks-1, all free, handed out in ascending order.
    explicit BlockAllocator(int32_t n_blocks);

    // The next free block id, or nullopt when every block is in use.
    std::optional<int32_t> allocate();
    // Returns a block to the end of the free list. Freeing a block that is not in use
    // is an invariant violation and asserts.
    void free(int32_t block);

    int32_t n_blocks() const { return static_cast<int32_t>(in_use_.size()); }
    int32_t n_free() const { return static_cast<int32_t>(free_.size()); }

private:
    std::deque<int32_t> free_;
    std::vector<bool> in_use_;
};

}  // namespace pagoda
