// Scripted block-pool and prefix-cache scenarios, after vLLM's
// tests/v1/core/test_prefix_caching.py (Pagoda has no null block, so ids start at 0):
// every step asserts exact block ids, ref counts and the free queue's eviction order.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "kv/block_hash.h"
#include "kv/block_pool.h"
#include "kv/kv_cache_manager.h"

namespace pagoda {
namespace {

using Ids = std::vector<int32_t>;

std::vector<TokenId> repeat_blocks(int n_blocks, int block_size) {
    std::vector<TokenId> t;
    for (int b = 0; b < n_blocks; ++b) t.insert(t.end(), static_cast<size_t>(block_size), b);
    return t;
}

std::vector<TokenId> concat(std::vector<TokenId> a, const std::vector<TokenId>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::vector<TokenId> range(int begin, int end) {
    std::vector<TokenId> t(static_cast<size_t>(end - begin));
    std::iota(t.begin(), t.end(), begin);
    return t;
}

Ids table(const KvCacheManager& kv, SeqId seq) {
    auto t = kv.block_table(seq);
    return Ids(t.begin(), t.end());
}

// Admits a sequence the way the scheduler does: longest cached prefix, then blocks for
// every token, then (after its prefill step) its full blocks enter the cache.
PrefixHit admit(KvCacheManager& kv, SeqId seq, const std::vector<TokenId>& tokens) {
    PrefixHit hit = kv.find_cached_prefix(tokens, 0);
    EXPECT_TRUE(kv.allocate(seq, static_cast<int32_t>(tokens.size()), &hit));
    kv.cache_full_blocks(seq, tokens, static_cast<int32_t>(tokens.size()), 0);
    return hit;
}

TEST(BlockPool, FreshPoolHandsOutBlocksInOrder) {
    BlockPool pool(4, 16, true);
    EXPECT_EQ(pool.free_queue(), (Ids{0, 1, 2, 3}));
    Ids got;
    ASSERT_TRUE(pool.allocate(3, got));
    EXPECT_EQ(got, (Ids{0, 1, 2}));
    EXPECT_EQ(pool.n_free(), 1);
    EXPECT_EQ(pool.ref_count(0), 1);
    EXPECT_FALSE(pool.allocate(2, got)) << "all or nothing";
    EXPECT_EQ(got.size(), 3u);
    EXPECT_EQ(pool.n_free(), 1);
    pool.free(Ids{2, 0});  // uncached: to the head, in the given order
    EXPECT_EQ(pool.free_queue(), (Ids{2, 0, 3}));
}

TEST(BlockPool, TouchTakesABlockOutOfTheFreeQueue) {
    BlockPool pool(3, 2, true);
    Ids got;
    ASSERT_TRUE(pool.allocate(1, got));
    const std::vector<TokenId> toks = {7, 8};
    const BlockHash h = hash_block(kRootBlockHash, toks, 0);
    ASSERT_TRUE(pool.cache(0, h, kRootBlockHash, toks, 0));
    pool.free(Ids{0});
    EXPECT_EQ(pool.free_queue(), (Ids{1, 2, 0})) << "a cached block waits at the tail";
    EXPECT_EQ(pool.lookup(h, kRootBlockHash, toks, 0), 0);
    pool.touch(Ids{0});
    EXPECT_EQ(pool.ref_count(0), 1);
    EXPECT_EQ(pool.free_queue(), (Ids{1, 2}));
    pool.touch(Ids{0});
    EXPECT_EQ(pool.ref_count(0), 2);
    pool.free(Ids{0});
    EXPECT_EQ(pool.ref_count(0), 1);
    EXPECT_EQ(pool.free_queue(), (Ids{1, 2}));
}

TEST(BlockPool, LookupComparesTokensNotJustTheHash) {
    BlockPool pool(2, 2, true);
    Ids got;
    ASSERT_TRUE(pool.allocate(1, got));
    const std::vector<TokenId> toks = {1, 2};
    const BlockHash h = hash_block(kRootBlockHash, toks, 0);
    ASSERT_TRUE(pool.cache(0, h, kRootBlockHash, toks, 0));
    const std::vector<TokenId> other = {1, 3};
    EXPECT_FALSE(pool.lookup(h, kRootBlockHash, other, 0)) << "a (pretend) hash collision must miss";
    EXPECT_FALSE(pool.lookup(h, kRootBlockHash, toks, 5)) << "another adapter's KV is not this one";
    EXPECT_FALSE(pool.lookup(h, 1234, toks, 0)) << "another parent";
}

TEST(BlockPool, AdapterAndParentChangeTheHash) {
    const std::vector<TokenId> toks = {1, 2, 3, 4};
    EXPECT_NE(hash_block(kRootBlockHash, toks, 0), hash_block(kRootBlockHash, toks, 1));
    EXPECT_NE(hash_block(kRootBlockHash, toks, 0), hash_block(42, toks, 0));
    EXPECT_EQ(hash_block(kRootBlockHash, toks, 0), hash_block(kRootBlockHash, toks, 0));
    const auto chain = hash_full_blocks(range(0, 9), 4, 0);
    ASSERT_EQ(chain.size(), 2u);
    EXPECT_EQ(chain[1], hash_block(chain[0], range(4, 8), 0));
}

TEST(BlockPoolDeathTest, DoubleFreeAborts) {
    BlockPool pool(2, 4, true);
    Ids got;
    ASSERT_TRUE(pool.allocate(1, got));
    pool.free(Ids{0});
    EXPECT_DEATH(pool.free(Ids{0}), "not in use");
    EXPECT_DEATH(pool.free(Ids{7}), "bad block id");
}

// vLLM test_prefill: a shared prefix of 3 full blocks, cache hits while the first
// request runs and after it finished, then eviction order on a full-pool miss.
TEST(PrefixCache, PrefillScenario) {
    KvCacheManager kv(10, 16, true);
    const auto common = repeat_blocks(3, 16);  // 48 tokens
    const auto req0 = concat(common, std::vector<TokenId>(7, 3));

    PrefixHit hit0 = admit(kv, 0, req0);
    EXPECT_TRUE(hit0.blocks.empty());
    EXPECT_EQ(table(kv, 0), (Ids{0, 1, 2, 3}));
    BlockHash parent = kRootBlockHash;
    for (int32_t b = 0; b < 3; ++b) {
        const BlockHash h = hash_block(parent, std::span(req0).subspan(static_cast<size_t>(b) * 16, 16), 0);
        EXPECT_EQ(kv.pool().cached_hash(b), h) << "block " << b;
        EXPECT_EQ(kv.pool().ref_count(b), 1);
        parent = h;
    }
    EXPECT_FALSE(kv.pool().cached_hash(3)) << "the partial block is not cached";
    EXPECT_EQ(kv.pool().ref_count(3), 1);

    // Hit while request 0 still runs.
    const auto req1 = concat(common, std::vector<TokenId>(5, 3));
    PrefixHit hit1 = admit(kv, 1, req1);
    EXPECT_EQ(hit1.blocks, (Ids{0, 1, 2}));
    EXPECT_EQ(hit1.n_tokens, 48);
    EXPECT_EQ(table(kv, 1), (Ids{0, 1, 2, 4}));
    for (int32_t b : {0, 1, 2}) EXPECT_EQ(kv.pool().ref_count(b), 2);
    EXPECT_EQ(kv.pool().n_free(), 5);

    kv.free(0);
    kv.free(1);
    EXPECT_EQ(kv.pool().n_free(), 10);
    // [uncached partial blocks, newest first] [never used] [cached prefix, tail first]
    EXPECT_EQ(kv.pool().free_queue(), (Ids{4, 3, 5, 6, 7, 8, 9, 2, 1, 0}));

    // Hit after the owners finished: the free cached blocks come back.
    const auto req2 = concat(common, std::vector<TokenId>(6, 3));
    PrefixHit hit2 = admit(kv, 2, req2);
    EXPECT_EQ(hit2.blocks, (Ids{0, 1, 2}));
    EXPECT_EQ(table(kv, 2), (Ids{0, 1, 2, 4})) << "the partial block at the head is reused first";
    EXPECT_EQ(kv.pool().n_free(), 6);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{3, 5, 6, 7, 8, 9}));
    kv.free(2);

