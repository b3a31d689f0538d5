// Parity cases for the CUDA backend's GPU sampling ops (argmax_rows, softmax_rows),
// which are CudaBackend extensions, not Backend ops: argmax must equal
// TokenSampler::argmax exactly, softmax a double-precision reference. Real vocab sizes.
#include <cmath>
#include <string>
#include <vector>

#include "parity_harness.h"
#include "sampling_scenarios.h"

namespace pagoda::gpu_parity {
namespace {

CaseResult argmax_case(Backends& b, int64_t vocab) {
    if (!b.cuda) return CaseResult::skip("argmax_rows is a CUDA backend extension");
    const std::vector<float> logits = sampling_logits(vocab, 81);
    auto t = upload(b.gpu, logits, kSamplingRows, vocab);
    if (!t.is_ok()) return CaseResult::fail(t.status().to_string());
    std::vector<int32_t> ids(kSamplingRows, -1);
    if (Status s = b.cuda->argmax_rows(*t, ids); !s) return CaseResult::fail(s.to_string());
    const std::vector<int32_t> want = reference_argmax(logits, vocab);
    for (int r = 0; r < kSamplingRows; ++r) {
        if (ids[r] != want[r]) {
            return CaseResult::fail("row " + std::to_string(r) + ": id " + std::to_string(ids[r]) + ", want " +
                                    std::to_string(want[r]));
        }
    }
    // Refusal: one id short.
    std::vector<int32_t> short_ids(kSamplingRows - 1);
    if (b.cuda->argmax_rows(*t, short_ids).is_ok()) return CaseResult::fail("a short id span was accepted");
    return CaseResult::pass(std::to_string(kSamplingRows) + " rows identical");
}

CaseResult softmax_case(Backends& b, int64_t vocab, float temperature) {
    if (!b.cuda) return CaseResult::skip("softmax_rows is a CUDA backend extension");
    const std::vector<float> logits = sampling_logits(vocab, 82);
    auto t = upload(b.gpu, logits, kSamplingRows, vocab);
    auto p = b.gpu.alloc_activations(kSamplingRows, vocab);
    if (!t.is_ok() || !p.is_ok()) return CaseResult::fail("allocation");
    b.cuda->softmax_rows(*t, temperature, *p);
    if (Status s = b.gpu.end_step(); !s) return CaseResult::fail(s.to_string());
    auto probs = download(b.gpu, *p);
    if (!probs.is_ok()) return CaseResult::fail(probs.status().to_string());
    std::vector<bool> defined;
    const std::vector<float> want = reference_softmax(logits, vocab, temperature, defined);
    std::vector<float> got_defined, want_defined;
    for (int r = 0; r < kSamplingRows; ++r) {
        for (int64_t i = 0; i < vocab; ++i) {
            const float g = (*probs)[r * vocab + i];
            if (!defined[r]) {
                if (!std::isnan(g)) return CaseResult::fail("row " + std::to_string(r) + " should be NaN");
                continue;
            }
            got_defined.push_back(g);
            want_defined.push_back(want[r * vocab + i]);
        }
    }
    CaseResult r = compare(got_defined, want_defined, 1e-10);
    if (r.outcome != CaseResult::Outcome::pass) return r;
    // Refusal: temperature 0 ends the step with an error.
    b.cuda->softmax_rows(*t, 0.0f, *p);
    if (b.gpu.end_step().is_ok()) return CaseResult::fail("temperature 0 was accepted");
    return r;
}

}  // namespace

void add_sampling_cases(std::vector<ParityCase>& cases) {
    for (int64_t vocab : {int64_t{32000}, int64_t{151936}, int64_t{100}}) {
        const std::string v = std::to_string(vocab);
        cases.push_back({"Sampling_argmax_v" + v, vocab == 32000, [vocab](Backends& b) { return argmax_case(b, vocab); }});
        cases.push_back({"Sampling_softmax_v" + v, vocab == 32000,
                         [vocab](Backends& b) { return softmax_case(b, vocab, vocab == 100 ? 0.6f : 1.0f); }});
    }
}

}  // namespace pagoda::gpu_parity
