#include "parity_harness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "backend/cpu/create_cpu_backend.h"
#include "create_cuda_backend.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda::gpu_parity {

const std::vector<ParityCase>& all_cases() {
    static const std::vector<ParityCase> cases = [] {
        std::vector<ParityCase> c;
        add_op_cases(c);
        add_matmul_cases(c);
        add_attention_cases(c);
        add_model_cases(c);
        add_lora_cases(c);
        add_sampling_cases(c);
        return c;
    }();
    return cases;
}

namespace {
bool g_cpu_as_device = false;
}

void Session::use_cpu_as_device() { g_cpu_as_device = true; }

Session& Session::get() {
    static Session session;
    return session;
}

Session::Session() {
    cpu_ = create_cpu_backend(0);
    if (g_cpu_as_device) {
        gpu_owner_ = create_cpu_backend(0);
        gpu_ = gpu_owner_.get();
        return;
    }
    auto gpu = create_cuda_backend(0);
    if (!gpu.is_ok()) {
        reason_ = gpu.status().message();
        return;
    }
    gpu_owner_ = std::move(gpu.value());
    gpu_ = gpu_owner_.get();
    cuda_ = static_cast<cuda::CudaBackend*>(gpu_);
}

CaseResult Session::run(const ParityCase& c) {
    if (!gpu_) return CaseResult::skip("no CUDA device: " + reason_);
    if (cuda_) cuda_->set_debug_options({});
    Backends b{*cpu_, *gpu_, cuda_};
    CaseResult r = c.run(b);
    // Leave nothing behind for the next case: a failed step, scratch, weights.
    (void)cpu_->end_step();
    (void)gpu_->end_step();
    cpu_->reset_scratch();
    gpu_->reset_scratch();
    if (cuda_) {
        cuda_->release_weights();
        cuda_->set_debug_options({});
    }
    return r;
}

CaseResult compare_runs(Backends& b, const OpRun& op, double threshold) {
    std::vector<float> ref, got;
    if (Status s = op(b.cpu, ref); !s) return CaseResult::fail("cpu backend: " + s.to_string());
    if (Status s = op(b.gpu, got); !s) return CaseResult::fail("cuda backend: " + s.to_string());
    return compare(got, ref, threshold);
}

Result<Tensor> upload(Backend& b, const std::vector<float>& values, int64_t rows, int64_t cols) {
    auto t = b.alloc_activations(rows, cols);
    if (!t.is_ok()) return t.status();
    PAGODA_RETURN_IF_ERROR(b.write(*t, values.data()));
    return t;
}

Result<std::vector<float>> download(Backend& b, const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.n_elements()));
    PAGODA_RETURN_IF_ERROR(b.read(t, v.data()));
    return v;
}

}  // namespace pagoda::gpu_parity