    // A miss that needs the whole pool evicts in queue order.
    const auto req3 = std::vector<TokenId>(160, 99);
    PrefixHit hit3 = kv.find_cached_prefix(req3, 0);
    EXPECT_TRUE(hit3.blocks.empty());
    ASSERT_TRUE(kv.allocate(3, 160, &hit3));
    EXPECT_EQ(table(kv, 3), (Ids{4, 3, 5, 6, 7, 8, 9, 2, 1, 0}));
    EXPECT_EQ(kv.pool().n_free(), 0);
    EXPECT_TRUE(kv.pool().free_queue().empty());
    EXPECT_EQ(kv.pool().n_cached(), 0) << "eviction dropped the old prefix";
    EXPECT_TRUE(kv.find_cached_prefix(req0, 0).blocks.empty());
}

// vLLM test_evict: partial blocks at the head, full blocks at the tail in LRU order.
TEST(PrefixCache, EvictionOrderScenario) {
    KvCacheManager kv(10, 16, true);
    const auto req0 = range(0, 5 * 16 + 7);
    admit(kv, 0, req0);
    EXPECT_EQ(table(kv, 0), (Ids{0, 1, 2, 3, 4, 5}));
    const auto req1 = range(87, 87 + 48);
    admit(kv, 1, req1);
    EXPECT_EQ(table(kv, 1), (Ids{6, 7, 8}));
    EXPECT_EQ(kv.pool().n_free(), 1);

    kv.free(0);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{5, 9, 4, 3, 2, 1, 0}));
    kv.free(1);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{5, 9, 4, 3, 2, 1, 0, 8, 7, 6}));

    // Touch the first two blocks.
    const auto req2 = range(0, 2 * 16 + 3);
    PrefixHit hit = admit(kv, 2, req2);
    EXPECT_EQ(hit.blocks, (Ids{0, 1}));
    EXPECT_EQ(hit.n_tokens, 32);
    EXPECT_EQ(table(kv, 2), (Ids{0, 1, 5}));
    EXPECT_EQ(kv.pool().n_free(), 7);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{9, 4, 3, 2, 8, 7, 6}));
}

