#include "cuda_bench_profile.h"

#include <map>

#include "cuda_backend.h"

namespace pagoda {

struct CudaOpProfiler::Impl {
    cudaStream_t stream = nullptr;
    std::vector<cudaEvent_t> events;  // pool, reused every collect()
    std::vector<const char*> kinds;   // kinds[i] starts at events[i]
    std::vector<Row> rows;
    std::map<std::string, size_t> index;
};

CudaOpProfiler::CudaOpProfiler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CudaOpProfiler::~CudaOpProfiler() {
    for (cudaEvent_t e : impl_->events) cudaEventDestroy(e);
}

Result<std::unique_ptr<CudaOpProfiler>> CudaOpProfiler::create(Backend& backend) {
    auto* c = dynamic_cast<cuda::CudaBackend*>(&backend);
    if (!c) return invalid_argument("CudaOpProfiler: not a CUDA backend");
    auto impl = std::make_unique<Impl>();
    impl->stream = c->stream();
    return std::unique_ptr<CudaOpProfiler>(new CudaOpProfiler(std::move(impl)));
}

void CudaOpProfiler::mark(const char* kind) {
    Impl& m = *impl_;
    const size_t i = m.kinds.size();
    if (i == m.events.size()) {
        cudaEvent_t e = nullptr;
        if (cudaEventCreate(&e) != cudaSuccess) {
            cudaGetLastError();
            return;
        }
        m.events.push_back(e);
    }
    if (cudaEventRecord(m.events[i], m.stream) != cudaSuccess) {
        cudaGetLastError();
        return;
    }
    m.kinds.push_back(kind);
}

Status CudaOpProfiler::collect() {
    Impl& m = *impl_;
    const size_t n = m.kinds.size();
    if (n >= 2) {
        const cudaError_t err = cudaEventSynchronize(m.events[n - 1]);
        if (err != cudaSuccess) {
            m.kinds.clear();
            return cuda::cuda_status(err, "CudaOpProfiler");
        }
        for (size_t i = 0; i + 1 < n; ++i) {
            float ms = 0.0f;
            if (cudaEventElapsedTime(&ms, m.events[i], m.events[i + 1]) != cudaSuccess) {
                cudaGetLastError();
                continue;
            }
            auto [it, added] = m.index.try_emplace(m.kinds[i], m.rows.size());
            if (added) m.rows.push_back({m.kinds[i], 0.0, 0});
            Row& r = m.rows[it->second];
            r.ms += ms;
            ++r.count;
        }
    }
    m.kinds.clear();
    return Status::ok();
}

void CudaOpProfiler::reset() {
    impl_->kinds.clear();
    impl_->rows.clear();
    impl_->index.clear();
}

std::vector<CudaOpProfiler::Row> CudaOpProfiler::totals() const { return impl_->rows; }

Status cuda_set_graphs(Backend& backend, bool enabled) {
    auto* c = dynamic_cast<cuda::CudaBackend*>(&backend);
    if (!c) return invalid_argument("cuda_set_graphs: not a CUDA backend");
    c->set_graphs_enabled(enabled);
    return Status::ok();
}

std::string cuda_graph_summary(const Backend& backend) {
    const auto* c = dynamic_cast<const cuda::CudaBackend*>(&backend);
    if (!c) return "graphs: not a CUDA backend";
    const cuda::GraphStats& s = c->graph_stats();
    return std::string(c->graphs_enabled() ? "graphs on" : "graphs off") + ": " + std::to_string(s.graph_launches) +
           " steps replayed, " + std::to_string(s.captures) + " captured, " + std::to_string(s.eager_steps) +
           " recorded steps run eagerly";
}

}  // namespace pagoda
