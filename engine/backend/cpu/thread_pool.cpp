#include "backend/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <set>
#include <string>
#include <utility>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace pagoda::cpu {
namespace {

// Index of the pool thread running on this OS thread, or -1 outside any task.
thread_local int tls_pool_thread = -1;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// How a thread waits for a flag: spin briefly, then yield the core for a while, then
// sleep on the futex. Between two ops of one forward pass the gap is microseconds, about
// what a futex wake-up costs, so polling first pays. Yielding keeps an oversubscribed
// machine (more runnable threads than cores) from starving the thread being waited for.
class Backoff {
public:
    // Called once per poll that found nothing; true when it is time to sleep.
    bool should_sleep() {
        ++polls_;
        if (polls_ < kPausePolls) {
            cpu_relax();
            return false;
        }
        if (polls_ == kPausePolls) deadline_ = std::chrono::steady_clock::now() + kYieldTime;
        if (std::chrono::steady_clock::now() < deadline_) {
            std::this_thread::yield();
            return false;
        }
        return true;
    }

private:
    static constexpr int kPausePolls = 2000;  // ~10-100 us, depending on the CPU's pause
    static constexpr auto kYieldTime = std::chrono::microseconds(200);
    int polls_ = 0;
    std::chrono::steady_clock::time_point deadline_{};
};

#if defined(__linux__)
bool read_int_file(const std::string& path, long* out) {
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return false;
    const bool ok = std::fscanf(f, "%ld", out) == 1;
    std::fclose(f);
    return ok;
}
#endif

}  // namespace

int physical_core_count() {
    const int logical = static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        std::set<std::pair<long, long>> cores;  // (package, core)
        bool topology_known = true;
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (!CPU_ISSET(cpu, &set)) continue;
            const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
            long package = 0;
            long core = 0;
            if (!read_int_file(dir + "physical_package_id", &package) || !read_int_file(dir + "core_id", &core)) {
                topology_known = false;
                break;
            }
            cores.insert({package, core});
        }
        if (topology_known && !cores.empty()) return static_cast<int>(cores.size());
        const int allowed = CPU_COUNT(&set);
        if (allowed > 0) return allowed;
    }
#endif
    return logical > 0 ? logical : 1;
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::clamp(n_threads, 1, kMaxThreads)) {
    // When the OS refuses a thread, the pool runs with the ones it got.
    try {
        workers_.reserve(static_cast<size_t>(n_threads_ - 1));
        for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
    } catch (const std::exception&) {
    }
    n_threads_ = static_cast<int>(workers_.size()) + 1;
}

ThreadPool::~ThreadPool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
}

int64_t ThreadPool::chunk_size(int64_t n, int64_t grain) const {
    if (grain < 1) grain = 1;
    const int64_t target_chunks = 4 * static_cast<int64_t>(n_threads_);
    int64_t chunk = (n + target_chunks - 1) / target_chunks;
    return chunk < grain ? grain : chunk;
}

void ThreadPool::run_tasks(int thread) {
    for (;;) {
        const int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (task >= job_n_tasks_) return;
        job_fn_(job_ctx_, task, thread);
    }
}

void ThreadPool::run_erased(int64_t n_tasks, TaskFn fn, void* ctx) {
    if (n_tasks <= 0) return;
    // Serial cases: one thread, one task, or a nested call from inside a task (the
    // workers are busy with the outer job, so the inner one runs on this thread).
    if (n_threads_ == 1 || n_tasks == 1 || tls_pool_thread >= 0) {
        const int thread = tls_pool_thread >= 0 ? tls_pool_thread : 0;
        const int saved = tls_pool_thread;
        tls_pool_thread = thread;
        for (int64_t t = 0; t < n_tasks; ++t) fn(ctx, t, thread);
        tls_pool_thread = saved;
        return;
    }

    job_fn_ = fn;
    job_ctx_ = ctx;
    job_n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    pending_workers_.store(n_threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();

    tls_pool_thread = 0;
    run_tasks(0);
    tls_pool_thread = -1;

    // Wait for the workers: they may still be finishing a task they took.
    Backoff backoff;
    for (;;) {
        const int32_t left = pending_workers_.load(std::memory_order_acquire);
        if (left == 0) return;
        if (backoff.should_sleep()) pending_workers_.wait(left, std::memory_order_acquire);
    }
}

void ThreadPool::worker_loop(int thread) {
    tls_pool_thread = thread;
    uint32_t seen = 0;
    for (;;) {
        // Wait for a new generation: poll for a while, then sleep.
        uint32_t gen = generation_.load(std::memory_order_acquire);
        if (gen == seen) {
            Backoff backoff;
            while ((gen = generation_.load(std::memory_order_acquire)) == seen) {
                if (backoff.should_sleep()) generation_.wait(seen, std::memory_order_acquire);
            }
        }
        seen = gen;
        if (stop_.load(std::memory_order_relaxed)) return;
        run_tasks(thread);
        if (pending_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_workers_.notify_one();
    }
}

}  // namespace pagoda::cpu
