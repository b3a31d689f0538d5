// Placeholder until this command's owner lands it.
#include <cstdio>

#include "commands.h"

namespace pagoda::cli {
int run_template(int, char**) {
    std::fprintf(stderr, "pagoda template: not built yet\n");
    return 1;
}
}  // namespace pagoda::cli
