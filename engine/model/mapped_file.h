// A whole file mapped read-only into memory (model and adapter files are used in place,
// never copied). Move-only; unmaps on destruction. An empty file maps to an empty span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "pagoda/status.h"

namespace pagoda {

class MappedFile {
public:
    // Errors name the path: not_found, io_error, or invalid_argument (not a regular file).
    static Result<MappedFile> open(const std::string& path);

    MappedFile() = default;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const uint8_t> bytes() const { return {static_cast<const uint8_t*>(data_), size_}; }

private:
    void* data_ = nullptr;  // null for an empty file
    size_t size_ = 0;
};

}  // namespace pagoda
