// Parity cases for the CUDA backend's GPU sampling ops (argmax_rows, softmax_rows),
// which are CudaBackend extensions, not Backend ops: argmax must equal
// TokenSampler::argmax exactly, softmax a double-precision reference. And sample_rows
// (the Backend op the engine uses) against the host RowSampler: the same tokens, at
// batch 1 and 128. Real vocab sizes.
#include <cmath>
#include <span>
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

// Every parameter set of every family on 12 rows (the awkward ones), one request per call.
CaseResult sample_rows_batch1_case(Backends& b, int64_t vocab) {
    if (!b.cuda) return CaseResult::skip("sample_rows runs on the CUDA backend");
    if (!b.gpu.supports_device_sampling()) return CaseResult::skip("off: PAGODA_DEVICE_SAMPLING=0");
    const RowSamplingBatch batch = row_sampling_batch("all", vocab, 12, 84);
    auto t = upload(b.gpu, batch.logits, batch.rows, vocab);
    if (!t.is_ok()) return CaseResult::fail(t.status().to_string());
    std::vector<RowSamplingResult> got(batch.requests.size());
    for (size_t i = 0; i < batch.requests.size(); ++i) {
        const Status s = b.gpu.sample_rows(*t, std::span(&batch.requests[i], 1), std::span(&got[i], 1));
        if (!s) return CaseResult::fail(batch.labels[i] + ": " + s.to_string());
    }
    return check_row_sampling(batch, got);
}

// 128 rows (the awkward ones among them) and 160 requests: parallel samples share rows.
CaseResult sample_rows_batch128_case(Backends& b, int64_t vocab) {
    if (!b.cuda) return CaseResult::skip("sample_rows runs on the CUDA backend");
    if (!b.gpu.supports_device_sampling()) return CaseResult::skip("off: PAGODA_DEVICE_SAMPLING=0");
    RowSamplingBatch batch = row_sampling_mixed_batch(vocab, 128, 160, 85);
    auto t = upload(b.gpu, batch.logits, batch.rows, vocab);
    if (!t.is_ok()) return CaseResult::fail(t.status().to_string());
    std::vector<RowSamplingResult> got(batch.requests.size());
    if (Status s = b.gpu.sample_rows(*t, batch.requests, got); !s) return CaseResult::fail(s.to_string());
    CaseResult r = check_row_sampling(batch, got);
    if (r.outcome != CaseResult::Outcome::pass) return r;
    // Refusals, before any launch: a row outside the logits, 21 top log-probabilities, a short result span.
    batch.requests[3].row = 128;
    if (b.gpu.sample_rows(*t, batch.requests, got).is_ok()) return CaseResult::fail("row 128 of 128 was accepted");
    batch.requests[3].row = 3;
    batch.requests[5].top_logprobs = kMaxTopLogprobs + 1;
    if (b.gpu.sample_rows(*t, batch.requests, got).is_ok()) return CaseResult::fail("top_logprobs 21 was accepted");
    batch.requests[5].top_logprobs = 0;
    if (b.gpu.sample_rows(*t, batch.requests, std::span(got).first(got.size() - 1)).is_ok()) {
        return CaseResult::fail("a short result span was accepted");
    }
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
    for (int64_t vocab : {int64_t{32000}, int64_t{128256}}) {
        const std::string v = std::to_string(vocab);
        cases.push_back({"Sampling_rows_batch1_v" + v, vocab == 32000,
                         [vocab](Backends& b) { return sample_rows_batch1_case(b, vocab); }});
        cases.push_back({"Sampling_rows_batch128_v" + v, vocab == 32000,
                         [vocab](Backends& b) { return sample_rows_batch128_case(b, vocab); }});
    }
}

}  // namespace pagoda::gpu_parity
