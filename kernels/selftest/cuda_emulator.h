// A tiny CUDA emulator for checking the backend's kernels on machines without a GPU.
//
// The kernel sources (kernels/*.cu) are compiled as plain C++ after this header: every
// CUDA thread becomes a std::thread, blocks run one after another, __syncthreads and
// __syncwarp are std::barriers, warp shuffles go through a per-warp exchange slot, and
// __shared__ variables are statics (one block runs at a time). Slow and only for small
// shapes, but it executes the real kernel code, index arithmetic and synchronization
// included, against the CPU backend (kernel_emulation_check.cpp).
//
// Include it before any kernel source, in a translation unit that does not also link the
// real kernels under the same names (the check renames namespace pagoda::cuda).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace pagoda::emu {

struct WarpState {
    explicit WarpState(int lanes) : barrier(lanes) {}
    std::barrier<> barrier;
    float f32[32] = {};
    int i32[32] = {};
};

struct BlockState {
    dim3 grid, block;
    uint3 index{};
    std::unique_ptr<std::barrier<>> barrier;
    std::vector<std::unique_ptr<WarpState>> warps;
    std::vector<unsigned char> dynamic_smem;
};

struct ThreadState {
    BlockState* block = nullptr;
    uint3 index{};
    int linear = 0;
};

inline thread_local ThreadState t_thread;

inline WarpState& my_warp() { return *t_thread.block->warps[static_cast<size_t>(t_thread.linear / 32)]; }
inline int my_lane() { return t_thread.linear % 32; }

// Runs body() as every thread of every block of the grid.
template <typename Body>
void run_grid(dim3 grid, dim3 block, size_t smem_bytes, const Body& body) {
    const int n_threads = static_cast<int>(block.x * block.y * block.z);
    for (unsigned bz = 0; bz < grid.z; ++bz) {
        for (unsigned by = 0; by < grid.y; ++by) {
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                BlockState b;
                b.grid = grid;
                b.block = block;
                b.index = make_uint3(bx, by, bz);
                b.barrier = std::make_unique<std::barrier<>>(n_threads);
                for (int w = 0; w * 32 < n_threads; ++w) {
                    b.warps.push_back(std::make_unique<WarpState>(std::min(32, n_threads - 32 * w)));
                }
                b.dynamic_smem.assign(smem_bytes + 16, 0);
                std::vector<std::thread> threads;
                threads.reserve(static_cast<size_t>(n_threads));
                for (int t = 0; t < n_threads; ++t) {
                    threads.emplace_back([&b, &body, t, &block] {
                        t_thread.block = &b;
                        t_thread.linear = t;
                        t_thread.index = make_uint3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
                        body();
                        // An exited thread no longer holds back barriers (as on the GPU).
                        my_warp().barrier.arrive_and_drop();
                        b.barrier->arrive_and_drop();
                    });
                }
                for (auto& th : threads) th.join();
            }
        }
    }
}

template <typename Kernel>
struct Launch {
    dim3 grid, block;
    size_t smem;
    Kernel kernel;
    template <typename... Args>
    void operator()(Args... args) const {
        run_grid(grid, block, smem, [&] { kernel(args...); });
    }
};
template <typename Kernel>
Launch<Kernel> make_launch(dim3 grid, dim3 block, size_t smem, Kernel kernel) {
    return {grid, block, smem, kernel};
}

inline void* dynamic_smem() { return t_thread.block->dynamic_smem.data(); }

inline void syncthreads() { t_thread.block->barrier->arrive_and_wait(); }
inline void syncwarp() { my_warp().barrier.arrive_and_wait(); }

inline float shfl_xor(float v, int lane_mask) {
    WarpState& w = my_warp();
    const int lane = my_lane();
    w.f32[lane] = v;
    w.barrier.arrive_and_wait();
    const float r = w.f32[lane ^ lane_mask];
    w.barrier.arrive_and_wait();
    return r;
}

inline int dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; ++i) {
        c += static_cast<int>(static_cast<int8_t>(a >> (8 * i))) * static_cast<int>(static_cast<int8_t>(b >> (8 * i)));
    }
    return c;
}

}  // namespace pagoda::emu

// ---- CUDA C++ as plain C++ ---------------------------------------------------------------
#define PAGODA_CUDA_EMULATION 1
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __forceinline__
#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __forceinline__ inline
#define __launch_bounds__(...)
#undef __grid_constant__
#define __grid_constant__

#define threadIdx (::pagoda::emu::t_thread.index)
#define blockIdx (::pagoda::emu::t_thread.block->index)
#define blockDim (::pagoda::emu::t_thread.block->block)
#define gridDim (::pagoda::emu::t_thread.block->grid)
#define __syncthreads() ::pagoda::emu::syncthreads()
#define __syncwarp(...) ::pagoda::emu::syncwarp()
#define __shfl_xor_sync(mask, v, lane_mask) ::pagoda::emu::shfl_xor(v, lane_mask)
#define __dp4a(a, b, c) ::pagoda::emu::dp4a(a, b, c)
#define __expf(x) std::exp(x)
#define rsqrtf(x) (1.0f / std::sqrt(x))
#define cudaGetLastError() cudaSuccess
#define cudaFuncSetAttribute(...) cudaSuccess

#define PAGODA_LAUNCH(grid, block, smem, stream, ...) ::pagoda::emu::make_launch(grid, block, smem, __VA_ARGS__)
#define PAGODA_DYNAMIC_SMEM(type, name) type* name = static_cast<type*>(::pagoda::emu::dynamic_smem())
