// The CPU backend's thread pool: every task runs exactly once, on a valid thread index,
// across many back-to-back jobs (the barrier between them), nested calls, and ranges.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "backend/cpu/thread_pool.h"

namespace pagoda::cpu {
namespace {

TEST(CpuThreadPool, EveryTaskRunsOnceOnAValidThread) {
    for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        EXPECT_EQ(pool.size(), threads);
        std::vector<std::atomic<int>> hits(1000);
        std::atomic<bool> bad_thread{false};
        pool.run(1000, [&](int64_t task, int thread) {
            hits[static_cast<size_t>(task)].fetch_add(1);
            if (thread < 0 || thread >= threads) bad_thread = true;
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
        EXPECT_FALSE(bad_thread.load());
    }
}

TEST(CpuThreadPool, ManySmallJobsBackToBack) {
    ThreadPool pool(3);
    std::vector<int64_t> values(64, 0);
    for (int job = 0; job < 1000; ++job) {
        // Each job reads what the previous one wrote: the barrier must order them.
        pool.run(64, [&](int64_t task, int) { values[static_cast<size_t>(task)] += 1; });
    }
    for (int64_t v : values) EXPECT_EQ(v, 1000);
}

TEST(CpuThreadPool, ParallelForCoversTheRangeInChunks) {
    ThreadPool pool(3);
    for (int64_t n : {0, 1, 7, 100, 12345}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int64_t> smallest_chunk{n};
        pool.parallel_for(n, 10, [&](int64_t begin, int64_t end, int) {
            EXPECT_LT(begin, end);
            if (end < n) {
                int64_t cur = smallest_chunk.load();
                while (end - begin < cur && !smallest_chunk.compare_exchange_weak(cur, end - begin)) {
                }
            }
            for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
        if (n > 10) {
            EXPECT_GE(smallest_chunk.load(), 10);  // all but the last chunk respect the grain
        }
    }
}

TEST(CpuThreadPool, NestedRunsInlineOnTheSameThread) {
    ThreadPool pool(3);
    std::atomic<int> inner_total{0};
    std::atomic<bool> thread_changed{false};
    pool.run(6, [&](int64_t, int outer_thread) {
        pool.run(4, [&](int64_t, int inner_thread) {
            inner_total.fetch_add(1);
            if (inner_thread != outer_thread) thread_changed = true;
        });
    });
    EXPECT_EQ(inner_total.load(), 24);
    EXPECT_FALSE(thread_changed.load());
}

TEST(CpuThreadPool, PhysicalCoreCountIsPositive) { EXPECT_GE(physical_core_count(), 1); }

}  // namespace
}  // namespace pagoda::cpu
