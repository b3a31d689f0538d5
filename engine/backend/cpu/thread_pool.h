// A persistent pool of worker threads for the CPU backend's ops.
//
// A decode step runs a few hundred small parallel regions (several per layer), so the
// cost of starting one matters: workers spin briefly on a generation counter before they
// sleep on it (a futex through std::atomic::wait), and the calling thread takes part in
// every region as worker 0. Tasks are handed out by an atomic counter, so uneven tasks
// balance themselves. Which thread runs a task never changes what the task computes, so
// results do not depend on the thread count.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace pagoda::cpu {

// Physical cores this process may run on (hyper-threads counted once);
// std::thread::hardware_concurrency() when the topology cannot be read.
int physical_core_count();

class ThreadPool {
public:
    static constexpr int kMaxThreads = 1024;

    // n_threads counts the calling thread; it is clamped to [1, kMaxThreads], and the pool
    // makes do with fewer when the OS refuses to start more.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(task, thread) for every task in [0, n_tasks) and returns when all are done.
    // thread is in [0, size()). Called from inside a task, it runs the tasks inline.
    template <typename F>
    void run(int64_t n_tasks, F&& fn) {
        using Fn = std::remove_reference_t<F>;
        run_erased(
            n_tasks, [](void* ctx, int64_t task, int thread) { (*static_cast<Fn*>(ctx))(task, thread); },
            const_cast<void*>(static_cast<const void*>(&fn)));
    }

    // Splits [0, n) into about 4 chunks per thread, each at least `grain` long, and calls
    // fn(begin, end, thread) for each.
    template <typename F>
    void parallel_for(int64_t n, int64_t grain, F&& fn) {
        if (n <= 0) return;
        const int64_t chunk = chunk_size(n, grain);
        const int64_t n_chunks = (n + chunk - 1) / chunk;
        run(n_chunks, [&](int64_t c, int thread) {
            const int64_t begin = c * chunk;
            const int64_t end = begin + chunk < n ? begin + chunk : n;
            fn(begin, end, thread);
        });
    }

private:
    using TaskFn = void (*)(void* ctx, int64_t task, int thread);

    int64_t chunk_size(int64_t n, int64_t grain) const;
    void run_erased(int64_t n_tasks, TaskFn fn, void* ctx);
    void run_tasks(int thread);
    void worker_loop(int thread);

    int n_threads_ = 1;
    std::vector<std::thread> workers_;

    // The current job, published by the release increment of generation_.
    TaskFn job_fn_ = nullptr;
    void* job_ctx_ = nullptr;
    int64_t job_n_tasks_ = 0;
    alignas(64) std::atomic<int64_t> next_task_{0};
    alignas(64) std::atomic<uint32_t> generation_{0};
    alignas(64) std::atomic<int32_t> pending_workers_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace pagoda::cpu
