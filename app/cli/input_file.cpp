#include "input_file.h"

#include <cstdio>
#include <fstream>

namespace pagoda::cli {

Result<std::string> read_input_file(const std::string& path, size_t max_bytes) {
    const std::string limit = std::to_string(max_bytes >> 20) + " MiB";
    if (path == "-") {
        std::string data;
        char buf[65536];
        size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
            data.append(buf, n);
            if (data.size() > max_bytes) return invalid_argument("stdin: more than " + limit);
        }
        return data;
    }
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return io_error(path + ": cannot open");
    const std::streamoff size = in.tellg();
    if (size < 0 || static_cast<uint64_t>(size) > max_bytes) return invalid_argument(path + ": larger than " + limit);
    in.seekg(0);
    std::string data(static_cast<size_t>(size), '\0');
    if (!in.read(data.data(), size)) return io_error(path + ": read failed");
    return data;
}

}  // namespace pagoda::cli
