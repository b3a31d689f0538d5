// pagoda-gpu-selftest: the CUDA-vs-CPU parity cases without GoogleTest, for GPU machines
// that lack it. Prints one PASS/FAIL/SKIP line per case and a summary.
//   pagoda-gpu-selftest [--quick] [--filter A,B] [--list] [--emulate] [--cpu-as-device]
// --filter A,B   only cases whose names contain A or B
// --quick        the reduced set (compute-sanitizer runs)
// --emulate      instead of the GPU: the kernels on the host CUDA emulator vs the CPU backend
// --cpu-as-device  a second CPU backend plays the GPU (checks the harness and the cases)
// Exit status: 0 all cases that ran passed, 1 some failed, 2 no CUDA device (nothing ran).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "host_decode_check.h"
#include "kernel_emulation.h"
#include "parity_harness.h"

namespace {

using pagoda::gpu_parity::CaseResult;

struct Tally {
    int passed = 0, failed = 0, skipped = 0;
    void add(const std::string& name, const CaseResult& r, double ms) {
        const char* tag = r.outcome == CaseResult::Outcome::pass   ? "PASS"
                          : r.outcome == CaseResult::Outcome::skip ? "SKIP"
                                                                   : "FAIL";
        (r.outcome == CaseResult::Outcome::pass ? passed : r.outcome == CaseResult::Outcome::skip ? skipped : failed)++;
        std::printf("%s %s  %s  [%.0f ms]\n", tag, name.c_str(), r.detail.c_str(), ms);
        std::fflush(stdout);
    }
};

template <typename Run>
void timed(Tally& tally, const std::string& name, const Run& run) {
    const auto t0 = std::chrono::steady_clock::now();
    const CaseResult r = run();
    tally.add(name, r, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false, list = false, emulate = false;
    std::string filter;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!std::strcmp(argv[i], "--cpu-as-device")) {
            pagoda::gpu_parity::Session::use_cpu_as_device();
        } else if (!std::strcmp(argv[i], "--emulate")) {
            emulate = true;
        } else if (!std::strcmp(argv[i], "--list")) {
            list = true;
        } else if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) {
            filter = argv[++i];
        } else {
            std::fprintf(stderr,
                         "usage: pagoda-gpu-selftest [--quick] [--filter A,B] [--list] [--emulate] "
                         "[--cpu-as-device]\n");
            return 64;
        }
    }
    std::vector<std::string> filters;
    for (size_t pos = 0; !filter.empty() && pos <= filter.size();) {
        const size_t comma = std::min(filter.find(',', pos), filter.size());
        if (comma > pos) filters.push_back(filter.substr(pos, comma - pos));
        pos = comma + 1;
    }
    auto selected = [&](const std::string& name, bool is_quick) {
        if (quick && !is_quick) return false;
        if (filters.empty()) return true;
        for (const auto& f : filters) {
            if (name.find(f) != std::string::npos) return true;
        }
        return false;
    };

    Tally tally;
    const auto start = std::chrono::steady_clock::now();
    auto summary = [&](const char* what) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("SUMMARY %s: %d passed, %d failed, %d skipped in %.1f s\n", what, tally.passed, tally.failed,
                    tally.skipped, s);
        return tally.failed == 0 ? 0 : 1;
    };

    if (emulate) {
        for (const auto& c : pagoda::gpu_parity::emulation_cases()) {
            if (!selected(c.name, c.quick)) continue;
            if (list) {
                std::printf("%s\n", c.name.c_str());
                continue;
            }
            timed(tally, c.name, c.run);
        }
        return list ? 0 : summary("emulation");
    }

    const auto& cases = pagoda::gpu_parity::all_cases();
    if (list) {
        for (const auto& c : cases) {
            if (selected(c.name, c.quick)) std::printf("%s%s\n", c.name.c_str(), c.quick ? " (quick)" : "");
        }
        return 0;
    }
    // Weight decoding is checked on the host first: it needs no GPU.
    timed(tally, "host_decode", [] {
        const auto failures = pagoda::gpu_parity::check_quant_decode_on_host();
        std::string all;
        for (const auto& f : failures) all += f + "; ";
        return failures.empty() ? CaseResult::pass("dequant8 and decode_unit of every type") : CaseResult::fail(all);
    });

    auto& session = pagoda::gpu_parity::Session::get();
    if (!session.has_gpu()) {
        std::printf("SKIP all: no CUDA device: %s\n", session.no_gpu_reason().c_str());
        return 2;
    }
    for (const auto& c : cases) {
        if (selected(c.name, c.quick)) timed(tally, c.name, [&] { return session.run(c); });
    }
    return summary("selftest");
}
