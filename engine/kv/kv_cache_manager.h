// Per-sequence block tables over the BlockPool, and the prefix cache's use of them
// (vLLM v1's KVCacheManager, single attention group):
//
//   find_cached_prefix(tokens)  -> the longest run of cached full blocks starting at
//                                  token 0 (never all tokens: the last one is always
//                                  computed so the step has logits to sample from)
//   allocate(seq, n_tokens)     -> blocks so that positions < n_tokens have a slot
//   cache_full_blocks(seq, ...) -> after a step, full computed blocks enter the cache
//   fork(parent, child)         -> the child shares every block (n parallel samples)
//   make_tail_writable(seq,pos) -> copy-on-write of a shared, partly filled block
//   free(seq)                   -> blocks back to the pool, tail first
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/block_hash.h"
#include "kv/block_pool.h"
#include "pagoda/types.h"

namespace pagoda {

using SeqId = int64_t;

struct PrefixHit {
    std::vector<int32_t> blocks;  // cached blocks for tokens [0, n_tokens)
    int32_t n_tokens = 0;
    BlockHash last_hash = kRootBlockHash;  // hash of the last hit block
};

// A copy-on-write the caller must carry out before the step writes the sequence's KV:
// slots [0, n_slots) of block src hold KV the sequence needs in its new block dst.
struct CowCopy {
    int32_t src = -1;
    int32_t dst = -1;
    int32_t n_slots = 0;
};

class KvCacheManager {
public:
    KvCacheManager(int32_t n_blocks, int32_t block_size, bool enable_caching);

    BlockPool& pool() { return pool_; }
    const BlockPool& pool() const { return pool_; }
    int32_t block_size() const { return pool_.block_size(); }

    PrefixHit find_cached_prefix(std::span<const TokenId> tokens, uint64_t adapter_key) const;

    // Blocks the sequence still needs so positions < n_tokens have slots (hit: the
    // cached blocks it would start from, for a sequence that has none yet).
    int32_t blocks_needed(SeqId seq, int32_t n_tokens, const PrefixHit* hit = nullptr) const;
    // Whether blocks_needed() blocks can be had now (a hit's free cached blocks stop
    // being free when the sequence takes them).
    bool can_allocate(SeqId seq, int32_t n_tokens, const PrefixHit* hit = nullptr) const;
    // Grows the sequence's table (creating it on first use, starting from `hit`) so that
    // positions < n_tokens have slots. All or nothing: false when the pool is short.
    bool allocate(SeqId seq, int32_t n_tokens, const PrefixHit* hit = nullptr);

    // Puts the sequence's full blocks of computed tokens into the prefix cache.
    // tokens: the sequence's tokens; n_computed: how many have KV.
    void cache_full_blocks(SeqId seq, std::span<const TokenId> tokens, int32_t n_computed, uint64_t adapter_key);

    // The child gets the parent's table; every block gains a reference.
    void fork(SeqId parent, SeqId child);

    enum class CowResult { not_shared, copied, no_free_block };
    // Before the sequence writes KV at position pos: if pos's block is shared (ref > 1),
    // the sequence gets a fresh block in its place and `copy` says what to copy into it
    // (the slots before pos in that block).
    CowResult make_tail_writable(SeqId seq, int32_t pos, CowCopy& copy);

    void free(SeqId seq);
    bool has(SeqId seq) const { return seqs_.count(seq) != 0; }
    // The sequence's block ids (empty for an unknown sequence).
    std::span<const int32_t> block_table(SeqId seq) const;
    int32_t n_sequences() const { return static_cast<int32_t>(seqs_.size()); }

    // Prefix-cache accounting in tokens: requests looked up, tokens found cached.
    void record_lookup(int64_t n_query_tokens, int64_t n_hit_tokens) {
        query_tokens_ += n_query_tokens;
        hit_tokens_ += n_hit_tokens;
    }
    int64_t query_tokens() const { return query_tokens_; }
    int64_t hit_tokens() const { return hit_tokens_; }

private:
    struct SeqKv {
        std::vector<int32_t> blocks;
        int32_t n_hashed_blocks = 0;  // leading full blocks already offered to the cache
        BlockHash last_hash = kRootBlockHash;
    };

    BlockPool pool_;
    std::unordered_map<SeqId, SeqKv> seqs_;
    std::vector<int32_t> scratch_;
    int64_t query_tokens_ = 0;
    int64_t hit_tokens_ = 0;
};

}  // namespace pagoda
