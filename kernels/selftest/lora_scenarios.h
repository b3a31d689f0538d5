// The LoRA (lora_add) scenarios of the parity checks, CUDA-free so the GPU cases
// (parity_cases_lora.cpp) and the host emulation of lora.cu (emulation_cases_lora.cpp)
// run the same data. The reference is computed here in double precision from the
// decoded A/B, so the checks need no CPU lora_add; where the CPU backend has one
// (supports_lora()), the cases compare against it as well.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "parity_util.h"

namespace pagoda::gpu_parity {

struct LoraAdapterSpec {
    int32_t rank = 8;
    GgmlType a_type = GgmlType::F32;  // F32 or F16
    GgmlType b_type = GgmlType::F32;
};

struct LoraSegmentSpec {
    int32_t first_row = 0;
    int32_t n_rows = 0;
    int32_t adapter = 0;  // index into LoraScenario::adapters (segments may share one)
    float scale = 1.0f;
};

struct LoraScenario {
    std::string name;
    int32_t n = 1;  // rows of x and out
    int64_t in_features = 64;
    int64_t out_features = 64;
    std::vector<LoraAdapterSpec> adapters;
    std::vector<LoraSegmentSpec> segments;  // in lora_add order; may overlap and leave gaps
    bool quick = false;
};

// Seeded inputs of a scenario: x ~ N(0, 1), out0 ~ N(0, 0.5), A scaled so x·Aᵀ ~ N(0, 1),
// B so the delta ~ N(0, scale²). A/B are encoded in their types as load_weight takes them.
struct LoraData {
    explicit LoraData(const LoraScenario& sc);
    std::vector<float> x;                     // [n, in]
    std::vector<float> out0;                  // [n, out], the values lora_add adds to
    std::vector<std::vector<uint8_t>> a, b;   // per adapter: [rank, in], [out, rank] encoded
    std::vector<std::vector<float>> a_f32, b_f32;  // the same, decoded
};

// GPU scenarios (realistic sizes) and emulator scenarios (small grids).
std::vector<LoraScenario> lora_scenarios();
std::vector<LoraScenario> lora_emulation_scenarios();

// out0 + every segment's scale * (x·Aᵀ)·Bᵀ on its rows, accumulated in double.
std::vector<float> lora_reference(const LoraScenario& sc, const LoraData& d);

// Compares lora_add results: the deltas (result - out0) by normalized MSE, and rows no
// segment holds must come back bit-identical to out0.
CaseResult compare_lora(const LoraScenario& sc, const LoraData& d, std::span<const float> got,
                        std::span<const float> ref, double threshold);

// The scenario through Backend::lora_add (weights from load_weight); `out` gets [n, out].
Status run_lora_on_backend(Backend& b, const LoraScenario& sc, const LoraData& d, std::vector<float>& out);

}  // namespace pagoda::gpu_parity
