// sampling.cu on the host CUDA emulator: argmax against TokenSampler::argmax (exact),
// softmax against a double-precision reference. sampling_rows.cu (whole requests, packed
// as CudaBackend::sample_rows packs them) against the host RowSampler: the same tokens.
#include <cmath>
#include <string>
#include <vector>

#include "backend/row_sampling.h"
#include "kernel_emulation.h"
#include "sampling_scenarios.h"
// The emulated kernels' interface, under the renamed namespace pagoda::cuda_emu.
#include "cuda_emulator.h"
#define cuda cuda_emu
#include "sampling_launch.h"
#include "sampling_rows_pack.h"
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

// The requests through the emulated kernels, packed and unpacked as on the device.
Result<std::vector<RowSamplingResult>> emulate_sample_rows(const RowSamplingBatch& b) {
    ck::RowSampleCounts counts;
    PAGODA_RETURN_IF_ERROR(ck::check_row_requests(b.requests, b.rows, counts));
    const size_t n = b.requests.size();
    std::vector<ck::RowSampleJob> jobs(n);
    std::vector<ck::RowSampleBias> bias(counts.n_bias + 1);
    std::vector<ck::RowSamplePenalty> penalties(counts.n_penalties + 1);
    std::vector<float> processed(counts.n_processed * static_cast<size_t>(b.vocab), NAN);
    ck::RowSampleResult unset{};
    unset.token = -1;  // a result the kernels never write shows up as a wrong token
    std::vector<ck::RowSampleResult> out(n, unset);
    const ck::RowSampleTargets targets{b.logits.data(), b.vocab, bias.data(), penalties.data(), processed.data()};
    ck::pack_row_jobs(b.requests, targets, jobs.data(), bias.data(), penalties.data());
    const ck::SampleRowsArgs a{jobs.data(), out.data(), static_cast<int32_t>(n), b.vocab, counts.n_processed > 0,
                               counts.any_logprobs};
    if (auto e = ck::launch_sample_rows(a, nullptr)) return internal_error("launch returned " + std::to_string(e));
    std::vector<RowSamplingResult> results;
    for (size_t i = 0; i < n; ++i) results.push_back(ck::unpack_row_result(out[i], b.requests[i]));
    return results;
}

CaseResult sample_rows_case(const std::string& family, int64_t vocab) {
    const RowSamplingBatch b = row_sampling_batch(family, vocab, 12, 93 + static_cast<uint64_t>(vocab));
    auto got = emulate_sample_rows(b);
    if (!got.is_ok()) return CaseResult::fail(got.status().to_string());
    return check_row_sampling(b, *got);
}

// Real vocab sizes (the emulator's cost is in the barriers, not the row length): requests
// cycling through every parameter set over 12 rows.
CaseResult sample_rows_mixed_case(int64_t vocab, int32_t count) {
    const RowSamplingBatch b = row_sampling_mixed_batch(vocab, 12, count, 94);
    auto got = emulate_sample_rows(b);
    if (!got.is_ok()) return CaseResult::fail(got.status().to_string());
    return check_row_sampling(b, *got);
}

// The checks before any launch: a row outside the logits, too many top log-probabilities.
CaseResult sample_rows_refusals() {
    RowSamplingBatch b = row_sampling_batch("greedy", 64, 2, 5);
    b.requests[0].row = 2;
    if (emulate_sample_rows(b).is_ok()) return CaseResult::fail("a request for row 2 of 2 was accepted");
    b.requests[0].row = -1;
    if (emulate_sample_rows(b).is_ok()) return CaseResult::fail("a request for row -1 was accepted");
    b.requests[0].row = 0;
    b.requests[1].top_logprobs = kMaxTopLogprobs + 1;
    if (emulate_sample_rows(b).is_ok()) return CaseResult::fail("21 top log-probabilities were accepted");
    b.requests[1].top_logprobs = kMaxTopLogprobs;
    if (!emulate_sample_rows(b).is_ok()) return CaseResult::fail("a valid batch was refused");
    return CaseResult::pass("bad rows and top_logprobs > 20 refused");
}

}  // namespace

void add_sampling_emulation_cases(std::vector<EmulationCase>& cases) {
    cases.push_back({"Emu_ArgmaxRows_v1000", true, [] { return argmax_case(1000); }});
    cases.push_back({"Emu_ArgmaxRows_v64", false, [] { return argmax_case(64); }});
    cases.push_back({"Emu_SoftmaxRows_v1000_t1", true, [] { return softmax_case(1000, 1.0f); }});
    cases.push_back({"Emu_SoftmaxRows_v333_t07", false, [] { return softmax_case(333, 0.7f); }});
    // Emu_SampleRows_<family>_v<vocab>: every parameter set of the family on 12 rows (--emulate).
    for (const std::string& family : row_sampling_families()) {
        for (int64_t vocab : {int64_t{300}, int64_t{1000}, int64_t{2500}}) {
            cases.push_back({"Emu_SampleRows_" + family + "_v" + std::to_string(vocab), false,
                             [family, vocab] { return sample_rows_case(family, vocab); }});
        }
    }
    // The quick one (unit tests): every parameter set once, on the awkward rows too.
    cases.push_back({"Emu_SampleRows_mixed_v2500", true, [] { return sample_rows_mixed_case(2500, 40); }});
    cases.push_back({"Emu_SampleRows_mixed_v32000", false, [] { return sample_rows_mixed_case(32000, 48); }});
    cases.push_back({"Emu_SampleRows_mixed_v128256", false, [] { return sample_rows_mixed_case(128256, 36); }});
    cases.push_back({"Emu_SampleRows_refusals", true, sample_rows_refusals});
}

}  // namespace pagoda::gpu_parity
