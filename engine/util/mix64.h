// splitmix64's finaliser: every input bit affects every output bit. The engine's hashes
// (prefix-cache blocks, adapter-set keys) and seed derivation build on it.
#pragma once

#include <cstdint>

namespace pagoda {

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

}  // namespace pagoda
