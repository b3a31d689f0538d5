// Reading a file named on the command line ("-" = stdin), with a size cap: templates,
// message lists, grammars and JSON schemas are small, and a wrong path (a model file, a
// device) must not be read whole into memory.
#pragma once

#include <cstddef>
#include <string>

#include "pagoda/status.h"

namespace pagoda::cli {

inline constexpr size_t kMaxInputFileBytes = 64u << 20;

Result<std::string> read_input_file(const std::string& path, size_t max_bytes = kMaxInputFileBytes);

}  // namespace pagoda::cli
