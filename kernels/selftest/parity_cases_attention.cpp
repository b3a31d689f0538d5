// Parity cases for kv_write + paged attention (scenarios in attention_scenarios.cpp):
// several sequences with non-contiguous, shuffled block tables; lengths across block
// boundaries; grouped-query attention with groups of 1 to 8; head sizes 64 to 256; F16,
// F32 and Q8_0 caches; decode, prefill and chunked prefill; long contexts (4096) for the
// split-K path; and the same scenarios forced through the other kernel.
#include <string>

#include "attention_scenarios.h"
#include "model/ggml_type.h"
#include "parity_harness.h"

namespace pagoda::gpu_parity {

void add_attention_cases(std::vector<ParityCase>& cases) {
    for (const AttentionScenario& sc : attention_scenarios()) {
        ParityCase c;
        c.name = "Attention_" + sc.name + "_" + ggml_type_name(sc.kv);
        c.quick = sc.quick;
        c.run = [sc](Backends& b) {
            const AttentionData d(sc);
            cuda::CudaDebugOptions opt;
            opt.force_decode_attention = sc.mode == AttentionMode::force_decode;
            opt.force_prefill_attention = sc.mode == AttentionMode::force_prefill;
            opt.attention_split_len = sc.mode == AttentionMode::split64 ? 64 : 0;
            b.set_cuda_options(opt);
            return compare_runs(
                b, [&](Backend& be, std::vector<float>& out) { return run_attention_scenario(be, sc, d, out); },
                attention_threshold(sc.kv));
        };
        cases.push_back(std::move(c));
    }
}

}  // namespace pagoda::gpu_parity
