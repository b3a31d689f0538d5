// Per-op timing and graph controls for benchmarks, behind a CUDA-free header (bench/
// includes no CUDA headers). Each entry fails cleanly when the Backend is not the CUDA one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "pagoda/status.h"

namespace pagoda {

// Times the backend's stream by op kind: mark(kind) records an event; the stream's work
// between it and the next mark counts as `kind`. Only meaningful with CUDA graphs off
// (a recorded graph step launches at end_step, after all the marks).
class CudaOpProfiler {
public:
    static Result<std::unique_ptr<CudaOpProfiler>> create(Backend& backend);
    ~CudaOpProfiler();
    CudaOpProfiler(const CudaOpProfiler&) = delete;
    CudaOpProfiler& operator=(const CudaOpProfiler&) = delete;

    void mark(const char* kind);
    // Waits for the last mark and adds the intervals since the first to the totals.
    Status collect();
    void reset();

    struct Row {
        std::string kind;
        double ms = 0.0;    // summed over every collected interval
        int64_t count = 0;  // intervals
    };
    std::vector<Row> totals() const;  // in order of first appearance

    struct Impl;

private:
    explicit CudaOpProfiler(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Turns CUDA graphs for decode steps on or off (they start off unless PAGODA_CUDA_GRAPHS=1).
Status cuda_set_graphs(Backend& backend, bool enabled);
// "graphs on: 61 replayed, 2 captured, 4 eager" (or "graphs off ...").
std::string cuda_graph_summary(const Backend& backend);

}  // namespace pagoda
