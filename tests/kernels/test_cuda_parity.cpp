// CUDA backend vs CPU backend, op by op and end to end (cases in kernels/selftest).
#include <gtest/gtest.h>

#include "host_decode_check.h"
#include "parity_harness.h"

namespace pagoda::gpu_parity {
namespace {

class CudaParity : public ::testing::TestWithParam<size_t> {};

TEST_P(CudaParity, MatchesCpuBackend) {
    Session& session = Session::get();
    if (!session.has_gpu()) GTEST_SKIP() << "no CUDA device: " << session.no_gpu_reason();
    const ParityCase& c = all_cases()[GetParam()];
    const CaseResult r = session.run(c);
    if (r.outcome == CaseResult::Outcome::skip) GTEST_SKIP() << r.detail;
    EXPECT_EQ(r.outcome, CaseResult::Outcome::pass) << c.name << ": " << r.detail;
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaParity, ::testing::Range<size_t>(0, all_cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) { return all_cases()[info.param].name; });

// The kernels' weight decoding, checked on the host: runs without a GPU.
TEST(CudaKernelsHost, WeightDecodingMatchesCpuDequantize) {
    const auto failures = check_quant_decode_on_host();
    for (const auto& f : failures) ADD_FAILURE() << f;
}

}  // namespace
}  // namespace pagoda::gpu_parity