// vLLM test_hash_block_correct_reuse: a reused cached block loses its old hash.
TEST(PrefixCache, ReusedBlockForgetsItsHash) {
    KvCacheManager kv(1, 16, true);
    admit(kv, 0, range(0, 16));
    EXPECT_TRUE(kv.pool().cached_hash(0));
    kv.free(0);
    admit(kv, 1, range(0, 15));
    EXPECT_EQ(table(kv, 1), (Ids{0}));
    EXPECT_FALSE(kv.pool().cached_hash(0));
}

// vLLM test_computed_blocks_not_evicted: the blocks a hit takes are not the ones evicted.
TEST(PrefixCache, HitBlocksAreNotEvictedForTheSameRequest) {
    KvCacheManager kv(2, 16, true);
    admit(kv, 0, range(0, 16));
    admit(kv, 1, range(16, 32));
    EXPECT_EQ(table(kv, 0), (Ids{0}));
    EXPECT_EQ(table(kv, 1), (Ids{1}));
    kv.free(0);
    kv.free(1);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{0, 1}));
    const auto req2 = range(0, 32);
    PrefixHit hit = kv.find_cached_prefix(req2, 0);
    EXPECT_EQ(hit.blocks, (Ids{0}));
    EXPECT_EQ(hit.n_tokens, 16);
    ASSERT_TRUE(kv.allocate(2, 32, &hit));
    EXPECT_EQ(table(kv, 2), (Ids{0, 1}));
}

// The last token is always computed (its logits are sampled), so a prompt that is all
// cached full blocks still recomputes its last block.
TEST(PrefixCache, FullyCachedPromptStillComputesItsLastToken) {
    KvCacheManager kv(8, 4, true);
    admit(kv, 0, range(0, 12));
    kv.free(0);
    PrefixHit hit = kv.find_cached_prefix(range(0, 12), 0);
    EXPECT_EQ(hit.blocks, (Ids{0, 1}));
    EXPECT_EQ(hit.n_tokens, 8);
    EXPECT_EQ(kv.find_cached_prefix(range(0, 13), 0).n_tokens, 12);
}

TEST(PrefixCache, DisabledCachingNeverHits) {
    KvCacheManager kv(4, 4, false);
    admit(kv, 1, range(0, 10));
    EXPECT_EQ(table(kv, 1).size(), 3u);
    kv.free(1);
    EXPECT_EQ(kv.pool().n_cached(), 0);
    PrefixHit hit = admit(kv, 2, range(0, 16));
    EXPECT_TRUE(hit.blocks.empty());
    EXPECT_EQ(table(kv, 2).size(), 4u);
    PrefixHit none = kv.find_cached_prefix(range(0, 4), 0);
    EXPECT_FALSE(kv.allocate(3, 4, &none)) << "no block left";
    EXPECT_FALSE(kv.has(3));
}

TEST(PrefixCache, AHitNeedsBlocksForItsNewTokensToo) {
    KvCacheManager kv(3, 4, true);
    admit(kv, 0, range(0, 8));  // blocks 0, 1 cached
    kv.free(0);
    admit(kv, 1, range(100, 104));  // takes block 2 (head of the queue), leaves 0, 1 free but cached
    EXPECT_EQ(table(kv, 1), (Ids{2}));
    PrefixHit hit = kv.find_cached_prefix(range(0, 13), 0);
    EXPECT_EQ(hit.blocks, (Ids{0, 1}));
    EXPECT_EQ(kv.blocks_needed(2, 13, &hit), 2);
    EXPECT_FALSE(kv.can_allocate(2, 13, &hit)) << "the two free blocks are the hit itself";
    EXPECT_FALSE(kv.allocate(2, 13, &hit));
    EXPECT_EQ(kv.pool().ref_count(0), 0) << "a failed allocation touches nothing";
    EXPECT_TRUE(kv.can_allocate(2, 8, &hit));
}

