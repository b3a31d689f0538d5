// Each `pagoda <command>` lives in its own cmd_<command>.cpp and is listed here.
#pragma once

namespace pagoda::cli {

// Each returns the process exit code: 0 ok, 1 runtime error, 2 usage error.
int run_generate(int argc, char** argv);
int run_tokenize(int argc, char** argv);
int run_info(int argc, char** argv);
int run_quantize(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_template(int argc, char** argv);
int run_serve(int argc, char** argv);

}  // namespace pagoda::cli
