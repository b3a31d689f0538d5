#include "device_arena.h"

#include <algorithm>

namespace pagoda::cuda {
namespace {

constexpr size_t kMinChunk = 64ull << 20;

std::string mib(size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

std::string cuda_error_string(cudaError_t err) {
    return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")";
}

Status cuda_status(cudaError_t err, const std::string& context) {
    if (err == cudaSuccess) return Status::ok();
    const std::string message = context + ": " + cuda_error_string(err);
    if (err == cudaErrorMemoryAllocation) return out_of_memory(message);
    return internal_error(message);
}

// ---- DeviceArena ----------------------------------------------------------------------

DeviceArena::~DeviceArena() { free_all(); }

void DeviceArena::free_all() {
    if (!chunks_.empty() && stream_) cudaStreamSynchronize(stream_);
    for (Chunk& c : chunks_) cudaFree(c.base);
    chunks_.clear();
    current_ = 0;
}

Status DeviceArena::reserve(size_t bytes) {
    bytes = align_up(bytes);
    for (const Chunk& c : chunks_) {
        if (c.size >= bytes) return Status::ok();
    }
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
        cudaGetLastError();  // clear the sticky-free allocation error
        return out_of_memory("activation arena: cannot allocate " + mib(bytes) +
                             " of GPU memory: " + cuda_error_string(err));
    }
    chunks_.push_back({static_cast<char*>(p), bytes, 0});
    return Status::ok();
}

Result<void*> DeviceArena::allocate(size_t bytes) {
    bytes = align_up(std::max<size_t>(bytes, 1));
    for (; current_ < chunks_.size(); ++current_) {
        Chunk& c = chunks_[current_];
        if (c.size - c.used >= bytes) {
            void* p = c.base + c.used;
            c.used += bytes;
            in_use_ += bytes;
            high_water_ = std::max(high_water_, in_use_);
            return p;
        }
    }
    // Out of room: one more chunk, at least as big as everything so far.
    size_t total = 0;
    for (const Chunk& c : chunks_) total += c.size;
    const size_t size = align_up(std::max({bytes, total, kMinChunk}));
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, size);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return out_of_memory("activation arena: cannot grow by " + mib(size) + " of GPU memory (" + mib(total) +
                             " in use): " + cuda_error_string(err));
    }
    chunks_.push_back({static_cast<char*>(p), size, bytes});
    current_ = chunks_.size() - 1;
    in_use_ += bytes;
    high_water_ = std::max(high_water_, in_use_);
    return p;
}

void DeviceArena::reset() {
    if (chunks_.size() > 1) {
        // Merge: one chunk of the high-water size serves the next steps without growing.
        const size_t want = align_up(high_water_);
        free_all();
        (void)reserve(want);  // failure here surfaces as an allocate() error later
    }
    for (Chunk& c : chunks_) c.used = 0;
    current_ = 0;
    in_use_ = 0;
}

size_t DeviceArena::capacity() const {
    size_t total = 0;
    for (const Chunk& c : chunks_) total += c.size;
    return total;
}

// ---- DeviceBuffer / PinnedBuffer --------------------------------------------------------

DeviceBuffer::~DeviceBuffer() { release(); }

void DeviceBuffer::release() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    size_ = 0;
}

Result<void*> DeviceBuffer::get(size_t bytes, cudaStream_t stream, const char* what) {
    if (bytes <= size_ && ptr_) return ptr_;
    // Grow by at least half again, so a slowly rising need does not reallocate every step.
    const size_t size = align_up(std::max(bytes, size_ + size_ / 2));
    if (ptr_) {
        cudaStreamSynchronize(stream);  // kernels queued earlier may still use the old buffer
        cudaFree(ptr_);
        ptr_ = nullptr;
        size_ = 0;
    }
    const cudaError_t err = cudaMalloc(&ptr_, size);
    if (err != cudaSuccess) {
        cudaGetLastError();
        ptr_ = nullptr;
        return out_of_memory(std::string(what) + ": cannot allocate " + mib(size) +
                             " of GPU memory: " + cuda_error_string(err));
    }
    size_ = size;
    return ptr_;
}

PinnedBuffer::~PinnedBuffer() {
    if (ptr_) cudaFreeHost(ptr_);
}

Result<void*> PinnedBuffer::get(size_t bytes, cudaStream_t stream, const char* what) {
    if (bytes <= size_ && ptr_) return ptr_;
    const size_t size = align_up(std::max({bytes, size_ + size_ / 2, size_t{64} << 10}));
    if (ptr_) {
        cudaStreamSynchronize(stream);
        cudaFreeHost(ptr_);
        ptr_ = nullptr;
        size_ = 0;
    }
    const cudaError_t err = cudaHostAlloc(&ptr_, size, cudaHostAllocDefault);
    if (err != cudaSuccess) {
        cudaGetLastError();
        ptr_ = nullptr;
        return out_of_memory(std::string(what) + ": cannot allocate " + mib(size) +
                             " of pinned host memory: " + cuda_error_string(err));
    }
    size_ = size;
    return ptr_;
}

}  // namespace pagoda::cuda
