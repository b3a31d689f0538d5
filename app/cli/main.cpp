// `pagoda`: one binary, one subcommand per job. Generated text goes to stdout, logs and
// errors to stderr, so output can be piped.
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#if defined(PAGODA_HAVE_GUI)
#include "ui/desktop_main.h"
#endif

// The project version, set by cmake/packaging.cmake.
#ifndef PAGODA_VERSION_STRING
#define PAGODA_VERSION_STRING "0.1.0"
#endif

namespace {

struct Command {
    const char* name;
    int (*run)(int, char**);
    const char* summary;
};

constexpr Command kCommands[] = {
    {"generate", pagoda::cli::run_generate, "generate text from a prompt with a GGUF model"},
    {"tokenize", pagoda::cli::run_tokenize, "print the token ids of a text"},
    {"info", pagoda::cli::run_info, "describe a GGUF model file"},
    {"quantize", pagoda::cli::run_quantize, "re-encode a GGUF model (f16, q8_0, q4_0, q4_k, q6_k, q4_k_m, ...)"},
    {"bench", pagoda::cli::run_bench, "measure prompt and generation speed"},
    {"template", pagoda::cli::run_template, "render a chat with the model's chat template"},
#if defined(PAGODA_HAVE_SERVER)
    {"serve", pagoda::cli::run_serve, "serve the OpenAI-compatible API on localhost"},
#endif
};

void print_help() {
    std::printf(
        "usage: pagoda <command> [options]\n\n"
        "Pagoda runs GGUF language models locally on the CPU or an NVIDIA GPU.\n\ncommands:\n");
    for (const auto& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
    std::printf("\n'pagoda <command> --help' describes a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
#if defined(PAGODA_HAVE_GUI)
    // No arguments: the desktop app (built with the GUI); otherwise the command line.
    if (argc < 2) return pagoda::ui::runDesktop(argc, argv);
#endif
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        print_help();
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        std::printf("pagoda %s\n", PAGODA_VERSION_STRING);
        return 0;
    }
    for (const auto& c : kCommands) {
        if (std::strcmp(argv[1], c.name) == 0) return c.run(argc - 1, argv + 1);
    }
    std::fprintf(stderr, "pagoda: unknown command '%s'\n\n", argv[1]);
    print_help();
    return 2;
}
