#include "cuda_graph_step.h"

#include <cstdio>
#include <cstdlib>

namespace pagoda::cuda {
namespace {

// Executables kept; each holds a step's worth of nodes (~700 for an 8B model).
constexpr size_t kMaxCachedGraphs = 16;

}  // namespace

StepGraphs::~StepGraphs() {
    for (Cached& c : cache_) {
        if (c.exec) cudaGraphExecDestroy(c.exec);
    }
}

void StepGraphs::configure(bool enabled) {
    // Opt-in until graph replay has been verified on a GPU (it has only run on the host
    // emulator): PAGODA_CUDA_GRAPHS=1 turns it on.
    const char* env = std::getenv("PAGODA_CUDA_GRAPHS");
    env_allows_ = env && env[0] == '1' && env[1] == '\0';
    enabled_ = enabled;
}

void StepGraphs::begin(const GraphKey& key) {
    clear();
    if (!enabled()) return;
    key_ = key;
    recording_ = true;
}

void StepGraphs::clear() {
    recording_ = false;
    launches_.clear();
    args_.clear();
}

void StepGraphs::discard() { clear(); }

LaunchOutcome StepGraphs::run_eager(cudaStream_t stream) {
    LaunchOutcome out;
    for (const Launch& l : launches_) {
        const cudaError_t err = l.invoke(l.fn, args_.data() + l.offset, stream);
        if (err != cudaSuccess) {
            out = {err, l.op};
            break;
        }
    }
    return out;
}

LaunchOutcome StepGraphs::flush(cudaStream_t stream) {
    if (!recording_) return {};
    const LaunchOutcome out = run_eager(stream);
    if (!launches_.empty()) ++stats_.eager_steps;
    clear();
    return out;
}

bool StepGraphs::matches(const Cached& c) const {
    if (!c.exec || c.fns.size() != launches_.size() || c.args.size() != args_.size()) return false;
    for (size_t i = 0; i < launches_.size(); ++i) {
        if (c.fns[i] != launches_[i].fn || c.sizes[i] != launches_[i].size) return false;
    }
    return std::memcmp(c.args.data(), args_.data(), args_.size()) == 0;
}

StepGraphs::Cached& StepGraphs::entry(const GraphKey& key) {
    for (Cached& c : cache_) {
        if (c.key == key) return c;
    }
    if (cache_.size() >= kMaxCachedGraphs) {
        size_t lru = 0;
        for (size_t i = 1; i < cache_.size(); ++i) {
            if (cache_[i].last_use < cache_[lru].last_use) lru = i;
        }
        if (cache_[lru].exec) cudaGraphExecDestroy(cache_[lru].exec);
        cache_.erase(cache_.begin() + static_cast<std::ptrdiff_t>(lru));
    }
    cache_.emplace_back();
    cache_.back().key = key;
    return cache_.back();
}

void StepGraphs::give_up(const char* what, cudaError_t err) {
    cudaGetLastError();  // clear a sticky-free error so the eager launches report their own
    if (!broken_) {
        std::fprintf(stderr, "pagoda: CUDA graphs disabled, falling back to eager launches (%s: %s)\n", what,
                     cudaGetErrorString(err));
    }
    broken_ = true;
    for (Cached& c : cache_) {
        if (c.exec) cudaGraphExecDestroy(c.exec);
    }
    cache_.clear();
}

bool StepGraphs::capture_and_launch(Cached& c, cudaStream_t stream) {
    cudaError_t err = cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed);
    if (err != cudaSuccess) {
        give_up("begin capture", err);
        return false;
    }
    // Nothing runs during capture: on any failure below the eager run launches it all.
    const LaunchOutcome captured = run_eager(stream);
    cudaGraph_t graph = nullptr;
    err = cudaStreamEndCapture(stream, &graph);
    if (captured.err != cudaSuccess || err != cudaSuccess || !graph) {
        if (graph) cudaGraphDestroy(graph);
        give_up(captured.err != cudaSuccess ? captured.op : "end capture",
                captured.err != cudaSuccess ? captured.err : err);
        return false;
    }
    if (c.exec) {
        cudaGraphExecUpdateResultInfo info{};
        if (cudaGraphExecUpdate(c.exec, graph, &info) != cudaSuccess) {
            cudaGetLastError();  // a different topology: instantiate afresh
            cudaGraphExecDestroy(c.exec);
            c.exec = nullptr;
        }
    }
    if (!c.exec) {
        err = cudaGraphInstantiate(&c.exec, graph, 0);
        if (err != cudaSuccess) {
            c.exec = nullptr;
            cudaGraphDestroy(graph);
            give_up("instantiate", err);
            return false;
        }
    }
    cudaGraphDestroy(graph);
    err = cudaGraphLaunch(c.exec, stream);
    if (err != cudaSuccess) {
        give_up("graph launch", err);
        return false;
    }
    c.fns.resize(launches_.size());
    c.sizes.resize(launches_.size());
    for (size_t i = 0; i < launches_.size(); ++i) {
        c.fns[i] = launches_[i].fn;
        c.sizes[i] = launches_[i].size;
    }
    c.args = args_;
    ++stats_.captures;
    return true;
}

LaunchOutcome StepGraphs::finish(cudaStream_t stream) {
    if (!recording_) return {};
    recording_ = false;
    LaunchOutcome out;
    if (launches_.empty()) {
        clear();
        return out;
    }
    bool done = false;
    if (enabled()) {
        Cached& c = entry(key_);
        c.last_use = ++clock_;
        if (matches(c)) {
            const cudaError_t err = cudaGraphLaunch(c.exec, stream);
            if (err == cudaSuccess) {
                ++stats_.graph_launches;
                done = true;
            } else {
                give_up("graph launch", err);
            }
        } else if (++c.seen >= 2) {
            done = capture_and_launch(c, stream);
        }
    }
    if (!done) {
        out = run_eager(stream);
        ++stats_.eager_steps;
    }
    clear();
    return out;
}

}  // namespace pagoda::cuda
