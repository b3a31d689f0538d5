#include "kv/block_allocator.h"

#include <cstdio>
#include <cstdlib>

namespace pagoda {

BlockAllocator::BlockAllocator(int32_t n_blocks) : in_use_(static_cast<size_t>(n_blocks > 0 ? n_blocks : 0), false) {
    for (int32_t i = 0; i < n_blocks; ++i) free_.push_back(i);
}

std::optional<int32_t> BlockAllocator::allocate() {
    if (free_.empty()) return std::nullopt;
    const int32_t block = free_.front();
    free_.pop_front();
    in_use_[static_cast<size_t>(block)] = true;
    return block;
}

void BlockAllocator::free(int32_t block) {
    // Checked in every build type (DESIGN.md: bad block ids assert everywhere).
    if (block < 0 || block >= n_blocks() || !in_use_[static_cast<size_t>(block)]) {
        std::fprintf(stderr, "BlockAllocator: freeing block %d that is not in use\n", block);
        std::abort();
    }
    in_use_[static_cast<size_t>(block)] = false;
    free_.push_back(block);
}

}  // namespace pagoda
