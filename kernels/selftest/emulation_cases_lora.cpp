// lora.cu on the host CUDA emulator: launch_lora with host buffers, against the
// double-precision reference of lora_scenarios.h (and the CPU backend's lora_add where
// it has one). The small scenarios keep the emulated grids (a host thread per CUDA
// thread) quick.
#include <memory>
#include <vector>

#include "backend/cpu/create_cpu_backend.h"
#include "kernel_emulation.h"
#include "lora_scenarios.h"
// The emulated kernels' interface, under the renamed namespace pagoda::cuda_emu.
#include "cuda_emulator.h"
#define cuda cuda_emu
#include "kernel_launch.h"
#undef cuda

namespace pagoda::gpu_parity {
namespace {

namespace ck = pagoda::cuda_emu;

CaseResult emulated_lora_case(const LoraScenario& sc) {
    const LoraData d(sc);
    std::vector<ck::LoraSegmentDesc> segs;
    size_t scratch_floats = 0;
    for (const LoraSegmentSpec& s : sc.segments) {
        const auto i = static_cast<size_t>(s.adapter);
        const LoraAdapterSpec& ad = sc.adapters[i];
        ck::LoraSegmentDesc desc{};
        desc.a = d.a[i].data();
        desc.b = d.b[i].data();
        desc.a_type = ad.a_type;
        desc.b_type = ad.b_type;
        desc.rank = ad.rank;
        desc.first_row = s.first_row;
        desc.n_rows = s.n_rows;
        desc.scale = s.scale;
        segs.push_back(desc);
        scratch_floats += static_cast<size_t>(s.n_rows) * static_cast<size_t>(ad.rank);
    }
    // Poisoned: every intermediate the expand kernel reads must have been written.
    std::vector<float> scratch(scratch_floats, 1e30f);
    std::vector<float> got = d.out0;
    ck::LoraLaunchArgs a{};
    a.x = d.x.data();
    a.out = got.data();
    a.in_features = sc.in_features;
    a.out_features = sc.out_features;
    a.segments = segs.data();
    a.n_segments = static_cast<int32_t>(segs.size());
    a.scratch = scratch.data();
    if (const cudaError_t e = ck::launch_lora(a, nullptr); e != cudaSuccess) {
        return CaseResult::fail("launch returned " + std::to_string(e));
    }
    CaseResult r = compare_lora(sc, d, got, lora_reference(sc, d), 1e-9);
    if (r.outcome != CaseResult::Outcome::pass) return r;
    static std::unique_ptr<Backend> cpu = create_cpu_backend(1);
    if (!cpu->supports_lora()) return r;
    cpu->reset_scratch();
    std::vector<float> ref;
    if (Status s = run_lora_on_backend(*cpu, sc, d, ref); !s) return CaseResult::fail("cpu backend: " + s.to_string());
    CaseResult rc = compare_lora(sc, d, got, ref, 1e-6);
    if (rc.outcome != CaseResult::Outcome::pass) return CaseResult::fail("vs cpu backend: " + rc.detail);
    r.detail += "; vs cpu backend: " + rc.detail;
    return r;
}

}  // namespace

void add_lora_emulation_cases(std::vector<EmulationCase>& cases) {
    for (const LoraScenario& sc : lora_emulation_scenarios()) {
        cases.push_back({"Emu_Lora_" + sc.name, sc.quick, [sc] { return emulated_lora_case(sc); }});
    }
}

}  // namespace pagoda::gpu_parity
