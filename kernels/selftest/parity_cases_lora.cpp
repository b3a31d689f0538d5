// Parity cases for lora_add (the S-LoRA/Punica-style segment op of kernels/lora.cu):
// every scenario of lora_scenarios.h on the device backend against a double-precision
// host reference, and against the CPU backend's lora_add where it has one. Plus the
// refusals: bad segments end the step with an error, leave out untouched, and the
// backend works again after end_step.
#include <string>

#include "lora_scenarios.h"
#include "parity_harness.h"

namespace pagoda::gpu_parity {
namespace {

// fp32 accumulation vs double: a few ulps per value.
constexpr double kReferenceThreshold = 1e-9;
// Against the CPU backend, which may round differently (e.g. x to f16 for f16 weights).
constexpr double kCpuThreshold = 1e-6;

CaseResult run_scenario(Backends& b, const LoraScenario& sc) {
    if (!b.gpu.supports_lora()) return CaseResult::skip("the device backend has no lora_add");
    const LoraData d(sc);
    const std::vector<float> ref = lora_reference(sc, d);
    std::vector<float> got;
    if (Status s = run_lora_on_backend(b.gpu, sc, d, got); !s) return CaseResult::fail("device: " + s.to_string());
    CaseResult r = compare_lora(sc, d, got, ref, kReferenceThreshold);
    if (r.outcome != CaseResult::Outcome::pass) return r;
    r.detail = "vs host reference: " + r.detail;
    if (!b.cpu.supports_lora()) {
        r.detail += "; the cpu backend has no lora_add (host reference only)";
        return r;
    }
    std::vector<float> cpu;
    if (Status s = run_lora_on_backend(b.cpu, sc, d, cpu); !s) return CaseResult::fail("cpu backend: " + s.to_string());
    CaseResult rc = compare_lora(sc, d, got, cpu, kCpuThreshold);
    if (rc.outcome != CaseResult::Outcome::pass) return CaseResult::fail("vs cpu backend: " + rc.detail);
    r.detail += "; vs cpu backend: " + rc.detail;
    return r;
}

// One refused lora_add: end_step must report an error naming lora_add, out must keep
// its values, and a valid lora_add afterwards must work.
CaseResult refusals(Backends& b) {
    if (!b.cuda) return CaseResult::skip("refusal wording is the CUDA backend's");
    Backend& g = b.gpu;
    const int32_t n = 4, in = 64, out_f = 48, rank = 8;
    const auto xv = random_normal(n * in, 1), ov = random_normal(n * out_f, 2);
    const std::vector<float> av = random_normal(rank * in, 3, 0.1f), bv = random_normal(out_f * rank, 4, 0.1f);
    const std::vector<uint8_t> q8 = random_weight(GgmlType::Q8_0, rank, in, 5);
    auto x = upload(g, xv, n, in);
    auto o = upload(g, ov, n, out_f);
    auto a = g.load_weight(GgmlType::F32, rank, in, av.data());
    auto bt = g.load_weight(GgmlType::F32, out_f, rank, bv.data());
    auto a_wrong_in = g.load_weight(GgmlType::F32, rank, 32, av.data());
    auto b_wrong_rank = g.load_weight(GgmlType::F32, out_f / 2, 2 * rank, bv.data());
    auto a_q8 = g.load_weight(GgmlType::Q8_0, rank, in, q8.data());
    if (!x.is_ok() || !o.is_ok() || !a.is_ok() || !bt.is_ok() || !a_wrong_in.is_ok() || !b_wrong_rank.is_ok() ||
        !a_q8.is_ok()) {
        return CaseResult::fail("setup failed");
    }
    struct Bad {
        const char* what;
        LoraSegment seg;
        bool alias = false;
    };
    const Bad bad[] = {
        {"rows past the end", {2, 3, &*a, &*bt, 1.0f}},
        {"negative first row", {-1, 2, &*a, &*bt, 1.0f}},
        {"A of the wrong width", {0, 2, &*a_wrong_in, &*bt, 1.0f}},
        {"B of the wrong rank", {0, 2, &*a, &*b_wrong_rank, 1.0f}},
        {"q8_0 A", {0, 2, &*a_q8, &*bt, 1.0f}},
        {"missing B", {0, 2, &*a, nullptr, 1.0f}},
        {"out aliasing x", {0, 2, &*a, &*bt, 1.0f}, true},
    };
    for (const Bad& c : bad) {
        const LoraSegment segs[] = {{0, 1, &*a, &*bt, 1.0f}, c.seg};
        if (c.alias) {
            Tensor xo = *x;
            g.lora_add(xo, segs, xo);
        } else {
            g.lora_add(*x, segs, *o);
        }
        const Status s = g.end_step();
        if (s.is_ok()) return CaseResult::fail(std::string(c.what) + ": accepted");
        if (s.message().find("lora_add") == std::string::npos) {
            return CaseResult::fail(std::string(c.what) + ": error does not name lora_add: " + s.to_string());
        }
        auto now = download(g, *o);
        if (!now.is_ok() || *now != ov) return CaseResult::fail(std::string(c.what) + ": out changed");
        auto xnow = download(g, *x);
        if (!xnow.is_ok() || *xnow != xv) return CaseResult::fail(std::string(c.what) + ": x changed");
    }
    const LoraSegment good[] = {{1, 3, &*a, &*bt, 0.5f}};
    g.lora_add(*x, good, *o);
    if (Status s = g.end_step(); !s) return CaseResult::fail("valid lora_add after refusals: " + s.to_string());
    auto after = download(g, *o);
    if (!after.is_ok() || *after == ov) return CaseResult::fail("valid lora_add after refusals changed nothing");
    return CaseResult::pass("7 bad segment lists refused, out untouched");
}

}  // namespace

void add_lora_cases(std::vector<ParityCase>& cases) {
    for (const LoraScenario& sc : lora_scenarios()) {
        cases.push_back({"Lora_" + sc.name, sc.quick, [sc](Backends& b) { return run_scenario(b, sc); }});
    }
    cases.push_back({"Lora_refusals", true, refusals});
}

}  // namespace pagoda::gpu_parity
