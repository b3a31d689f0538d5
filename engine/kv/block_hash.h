// The prefix cache's key: a hash chain over full KV blocks. Block i's hash covers its
// parent's hash (block i - 1, or kRootBlockHash), its block_size token ids and the key of
// the LoRA adapter set the KV was computed with (lora/adapter_set.h; 0 = base model), so
// equal hashes mean equal prefixes (the pool also compares the tokens and the adapter-set
// key, so a 64-bit collision of block hashes cannot hand out wrong KV).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pagoda/types.h"

namespace pagoda {

using BlockHash = uint64_t;

inline constexpr BlockHash kRootBlockHash = 0x9e3779b97f4a7c15ull;

BlockHash hash_block(BlockHash parent, std::span<const TokenId> tokens, uint64_t adapter_key);

// Hashes of the full blocks of `tokens` (tokens.size() / block_size of them), in order.
std::vector<BlockHash> hash_full_blocks(std::span<const TokenId> tokens, int32_t block_size, uint64_t adapter_key,
                                        size_t max_blocks = SIZE_MAX);

}  // namespace pagoda
