// The prefix cache's key: a hash chain over full KV blocks. Block i's hash covers its
// parent's hash (block i - 1, or kRootBlockHash), its block_size token ids and the LoRA
// adapter the KV was computed with, so equal hashes mean equal prefixes (the pool also
// compares the tokens, so a 64-bit collision cannot hand out wrong KV).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pagoda/types.h"

namespace pagoda {

using BlockHash = uint64_t;

inline constexpr BlockHash kRootBlockHash = 0x9e3779b97f4a7c15ull;

BlockHash hash_block(BlockHash parent, std::span<const TokenId> tokens, int32_t adapter_id);

// Hashes of the full blocks of `tokens` (tokens.size() / block_size of them), in order.
std::vector<BlockHash> hash_full_blocks(std::span<const TokenId> tokens, int32_t block_size, int32_t adapter_id,
                                        size_t max_blocks = SIZE_MAX);

}  // namespace pagoda
