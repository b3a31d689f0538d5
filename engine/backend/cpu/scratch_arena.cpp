#include "backend/cpu/scratch_arena.h"

#include <algorithm>

#if defined(__linux__)
#include <unistd.h>
#endif

namespace pagoda::cpu {

uint64_t host_memory_bytes() {
#if defined(__linux__)
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
#endif
    return UINT64_MAX;
}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
        release();
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

bool AlignedBuffer::reserve(size_t bytes) {
    if (bytes <= size_) return true;
    release();
    // Round up so a later, slightly larger request does not reallocate.
    const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    if (rounded < bytes) return false;  // overflow
    void* p = ::operator new(rounded, std::align_val_t(kAlign), std::nothrow);
    if (!p) return false;
    data_ = static_cast<std::byte*>(p);
    size_ = rounded;
    return true;
}

void AlignedBuffer::release() {
    if (data_) ::operator delete(data_, std::align_val_t(kAlign));
    data_ = nullptr;
    size_ = 0;
}

void* ScratchArena::allocate(size_t bytes) {
    const size_t rounded = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    if (rounded < bytes) return nullptr;
    if (!chunks_.empty()) {
        Chunk& last = chunks_.back();
        if (last.memory.size() - last.used >= rounded) {
            void* p = last.memory.data() + last.used;
            last.used += rounded;
            return p;
        }
    }
    Chunk chunk;
    // Grow geometrically so a step that outgrows the arena needs few chunks.
    const size_t want = std::max({rounded, min_chunk_, capacity()});
    if (!chunk.memory.reserve(want) && !chunk.memory.reserve(rounded)) return nullptr;
    chunk.used = rounded;
    void* p = chunk.memory.data();
    try {
        chunks_.push_back(std::move(chunk));
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
    return p;
}

void ScratchArena::reset() {
    if (chunks_.size() > 1) {
        const size_t total = capacity();
        chunks_.clear();
        Chunk merged;
        if (merged.memory.reserve(total)) chunks_.push_back(std::move(merged));
        return;
    }
    for (Chunk& c : chunks_) c.used = 0;
}

size_t ScratchArena::capacity() const {
    size_t total = 0;
    for (const Chunk& c : chunks_) total += c.memory.size();
    return total;
}

}  // namespace pagoda::cpu
