#include "kv/kv_cache_manager.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace pagoda {
namespace {

int32_t blocks_for(int32_t n_tokens, int32_t block_size) { return (n_tokens + block_size - 1) / block_size; }

}  // namespace

KvCacheManager::KvCacheManager(int32_t n_blocks, int32_t block_size, bool enable_caching)
    : pool_(n_blocks, block_size, enable_caching) {}

PrefixHit KvCacheManager::find_cached_prefix(std::span<const TokenId> tokens, uint64_t adapter_key) const {
    PrefixHit hit;
    if (!pool_.caching_enabled() || tokens.empty()) return hit;
    const size_t bs = static_cast<size_t>(block_size());
    const size_t max_blocks = (tokens.size() - 1) / bs;  // the last token is always computed
    BlockHash parent = kRootBlockHash;
    for (size_t i = 0; i < max_blocks; ++i) {
        auto block_tokens = tokens.subspan(i * bs, bs);
        const BlockHash h = hash_block(parent, block_tokens, adapter_key);
        const auto b = pool_.lookup(h, parent, block_tokens, adapter_key);
        if (!b) break;
        hit.blocks.push_back(*b);
        parent = h;
    }
    hit.n_tokens = static_cast<int32_t>(hit.blocks.size() * bs);
    hit.last_hash = parent;
    return hit;
}

int32_t KvCacheManager::blocks_needed(SeqId seq, int32_t n_tokens, const PrefixHit* hit) const {
    auto it = seqs_.find(seq);
    size_t have = it == seqs_.end() ? 0 : it->second.blocks.size();
    if (have == 0 && hit) have = hit->blocks.size();
    return std::max<int32_t>(0, blocks_for(n_tokens, block_size()) - static_cast<int32_t>(have));
}

bool KvCacheManager::can_allocate(SeqId seq, int32_t n_tokens, const PrefixHit* hit) const {
    const int32_t need = blocks_needed(seq, n_tokens, hit);
    int32_t free = pool_.n_free();
    auto it = seqs_.find(seq);
    if (hit && (it == seqs_.end() || it->second.blocks.empty())) {
        for (int32_t b : hit->blocks) free -= pool_.ref_count(b) == 0 ? 1 : 0;
    }
    return need <= free;
}

bool KvCacheManager::allocate(SeqId seq, int32_t n_tokens, const PrefixHit* hit) {
    if (!can_allocate(seq, n_tokens, hit)) return false;
    const int32_t need = blocks_needed(seq, n_tokens, hit);
    SeqKv& s = seqs_[seq];
    if (hit && s.blocks.empty() && !hit->blocks.empty()) {
        pool_.touch(hit->blocks);
        s.blocks = hit->blocks;
        s.n_hashed_blocks = static_cast<int32_t>(hit->blocks.size());
        s.last_hash = hit->last_hash;
    }
    if (!pool_.allocate(need, s.blocks)) {
        std::fprintf(stderr, "pagoda: KvCacheManager: allocation failed after can_allocate\n");
        std::abort();
    }
    return true;
}

void KvCacheManager::cache_full_blocks(SeqId seq, std::span<const TokenId> tokens, int32_t n_computed,
                                       uint64_t adapter_key) {
    auto it = seqs_.find(seq);
    if (it == seqs_.end() || !pool_.caching_enabled()) return;
    SeqKv& s = it->second;
    const int32_t bs = block_size();
    const int32_t n_known = std::min<int32_t>(n_computed, static_cast<int32_t>(tokens.size()));
    const int32_t n_full = std::min<int32_t>(n_known / bs, static_cast<int32_t>(s.blocks.size()));
    for (int32_t i = s.n_hashed_blocks; i < n_full; ++i) {
        auto block_tokens = tokens.subspan(static_cast<size_t>(i) * bs, static_cast<size_t>(bs));
        const BlockHash h = hash_block(s.last_hash, block_tokens, adapter_key);
        (void)pool_.cache(s.blocks[static_cast<size_t>(i)], h, s.last_hash, block_tokens, adapter_key);
        s.last_hash = h;
        s.n_hashed_blocks = i + 1;
    }
}

void KvCacheManager::fork(SeqId parent, SeqId child) {
    auto it = seqs_.find(parent);
    if (it == seqs_.end() || seqs_.count(child)) {
        std::fprintf(stderr, "pagoda: KvCacheManager: bad fork %lld -> %lld\n", static_cast<long long>(parent),
                     static_cast<long long>(child));
        std::abort();
    }
    SeqKv copy = it->second;
    pool_.touch(copy.blocks);
    seqs_.emplace(child, std::move(copy));
}

KvCacheManager::CowResult KvCacheManager::make_tail_writable(SeqId seq, int32_t pos, CowCopy& copy) {
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) return CowResult::not_shared;
    SeqKv& s = it->second;
    const size_t index = static_cast<size_t>(pos / block_size());
    if (index >= s.blocks.size()) return CowResult::not_shared;
    const int32_t old = s.blocks[index];
    if (pool_.ref_count(old) <= 1) return CowResult::not_shared;
    if (static_cast<int32_t>(index) < s.n_hashed_blocks) {
        // Full computed blocks are never written again; writing one is a scheduling bug.
        std::fprintf(stderr, "pagoda: KvCacheManager: write into full block %d of sequence %lld\n", old,
                     static_cast<long long>(seq));
        std::abort();
    }
    scratch_.clear();
    if (!pool_.allocate(1, scratch_)) return CowResult::no_free_block;
    const int32_t fresh = scratch_[0];
    pool_.free(std::span<const int32_t>(&old, 1));
    s.blocks[index] = fresh;
    copy = CowCopy{old, fresh, pos % block_size()};
    return CowResult::copied;
}

void KvCacheManager::free(SeqId seq) {
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) return;
    std::vector<int32_t>& blocks = it->second.blocks;
    std::reverse(blocks.begin(), blocks.end());  // tail first: evicted before the shared prefix
    pool_.free(blocks);
    seqs_.erase(it);
}

std::span<const int32_t> KvCacheManager::block_table(SeqId seq) const {
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) return {};
    return it->second.blocks;
}

}  // namespace pagoda
