// The KV block pool: every block's reference count, the free queue in eviction order,
// and the prefix cache (block hash -> block) on top of them. The design is vLLM v1's
// BlockPool + FreeKVCacheBlockQueue:
//
// - A block is in use while its ref count is > 0 (several sequences may share one:
//   a cached prefix, or the prompt of n parallel samples).
// - A block whose count drops to 0 goes back to the free queue but KEEPS its cached
//   contents: until it is handed out again, a request with the same prefix can take it
//   back (touch). Blocks are handed out from the head of the queue, so the queue order
//   is the eviction order: freed blocks with no cached contents go to the head (nothing
//   is lost by reusing them first), freed cached blocks to the tail (least recently used
//   first). Callers free a sequence's blocks tail first, so a prefix's last blocks are
//   evicted before its first ones (which more requests share).
// - Only full blocks are cached. The pool keeps each cached block's tokens and parent
//   hash and compares them on lookup, so a hash collision is a miss, never wrong KV.
//
// Invariant violations (freeing a free block, bad ids) abort in every build type.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/block_hash.h"
#include "pagoda/types.h"

namespace pagoda {

class BlockPool {
public:
    // Blocks 0..n_blocks-1, all free, queued in ascending order.
    BlockPool(int32_t n_blocks, int32_t block_size, bool enable_caching);

    int32_t n_blocks() const { return static_cast<int32_t>(blocks_.size()); }
    int32_t block_size() const { return block_size_; }
    bool caching_enabled() const { return caching_; }
    // Blocks with ref count 0 (handed out by allocate), cached or not.
    int32_t n_free() const { return n_free_; }
    int32_t n_used() const { return n_blocks() - n_free_; }
    // Blocks whose contents are in the prefix cache (in use or free).
    int32_t n_cached() const { return static_cast<int32_t>(cached_.size()); }

    // Takes n blocks from the head of the free queue with ref count 1, dropping whatever
    // they cached. All or nothing: false (and nothing taken) when fewer than n are free.
    bool allocate(int32_t n, std::vector<int32_t>& out);
    // Adds a reference to each block; a free one leaves the free queue (a prefix-cache hit).
    void touch(std::span<const int32_t> blocks);
    // Drops one reference from each block, in eviction-priority order (first = evicted
    // first). Blocks reaching 0 return to the free queue (see the header comment).
    void free(std::span<const int32_t> ordered_blocks);

    // The cached block holding `tokens` after the prefix `parent`, if any.
    std::optional<int32_t> lookup(BlockHash hash, BlockHash parent, std::span<const TokenId> tokens,
                                  uint64_t adapter_key) const;
    // Records that in-use `block` holds the full block `tokens` after `parent`. A block
    // already cached, or a hash another block already holds, is left as it is (block
    // tables are append-only, so the duplicate keeps its id and simply is not shared).
    // Returns whether the block is now the cached one for `hash`.
    bool cache(int32_t block, BlockHash hash, BlockHash parent, std::span<const TokenId> tokens, uint64_t adapter_key);
    // Forgets every cached block that is not in use.
    void reset_prefix_cache();

    int32_t ref_count(int32_t block) const;
    std::optional<BlockHash> cached_hash(int32_t block) const;
    // The free queue from head (next handed out) to tail.
    std::vector<int32_t> free_queue() const;

private:
    struct Block {
        int32_t ref_count = 0;
        int32_t prev = -1;  // free-queue links (indices, sentinel = n_blocks)
        int32_t next = -1;
        bool in_queue = false;
        bool cached = false;
        BlockHash hash = 0;
        BlockHash parent = 0;
        uint64_t adapter_key = 0;  // LoRA adapter set (0 = base model)
    };

    void check_id(int32_t block, const char* what) const;
    void unlink(int32_t block);
    void link_before(int32_t block, int32_t next);  // next may be the sentinel (= push back)
    void evict(int32_t block);                      // drops cached contents

    int32_t block_size_;
    bool caching_;
    std::vector<Block> blocks_;
    Block sentinel_;  // head = sentinel_.next, tail = sentinel_.prev
    int32_t n_free_ = 0;
    std::unordered_map<BlockHash, int32_t> cached_;
    std::vector<TokenId> cached_tokens_;  // [n_blocks, block_size] tokens of cached blocks
    std::vector<int32_t> uncached_scratch_;
};

}  // namespace pagoda
