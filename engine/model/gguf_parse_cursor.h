// Bounds-checked little-endian reader over an untrusted GGUF image, used by the GGUF
// reader only. Every read checks the bytes left first and reports a truncation as
// "NAME: truncated at byte N while reading WHAT (needs K bytes, M left)".
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "pagoda/status.h"

namespace pagoda::gguf_parse {

// Names and keys from a hostile file go into error messages and logs: escape control and
// non-ASCII bytes and cut very long ones so a message stays one readable line.
std::string printable(std::string_view s, size_t max_len = 96);

class Cursor {
public:
    Cursor(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

    uint64_t pos() const { return pos_; }
    uint64_t size() const { return bytes_.size(); }
    uint64_t remaining() const { return bytes_.size() - pos_; }
    const std::string& name() const { return name_; }

    // "NAME: " + message, as invalid_format.
    Status error(const std::string& message) const { return invalid_format(name_ + ": " + message); }

    Status truncated(uint64_t needed, std::string_view what) const {
        return error("truncated at byte " + std::to_string(pos_) + " while reading " + std::string(what) + " (needs " +
                     std::to_string(needed) + " bytes, " + std::to_string(remaining()) + " left)");
    }

    template <typename T>
    Status read(T& out, std::string_view what) {
        static_assert(std::is_trivially_copyable_v<T>);
        if (remaining() < sizeof(T)) return truncated(sizeof(T), what);
        // GGUF is little-endian and so is every host Pagoda builds for.
        std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return Status::ok();
    }

    // GGUF string: u64 length, then that many bytes (not NUL-terminated, any bytes).
    Status read_string(std::string& out, std::string_view what) {
        const uint64_t start = pos_;
        uint64_t len = 0;
        PAGODA_RETURN_IF_ERROR(read(len, what));
        if (len > remaining()) {
            return error("truncated at byte " + std::to_string(start) + ": " + std::string(what) + " claims " +
                         std::to_string(len) + " bytes but only " + std::to_string(remaining()) + " are left");
        }
        out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
        pos_ += len;
        return Status::ok();
    }

private:
    std::span<const uint8_t> bytes_;
    const std::string& name_;
    uint64_t pos_ = 0;
};

}  // namespace pagoda::gguf_parse
