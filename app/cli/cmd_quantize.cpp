// `pagoda quantize IN.gguf OUT.gguf TYPE`: re-encodes a model's weights, choosing each
// tensor's type the way llama.cpp's llama-quantize does (see model/quantize_model.h).
// Progress per tensor and the summary go to stderr.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "model/ggml_type.h"
#include "model/quantize_model.h"

namespace pagoda::cli {
namespace {

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string shape_text(std::span<const int64_t> dims) {
    std::string s;
    for (int64_t d : dims) s += (s.empty() ? "" : " x ") + std::to_string(d);
    return s;
}

}  // namespace

int run_quantize(int argc, char** argv) {
    Args args("pagoda quantize IN.gguf OUT.gguf TYPE [--threads N]",
              "Re-encodes the weight matrices of a GGUF model. Per-tensor types follow llama.cpp's\n"
              "llama-quantize (no importance matrix), so the file matches what it would write:\n"
              "output.weight gets q6_k, q4_k_m keeps attn_v/ffn_down at q6_k on some layers, and\n"
              "norms/biases stay as they are. Types: " +
                  quant_target_names() + ".");
    args.positional("IN.gguf", "model to read (f32, f16, bf16, or already quantized)");
    args.positional("OUT.gguf", "file to write");
    args.positional("TYPE", "target encoding, case-insensitive");
    args.option("--threads", "N", "threads for encoding (0: all cores)", "0");
    if (!args.parse(argc, argv)) return args.exit_code();
    if (args.positionals().size() != 3) {
        std::fprintf(stderr, "error: expected IN.gguf OUT.gguf TYPE\n\n%s", args.help().c_str());
        return 2;
    }
    bool ok = true;
    const long long threads = args.get_int("--threads", ok);
    if (!ok) return 2;
    if (threads < 0 || threads > 1024) {
        std::fprintf(stderr, "error: --threads must be between 0 and 1024\n");
        return 2;
    }
    const std::string& in_path = args.positionals()[0];
    const std::string& out_path = args.positionals()[1];
    auto target = parse_quant_target(args.positionals()[2]);
    if (!target) {
        std::fprintf(stderr, "error: %s\n", target.status().message().c_str());
        return 2;
    }

    QuantizeOptions options;
    options.target = *target;
    options.n_threads = static_cast<int>(threads);
    options.on_tensor = [](const TensorQuantEvent& ev) {
        const int width = static_cast<int>(std::to_string(ev.count).size());
        std::fprintf(stderr, "[%*zu/%zu] %-40.*s %-18s %6s -> %-6s %9.3f MiB -> %9.3f MiB%s%s\n", width, ev.index + 1,
                     ev.count, static_cast<int>(ev.name.size()), ev.name.data(), shape_text(ev.dims).c_str(),
                     ggml_type_name(ev.from), ggml_type_name(ev.to), mib(ev.bytes_in), mib(ev.bytes_out),
                     ev.fell_back ? "  (row length does not fit the mix's type: fallback)" : "",
                     ev.requantized ? "  (warning: requantizing an already quantized tensor loses precision)" : "");
    };

    std::fprintf(stderr, "pagoda quantize: %s -> %s as %s\n", in_path.c_str(), out_path.c_str(),
                 quant_target_info(*target).name);
    const auto start = std::chrono::steady_clock::now();
    auto result = quantize_model(in_path, out_path, options);
    if (!result) {
        std::fprintf(stderr, "pagoda quantize: %s\n", result.status().to_string().c_str());
        return 1;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const QuantizeStats& s = result.value();
    std::fprintf(stderr, "\n%zu tensors, %zu re-encoded, %zu copied as they were\n", s.n_tensors, s.n_converted,
                 s.n_tensors - s.n_converted);
    std::fprintf(stderr, "tensor data: %.2f MiB -> %.2f MiB (%.1f%%)\n", mib(s.bytes_in), mib(s.bytes_out),
                 s.bytes_in ? 100.0 * static_cast<double>(s.bytes_out) / static_cast<double>(s.bytes_in) : 100.0);
    if (s.n_fallback) {
        std::fprintf(stderr, "warning: %zu tensor(s) had rows the chosen type cannot hold and used a fallback type\n",
                     s.n_fallback);
    }
    if (s.n_requantized) {
        std::fprintf(stderr,
                     "warning: %zu tensor(s) were already quantized; quality is below quantizing from f16/f32\n",
                     s.n_requantized);
    }
    std::fprintf(stderr, "wrote %s in %.2f s\n", out_path.c_str(), seconds);
    return 0;
}

}  // namespace pagoda::cli
