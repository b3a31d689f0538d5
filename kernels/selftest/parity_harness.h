// CUDA-vs-CPU parity checks, usable with or without GoogleTest: the standalone
// pagoda-gpu-selftest (for GPU machines without gtest) and tests/kernels (label gpu)
// run the very same cases.
//
// A case runs one op sequence on the CPU backend (the reference) and on the CUDA
// backend with identical inputs and compares outputs by normalized MSE,
// sum((gpu - cpu)^2) / sum(cpu^2), against a per-op threshold.
// Cases are enumerated without touching the GPU (test discovery works anywhere).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_backend.h"
#include "parity_util.h"

namespace pagoda::gpu_parity {

struct Backends {
    Backend& cpu;
    Backend& gpu;
    cuda::CudaBackend* cuda = nullptr;  // gpu as the CUDA backend; null in CPU-vs-CPU mode

    // Picks a CUDA kernel path (no effect in CPU-vs-CPU mode).
    void set_cuda_options(const cuda::CudaDebugOptions& options) {
        if (cuda) cuda->set_debug_options(options);
    }
};

struct ParityCase {
    std::string name;    // letters, digits and '_' only (a gtest name)
    bool quick = false;  // in the reduced set (compute-sanitizer runs)
    std::function<CaseResult(Backends&)> run;
};

// Every case, in a stable order. Never touches the GPU.
const std::vector<ParityCase>& all_cases();

// The backends, created on first use and shared by all cases of the process.
class Session {
public:
    static Session& get();
    // Instead of a GPU, a second CPU backend plays the device: checks the harness and
    // the cases themselves on machines without one. Call before get().
    static void use_cpu_as_device();
    bool has_gpu() const { return gpu_ != nullptr; }
    const std::string& no_gpu_reason() const { return reason_; }
    // Runs a case with fresh debug options; frees its weights and scratch afterwards.
    CaseResult run(const ParityCase& c);

private:
    Session();
    std::unique_ptr<Backend> cpu_;
    std::unique_ptr<Backend> gpu_owner_;
    Backend* gpu_ = nullptr;
    cuda::CudaBackend* cuda_ = nullptr;
    std::string reason_;
};

// ---- helpers the case files share ---------------------------------------------------

// An op sequence run on one backend, leaving its outputs (concatenated) in `out`.
using OpRun = std::function<Status(Backend& b, std::vector<float>& out)>;
// Runs `op` on both backends and compares.
CaseResult compare_runs(Backends& b, const OpRun& op, double threshold);

// Upload helpers that turn failures into Status.
Result<Tensor> upload(Backend& b, const std::vector<float>& values, int64_t rows, int64_t cols);
Result<std::vector<float>> download(Backend& b, const Tensor& t);

// Case lists of each family (parity_cases_*.cpp).
void add_op_cases(std::vector<ParityCase>& cases);
void add_matmul_cases(std::vector<ParityCase>& cases);
void add_attention_cases(std::vector<ParityCase>& cases);
void add_model_cases(std::vector<ParityCase>& cases);
void add_lora_cases(std::vector<ParityCase>& cases);
void add_sampling_cases(std::vector<ParityCase>& cases);

}  // namespace pagoda::gpu_parity
