// Placeholder until this command's owner lands it.
#include <cstdio>

#include "commands.h"

namespace pagoda::cli {
int run_quantize(int, char**) {
    std::fprintf(stderr, "pagoda quantize: not built yet\n");
    return 1;
}
}  // namespace pagoda::cli
