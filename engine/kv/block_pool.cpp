#include "kv/block_pool.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace pagoda {
namespace {

[[noreturn]] void die(const char* what, int32_t block) {
    std::fprintf(stderr, "pagoda: BlockPool invariant violated: %s (block %d)\n", what, block);
    std::abort();
}

}  // namespace

BlockPool::BlockPool(int32_t n_blocks, int32_t block_size, bool enable_caching)
    : block_size_(block_size), caching_(enable_caching) {
    if (n_blocks < 0 || block_size <= 0) die("bad pool geometry", n_blocks);
    blocks_.resize(static_cast<size_t>(n_blocks));
    cached_tokens_.resize(static_cast<size_t>(n_blocks) * static_cast<size_t>(block_size));
    sentinel_.prev = sentinel_.next = n_blocks;
    for (int32_t b = 0; b < n_blocks; ++b) link_before(b, n_blocks);
}

void BlockPool::check_id(int32_t block, const char* what) const {
    if (block < 0 || block >= n_blocks()) die(what, block);
}

void BlockPool::unlink(int32_t b) {
    Block& blk = blocks_[static_cast<size_t>(b)];
    if (!blk.in_queue) die("unlinking a block that is not free", b);
    const int32_t n = n_blocks();
    Block& prev = blk.prev == n ? sentinel_ : blocks_[static_cast<size_t>(blk.prev)];
    Block& next = blk.next == n ? sentinel_ : blocks_[static_cast<size_t>(blk.next)];
    prev.next = blk.next;
    next.prev = blk.prev;
    blk.prev = blk.next = -1;
    blk.in_queue = false;
    --n_free_;
}

void BlockPool::link_before(int32_t b, int32_t next_id) {
    Block& blk = blocks_[static_cast<size_t>(b)];
    if (blk.in_queue) die("queueing a block twice", b);
    const int32_t n = n_blocks();
    Block& next = next_id == n ? sentinel_ : blocks_[static_cast<size_t>(next_id)];
    const int32_t prev_id = next.prev;
    Block& prev = prev_id == n ? sentinel_ : blocks_[static_cast<size_t>(prev_id)];
    blk.prev = prev_id;
    blk.next = next_id;
    prev.next = b;
    next.prev = b;
    blk.in_queue = true;
    ++n_free_;
}

void BlockPool::evict(int32_t b) {
    Block& blk = blocks_[static_cast<size_t>(b)];
    if (!blk.cached) return;
    auto it = cached_.find(blk.hash);
    if (it != cached_.end() && it->second == b) cached_.erase(it);
    blk.cached = false;
}

bool BlockPool::allocate(int32_t n, std::vector<int32_t>& out) {
    if (n < 0) die("allocating a negative count", n);
    if (n > n_free_) return false;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t b = sentinel_.next;
        unlink(b);
        evict(b);
        Block& blk = blocks_[static_cast<size_t>(b)];
        if (blk.ref_count != 0) die("a free block has references", b);
        blk.ref_count = 1;
        out.push_back(b);
    }
    return true;
}

void BlockPool::touch(std::span<const int32_t> blocks) {
    for (int32_t b : blocks) {
        check_id(b, "touching a bad block id");
        Block& blk = blocks_[static_cast<size_t>(b)];
        if (blk.ref_count == 0) unlink(b);
        ++blk.ref_count;
    }
}

void BlockPool::free(std::span<const int32_t> ordered_blocks) {
    // Blocks without cached contents go to the head, keeping their given order; cached
    // ones to the tail, in order (so the first of them is evicted first).
    uncached_scratch_.clear();
    const int32_t n = n_blocks();
    for (int32_t b : ordered_blocks) {
        check_id(b, "freeing a bad block id");
        Block& blk = blocks_[static_cast<size_t>(b)];
        if (blk.ref_count <= 0) die("freeing a block that is not in use", b);
        if (--blk.ref_count > 0) continue;
        if (blk.cached) {
            link_before(b, n);
        } else {
            uncached_scratch_.push_back(b);
        }
    }
    const int32_t head = sentinel_.next;
    for (int32_t b : uncached_scratch_) link_before(b, head);
}

std::optional<int32_t> BlockPool::lookup(BlockHash hash, BlockHash parent, std::span<const TokenId> tokens,
                                         uint64_t adapter_key) const {
    if (!caching_ || static_cast<int32_t>(tokens.size()) != block_size_) return std::nullopt;
    auto it = cached_.find(hash);
    if (it == cached_.end()) return std::nullopt;
    const Block& blk = blocks_[static_cast<size_t>(it->second)];
    if (blk.parent != parent || blk.adapter_key != adapter_key) return std::nullopt;
    const TokenId* stored = cached_tokens_.data() + static_cast<size_t>(it->second) * static_cast<size_t>(block_size_);
    if (!std::equal(tokens.begin(), tokens.end(), stored)) return std::nullopt;
    return it->second;
}

bool BlockPool::cache(int32_t b, BlockHash hash, BlockHash parent, std::span<const TokenId> tokens,
                      uint64_t adapter_key) {
    check_id(b, "caching a bad block id");
    Block& blk = blocks_[static_cast<size_t>(b)];
    if (blk.ref_count <= 0) die("caching a block that is not in use", b);
    if (!caching_ || static_cast<int32_t>(tokens.size()) != block_size_) return false;
    if (blk.cached) return blk.hash == hash;
    if (cached_.count(hash)) return false;
    blk.cached = true;
    blk.hash = hash;
    blk.parent = parent;
    blk.adapter_key = adapter_key;
    std::copy(tokens.begin(), tokens.end(),
              cached_tokens_.begin() + static_cast<ptrdiff_t>(b) * static_cast<ptrdiff_t>(block_size_));
    cached_.emplace(hash, b);
    return true;
}

void BlockPool::reset_prefix_cache() {
    for (int32_t b = 0; b < n_blocks(); ++b) {
        if (blocks_[static_cast<size_t>(b)].ref_count == 0) evict(b);
    }
}

int32_t BlockPool::ref_count(int32_t b) const {
    check_id(b, "ref_count of a bad block id");
    return blocks_[static_cast<size_t>(b)].ref_count;
}

std::optional<BlockHash> BlockPool::cached_hash(int32_t b) const {
    check_id(b, "cached_hash of a bad block id");
    const Block& blk = blocks_[static_cast<size_t>(b)];
    if (!blk.cached) return std::nullopt;
    return blk.hash;
}

std::vector<int32_t> BlockPool::free_queue() const {
    std::vector<int32_t> q;
    q.reserve(static_cast<size_t>(n_free_));
    for (int32_t b = sentinel_.next; b != n_blocks(); b = blocks_[static_cast<size_t>(b)].next) q.push_back(b);
    return q;
}

}  // namespace pagoda
