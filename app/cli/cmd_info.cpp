// Placeholder until this command's owner lands it.
#include <cstdio>

#include "commands.h"

namespace pagoda::cli {
int run_info(int, char**) {
    std::fprintf(stderr, "pagoda info: not built yet\n");
    return 1;
}
}  // namespace pagoda::cli
