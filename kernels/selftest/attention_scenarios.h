// The paged-attention scenarios of the parity checks, CUDA-free so the GPU cases
// (parity_cases_attention.cpp) and the host emulation of the kernels
// (kernel_emulation_check.cpp) run exactly the same steps on exactly the same data.
#pragma once

#include <string>
#include <vector>

#include "backend/backend.h"
#include "parity_util.h"

namespace pagoda::gpu_parity {

enum class AttentionMode { normal, force_decode, force_prefill, split64 };

struct AttentionScenario {
    std::string name;
    std::vector<SeqSpec> seqs;
    int32_t n_heads = 8;
    int32_t n_kv_heads = 2;
    int32_t head_dim = 64;
    int32_t block_size = 16;
    GgmlType kv = GgmlType::F16;
    AttentionMode mode = AttentionMode::normal;
    bool attend_history = true;  // also compare the history step's (prefill) attention
    bool quick = false;
};

std::vector<AttentionScenario> attention_scenarios();
double attention_threshold(GgmlType kv);

// Two steps: `hist` writes the cached tokens' K/V (and attends, if asked), then `step`
// writes the new tokens' K/V and attends. Layer 1 is under test; layer 0 gets junk
// (`noise`) that must not leak into it.
struct AttentionData {
    explicit AttentionData(const AttentionScenario& sc);
    int32_t n_blocks;
    StepBuilder step;
    StepBuilder hist;
    int64_t kv_cols, q_cols;
    std::vector<float> hk, hv, hq, k, v, q, noise;
    AttentionParams params;
    static constexpr int32_t kLayer = 1;
};

KvCacheConfig attention_kv_config(const AttentionScenario& sc, const AttentionData& d);

// Runs both steps on a backend; out = the history step's attention (if attended) then the step's.
Status run_attention_scenario(Backend& be, const AttentionScenario& sc, const AttentionData& d,
                              std::vector<float>& out);

}  // namespace pagoda::gpu_parity
