#include "kv/block_hash.h"

#include <algorithm>

namespace pagoda {
namespace {

// splitmix64's finaliser: every input bit affects every output bit.
inline uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

}  // namespace

BlockHash hash_block(BlockHash parent, std::span<const TokenId> tokens, uint64_t adapter_key) {
    uint64_t h = mix(parent ^ 0x2545f4914f6cdd1dull);
    h = mix(h ^ (uint64_t{tokens.size()} << 32));
    h = mix(h ^ adapter_key);
    for (TokenId t : tokens) h = mix(h + static_cast<uint32_t>(t) + 0x9e3779b97f4a7c15ull);
    return h;
}

std::vector<BlockHash> hash_full_blocks(std::span<const TokenId> tokens, int32_t block_size, uint64_t adapter_key,
                                        size_t max_blocks) {
    std::vector<BlockHash> hashes;
    if (block_size <= 0) return hashes;
    const size_t n = std::min(tokens.size() / static_cast<size_t>(block_size), max_blocks);
    hashes.reserve(n);
    BlockHash parent = kRootBlockHash;
    for (size_t i = 0; i < n; ++i) {
        parent = hash_block(
            parent, tokens.subspan(i * static_cast<size_t>(block_size), static_cast<size_t>(block_size)), adapter_key);
        hashes.push_back(parent);
    }
    return hashes;
}

}  // namespace pagoda
