// Host memory helpers for the CPU backend: a 64-byte aligned growable buffer for an op's
// temporary data, and the bump arena behind alloc_activations().
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace pagoda::cpu {

inline constexpr size_t kAlign = 64;

// Physical memory of this machine in bytes (UINT64_MAX when unknown): requests above it
// are refused up front rather than left to overcommit and the OOM killer.
uint64_t host_memory_bytes();

// Owns one 64-byte aligned block; reserve() grows it (dropping the contents) and never throws.
class AlignedBuffer {
public:
    AlignedBuffer() = default;
    ~AlignedBuffer() { release(); }
    AlignedBuffer(AlignedBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
        other.data_ = nullptr;
        other.size_ = 0;
    }
    AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;

    // False when the memory cannot be had; the buffer is then empty.
    bool reserve(size_t bytes);
    void release();

    std::byte* data() const { return data_; }
    size_t size() const { return size_; }
    template <typename T>
    T* as() const {
        return reinterpret_cast<T*>(data_);
    }

private:
    std::byte* data_ = nullptr;
    size_t size_ = 0;
};

// Bump allocator for activations. Memory handed out stays valid until reset(); when a
// step needed more than one chunk, reset() merges them into one chunk of the total size,
// so steady-state steps allocate nothing.
class ScratchArena {
public:
    explicit ScratchArena(size_t first_chunk_bytes = size_t{16} << 20) : min_chunk_(first_chunk_bytes) {}

    // 64-byte aligned; nullptr when the memory cannot be had.
    void* allocate(size_t bytes);
    void reset();
    size_t capacity() const;

private:
    struct Chunk {
        AlignedBuffer memory;
        size_t used = 0;
    };
    std::vector<Chunk> chunks_;
    size_t min_chunk_;
};

}  // namespace pagoda::cpu
