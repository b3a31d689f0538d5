// CUDA graphs for decode steps: the ~20 launches per layer of a decode step cost more
// in launch overhead than the kernels take at batch 1, so a decode-only step is recorded
// instead of launched, and end_step() replays it as one graph.
//
// How: begin_step() starts recording when the step qualifies (decode only, graphs
// enabled); ops then call record() with their launch function and its POD arguments
// instead of launching. finish() looks up the cached graph for the step's key
// (n_tokens, n_seqs, max_blocks_per_seq bucket):
//  - the recorded launches equal the cached ones byte for byte (same functions, same
//    arguments: same weights, activations, workspace and step-metadata buffers, which
//    begin_step() refreshed in place): launch the cached graph;
//  - otherwise, from the second time a key is seen: capture the launches into a graph,
//    update the cached executable in place (cudaGraphExecUpdate) or instantiate a new
//    one, and launch it;
//  - the first time, or when capture, instantiation or launch fails: launch them eagerly,
//    exactly as without graphs (a failure is reported once on stderr; then graphs stay off).
// flush() launches what was recorded eagerly and ends recording for the rest of the
// step: the backend calls it before anything that must not overtake recorded launches
// (an op that launches directly, host copies, buffer growth).
//
// Off unless PAGODA_CUDA_GRAPHS=1 is in the environment (not yet verified on a GPU).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace pagoda::cuda {

struct GraphKey {
    int32_t n_tokens = 0;
    int32_t n_seqs = 0;
    int32_t blocks_bucket = 0;  // max_blocks_per_seq rounded up to a multiple of 64
    bool operator==(const GraphKey&) const = default;
};

struct GraphStats {
    uint64_t graph_launches = 0;  // steps replayed from a cached graph without capture
    uint64_t captures = 0;        // steps captured (new graph or updated one) and launched
    uint64_t eager_steps = 0;     // recorded steps launched eagerly (first sight, flush, failure)
};

// The first failed launch of an eager run, with its op name.
struct LaunchOutcome {
    cudaError_t err = cudaSuccess;
    const char* op = "";
};

class StepGraphs {
public:
    StepGraphs() = default;
    StepGraphs(const StepGraphs&) = delete;
    StepGraphs& operator=(const StepGraphs&) = delete;
    ~StepGraphs();

    // Reads PAGODA_CUDA_GRAPHS; `enabled` false turns graphs off regardless.
    void configure(bool enabled);
    bool enabled() const { return enabled_ && env_allows_ && !broken_; }
    void set_enabled(bool enabled) { enabled_ = enabled; }

    void begin(const GraphKey& key);
    bool recording() const { return recording_; }

    template <typename A>
    void record(cudaError_t (*fn)(const A&, cudaStream_t), const A& args, const char* op) {
        static_assert(std::is_trivially_copyable_v<A> && std::is_default_constructible_v<A>);
        Launch l;
        l.fn = reinterpret_cast<void (*)()>(fn);
        l.invoke = &invoke<A>;
        l.offset = static_cast<uint32_t>(args_.size());
        l.size = static_cast<uint32_t>(sizeof(A));
        l.op = op;
        args_.resize(args_.size() + sizeof(A));
        std::memcpy(args_.data() + l.offset, &args, sizeof(A));
        launches_.push_back(l);
    }

    // Launches everything recorded (graph or eager) and ends recording.
    LaunchOutcome finish(cudaStream_t stream);
    // Launches everything recorded eagerly and ends recording for this step.
    LaunchOutcome flush(cudaStream_t stream);
    // Drops what was recorded without launching it (the step failed before end_step).
    void discard();

    const GraphStats& stats() const { return stats_; }

private:
    struct Launch {
        void (*fn)() = nullptr;
        cudaError_t (*invoke)(void (*)(), const unsigned char*, cudaStream_t) = nullptr;
        uint32_t offset = 0;
        uint32_t size = 0;
        const char* op = "";
    };
    struct Cached {
        GraphKey key;
        cudaGraphExec_t exec = nullptr;
        std::vector<void (*)()> fns;  // signature of the launches the executable holds
        std::vector<uint32_t> sizes;
        std::vector<unsigned char> args;
        uint64_t last_use = 0;
        int seen = 0;
    };

    template <typename A>
    static cudaError_t invoke(void (*fn)(), const unsigned char* args, cudaStream_t stream) {
        A a;
        std::memcpy(&a, args, sizeof(A));
        return reinterpret_cast<cudaError_t (*)(const A&, cudaStream_t)>(fn)(a, stream);
    }

    LaunchOutcome run_eager(cudaStream_t stream);
    bool matches(const Cached& c) const;
    bool capture_and_launch(Cached& c, cudaStream_t stream);
    Cached& entry(const GraphKey& key);
    void give_up(const char* what, cudaError_t err);
    void clear();

    bool enabled_ = false;
    bool env_allows_ = true;
    bool broken_ = false;  // a capture failed: graphs stay off for this backend
    bool recording_ = false;
    GraphKey key_;
    std::vector<Launch> launches_;
    std::vector<unsigned char> args_;
    std::vector<Cached> cache_;
    uint64_t clock_ = 0;
    GraphStats stats_;
};

}  // namespace pagoda::cuda
