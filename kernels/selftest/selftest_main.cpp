// pagoda-gpu-selftest: the CUDA-vs-CPU parity cases without GoogleTest, for GPU
// machines that lack it. Prints one PASS/FAIL/SKIP line per case and a summary.
//   pagoda-gpu-selftest [--quick] [--filter TEXT] [--list] [--cpu-as-device]
// --cpu-as-device compares the CPU backend with a second CPU backend: it exercises the
// harness and every case's op sequence on a machine without a GPU.
// Exit status: 0 all ran cases passed, 1 some failed, 2 no CUDA device (nothing ran).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "host_decode_check.h"
#include "parity_harness.h"

using pagoda::gpu_parity::CaseResult;

int main(int argc, char** argv) {
    bool quick = false, list = false;
    std::string filter;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!std::strcmp(argv[i], "--cpu-as-device")) {
            pagoda::gpu_parity::Session::use_cpu_as_device();  // harness check without a GPU
        } else if (!std::strcmp(argv[i], "--list")) {
            list = true;
        } else if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) {
            filter = argv[++i];
        } else {
            std::fprintf(stderr, "usage: pagoda-gpu-selftest [--quick] [--filter TEXT] [--list] [--cpu-as-device]\n");
            return 64;
        }
    }
    const auto& cases = pagoda::gpu_parity::all_cases();
    auto selected = [&](const pagoda::gpu_parity::ParityCase& c) {
        return (!quick || c.quick) && (filter.empty() || c.name.find(filter) != std::string::npos);
    };
    if (list) {
        for (const auto& c : cases) {
            if (selected(c)) std::printf("%s%s\n", c.name.c_str(), c.quick ? " (quick)" : "");
        }
        return 0;
    }
    // Weight decoding checked on the host first: it needs no GPU.
    const auto decode_failures = pagoda::gpu_parity::check_quant_decode_on_host();
    for (const auto& f : decode_failures) std::printf("FAIL host_decode %s\n", f.c_str());
    if (decode_failures.empty()) std::printf("PASS host_decode (dequant8 and decode_unit of every type)\n");
    std::fflush(stdout);

    auto& session = pagoda::gpu_parity::Session::get();
    if (!session.has_gpu()) {
        std::printf("SKIP all: no CUDA device: %s\n", session.no_gpu_reason().c_str());
        return 2;
    }
    int passed = decode_failures.empty() ? 1 : 0, failed = static_cast<int>(decode_failures.size()), skipped = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& c : cases) {
        if (!selected(c)) continue;
        const auto t0 = std::chrono::steady_clock::now();
        const CaseResult r = session.run(c);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const char* tag = r.outcome == CaseResult::Outcome::pass   ? "PASS"
                          : r.outcome == CaseResult::Outcome::skip ? "SKIP"
                                                                   : "FAIL";
        (r.outcome == CaseResult::Outcome::pass ? passed : r.outcome == CaseResult::Outcome::skip ? skipped : failed)++;
        std::printf("%s %s  %s  [%.0f ms]\n", tag, c.name.c_str(), r.detail.c_str(), ms);
        std::fflush(stdout);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("SUMMARY selftest: %d passed, %d failed, %d skipped in %.1f s\n", passed, failed, skipped, s);
    return failed == 0 ? 0 : 1;
}
