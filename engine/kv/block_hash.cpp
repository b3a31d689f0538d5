#include "kv/block_hash.h"

#include <algorithm>

#include "util/mix64.h"

namespace pagoda {

BlockHash hash_block(BlockHash parent, std::span<const TokenId> tokens, uint64_t adapter_key) {
    uint64_t h = mix64(parent ^ 0x2545f4914f6cdd1dull);
    h = mix64(h ^ (uint64_t{tokens.size()} << 32));
    h = mix64(h ^ adapter_key);
    for (TokenId t : tokens) h = mix64(h + static_cast<uint32_t>(t) + 0x9e3779b97f4a7c15ull);
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
