// The CUDA kernels executed on the host emulator (kernels/selftest/cuda_emulator.h) and
// compared with the CPU backend: catches indexing, synchronization and math errors in
// the kernels on machines without a GPU.
#include <gtest/gtest.h>

#include <vector>

#include "kernel_emulation.h"

namespace pagoda::gpu_parity {
namespace {

std::vector<size_t> quick_cases() {
    std::vector<size_t> idx;
    const auto& cases = emulation_cases();
    for (size_t i = 0; i < cases.size(); ++i) {
        if (cases[i].quick) idx.push_back(i);
    }
    return idx;
}

class EmulatedKernel : public ::testing::TestWithParam<size_t> {};

TEST_P(EmulatedKernel, MatchesCpuBackend) {
    const EmulationCase& c = emulation_cases()[GetParam()];
    const CaseResult r = c.run();
    if (r.outcome == CaseResult::Outcome::skip) GTEST_SKIP() << r.detail;
    EXPECT_EQ(r.outcome, CaseResult::Outcome::pass) << c.name << ": " << r.detail;
}

INSTANTIATE_TEST_SUITE_P(Quick, EmulatedKernel, ::testing::ValuesIn(quick_cases()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                             return emulation_cases()[info.param].name;
                         });

}  // namespace
}  // namespace pagoda::gpu_parity
