// sampling.cu on the host CUDA emulator: argmax against TokenSampler::argmax (exact),
// softmax against a double-precision reference.
#include <cmath>
#include <string>
#include <vector>

#include "kernel_emulation.h"
#include "sampling_scenarios.h"
// The emulated kernels' interface, under the renamed namespace pagoda::cuda_emu.
#include "cuda_emulator.h"
#define cuda cuda_emu
#include "sampling_launch.h"
#undef cuda

namespace pagoda::gpu_parity {
namespace {

namespace ck = pagoda::cuda_emu;

CaseResult argmax_case(int64_t vocab) {
    const std::vector<float> logits = sampling_logits(vocab, 91);
    std::vector<int32_t> ids(kSamplingRows, -1);
    if (auto e = ck::launch_argmax_rows({logits.data(), ids.data(), kSamplingRows, vocab}, nullptr)) {
        return CaseResult::fail("launch returned " + std::to_string(e));
    }
    const std::vector<int32_t> want = reference_argmax(logits, vocab);
    for (int r = 0; r < kSamplingRows; ++r) {
        if (ids[r] != want[r]) {
            return CaseResult::fail("row " + std::to_string(r) + ": id " + std::to_string(ids[r]) + ", want " +
                                    std::to_string(want[r]));
        }
    }
    return CaseResult::pass(std::to_string(kSamplingRows) + " rows identical");
}

CaseResult softmax_case(int64_t vocab, float temperature) {
    const std::vector<float> logits = sampling_logits(vocab, 92);
    std::vector<float> probs(logits.size(), -1.0f);
    if (auto e = ck::launch_softmax_rows({logits.data(), probs.data(), kSamplingRows, vocab, 1.0f / temperature},
                                         nullptr)) {
        return CaseResult::fail("launch returned " + std::to_string(e));
    }
    std::vector<bool> defined;
    const std::vector<float> want = reference_softmax(logits, vocab, temperature, defined);
    std::vector<float> got_defined, want_defined;
    for (int r = 0; r < kSamplingRows; ++r) {
        for (int64_t i = 0; i < vocab; ++i) {
            const float g = probs[r * vocab + i];
            if (!defined[r]) {
                if (!std::isnan(g)) return CaseResult::fail("row " + std::to_string(r) + " should be NaN");
                continue;
            }
            got_defined.push_back(g);
            want_defined.push_back(want[r * vocab + i]);
        }
    }
    return compare(got_defined, want_defined, 1e-10);
}

}  // namespace

void add_sampling_emulation_cases(std::vector<EmulationCase>& cases) {
    cases.push_back({"Emu_ArgmaxRows_v1000", true, [] { return argmax_case(1000); }});
    cases.push_back({"Emu_ArgmaxRows_v64", false, [] { return argmax_case(64); }});
    cases.push_back({"Emu_SoftmaxRows_v1000_t1", true, [] { return softmax_case(1000, 1.0f); }});
    cases.push_back({"Emu_SoftmaxRows_v333_t07", false, [] { return softmax_case(333, 0.7f); }});
}

}  // namespace pagoda::gpu_parity
