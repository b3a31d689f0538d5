// Device memory that is allocated rarely and handed out often.
//
// DeviceArena: the activation arena. Bump allocation out of chunks of device memory;
// reset() makes everything free again. A step that outgrows the arena gets one more
// chunk; the next reset() merges the chunks into one of the high-water size, so in a
// steady state no step calls cudaMalloc.
//
// DeviceBuffer: one growable allocation (per-op workspace, step metadata). Growing
// waits for the stream first, because kernels queued earlier may still read it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <vector>

#include "pagoda/status.h"

namespace pagoda::cuda {

constexpr size_t kDeviceAlign = 256;

inline size_t align_up(size_t n, size_t a = kDeviceAlign) { return (n + a - 1) / a * a; }

class DeviceArena {
public:
    DeviceArena() = default;
    DeviceArena(const DeviceArena&) = delete;
    DeviceArena& operator=(const DeviceArena&) = delete;
    ~DeviceArena();

    // Stream the arena's memory is used on (reset waits for it before freeing chunks).
    void set_stream(cudaStream_t stream) { stream_ = stream; }
    Status reserve(size_t bytes);  // makes sure one chunk of at least `bytes` exists
    Result<void*> allocate(size_t bytes);
    void reset();
    size_t capacity() const;

private:
    struct Chunk {
        char* base = nullptr;
        size_t size = 0;
        size_t used = 0;
    };
    void free_all();

    cudaStream_t stream_ = nullptr;
    std::vector<Chunk> chunks_;
    size_t current_ = 0;     // chunk allocations come from
    size_t high_water_ = 0;  // most bytes in use between two resets
    size_t in_use_ = 0;
};

class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer();

    // At least `bytes` of device memory; may sync `stream` and reallocate (contents lost).
    Result<void*> get(size_t bytes, cudaStream_t stream, const char* what);
    void release();
    size_t size() const { return ptr_ ? size_ : 0; }

private:
    void* ptr_ = nullptr;
    size_t size_ = 0;
};

// Page-locked host memory for async copies; same growth rule as DeviceBuffer.
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    ~PinnedBuffer();

    Result<void*> get(size_t bytes, cudaStream_t stream, const char* what);

private:
    void* ptr_ = nullptr;
    size_t size_ = 0;
};

// "cudaErrorMemoryAllocation (out of memory)".
std::string cuda_error_string(cudaError_t err);
// Maps a CUDA error to a Status: out_of_memory for allocation failures, internal otherwise.
Status cuda_status(cudaError_t err, const std::string& context);

}  // namespace pagoda::cuda