// n parallel samples: the children share every block; the first writes into the shared
// partial tail get private copies (copy-on-write), the last writer keeps the original.
TEST(PrefixCache, ForkSharesBlocksAndCopiesTheTailOnWrite) {
    KvCacheManager kv(8, 4, true);
    const auto prompt = range(1, 7);  // 6 tokens: block 0 full, block 1 half
    admit(kv, 0, prompt);
    EXPECT_EQ(table(kv, 0), (Ids{0, 1}));
    kv.fork(0, 1);
    kv.fork(0, 2);
    EXPECT_EQ(table(kv, 1), (Ids{0, 1}));
    EXPECT_EQ(kv.pool().ref_count(0), 3);
    EXPECT_EQ(kv.pool().ref_count(1), 3);
    EXPECT_EQ(kv.pool().n_free(), 6);

    CowCopy copy;
    ASSERT_EQ(kv.make_tail_writable(0, 6, copy), KvCacheManager::CowResult::copied);
    EXPECT_EQ(copy.src, 1);
    EXPECT_EQ(copy.dst, 2);
    EXPECT_EQ(copy.n_slots, 2);
    EXPECT_EQ(table(kv, 0), (Ids{0, 2}));
    EXPECT_EQ(kv.pool().ref_count(1), 2);
    ASSERT_EQ(kv.make_tail_writable(1, 6, copy), KvCacheManager::CowResult::copied);
    EXPECT_EQ(copy.dst, 3);
    EXPECT_EQ(table(kv, 1), (Ids{0, 3}));
    EXPECT_EQ(kv.pool().ref_count(1), 1);
    EXPECT_EQ(kv.make_tail_writable(2, 6, copy), KvCacheManager::CowResult::not_shared);
    EXPECT_EQ(table(kv, 2), (Ids{0, 1}));
    EXPECT_EQ(kv.make_tail_writable(2, 8, copy), KvCacheManager::CowResult::not_shared) << "no block yet";
    EXPECT_EQ(kv.pool().ref_count(0), 3) << "the full prefix block stays shared";

    kv.free(2);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{1, 4, 5, 6, 7}));
    kv.free(0);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{2, 1, 4, 5, 6, 7}));
    kv.free(1);
    EXPECT_EQ(kv.pool().free_queue(), (Ids{3, 2, 1, 4, 5, 6, 7, 0}));
    EXPECT_EQ(kv.pool().n_used(), 0);
}

TEST(PrefixCache, CowWithoutAFreeBlockSaysSo) {
    KvCacheManager kv(2, 4, true);
    admit(kv, 0, range(0, 6));
    kv.fork(0, 1);
    CowCopy copy;
    EXPECT_EQ(kv.make_tail_writable(0, 6, copy), KvCacheManager::CowResult::no_free_block);
    EXPECT_EQ(table(kv, 0), (Ids{0, 1}));
    EXPECT_EQ(kv.pool().ref_count(1), 2);
}

TEST(PrefixCache, DecodeBlocksEnterTheCacheWhenFull) {
    KvCacheManager kv(6, 4, true);
    auto tokens = range(0, 6);
    admit(kv, 0, tokens);
    EXPECT_EQ(kv.pool().n_cached(), 1);
    for (TokenId t = 6; t < 9; ++t) {
        tokens.push_back(t);
        ASSERT_TRUE(kv.allocate(0, static_cast<int32_t>(tokens.size())));
        kv.cache_full_blocks(0, tokens, static_cast<int32_t>(tokens.size()), 0);
    }
    EXPECT_EQ(table(kv, 0), (Ids{0, 1, 2}));
    EXPECT_EQ(kv.pool().n_cached(), 2) << "block 1 filled during decode";
    EXPECT_TRUE(kv.pool().cached_hash(1));
    EXPECT_FALSE(kv.pool().cached_hash(2));
    kv.free(0);
    EXPECT_EQ(kv.find_cached_prefix(range(0, 9), 0).n_tokens, 8);
}

TEST(PrefixCache, ResetForgetsFreeCachedBlocksOnly) {
    KvCacheManager kv(4, 4, true);
    admit(kv, 0, range(0, 4 + 1));
    admit(kv, 1, range(50, 55));
    kv.free(1);
    EXPECT_EQ(kv.pool().n_cached(), 2);
    kv.pool().reset_prefix_cache();
    EXPECT_EQ(kv.pool().n_cached(), 1);
    EXPECT_TRUE(kv.pool().cached_hash(0));
}

}  // namespace
}  // namespace pagoda
