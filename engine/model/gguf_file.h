// Read-only view of a GGUF v2/v3 file, memory-mapped: metadata is parsed into values,
// tensor data stays in the mapping (zero copy). The file is untrusted: open() checks
// every count, length, offset and type before anything is allocated or touched, and
// reports problems as "PATH: what is wrong".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/mapped_file.h"
#include "pagoda/status.h"
#include "pagoda/types.h"

namespace pagoda {

// GGUF metadata value types, numbered as in the file format.
enum class GgufValueType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
    BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* gguf_value_type_name(GgufValueType type);

// One metadata value. Arrays hold elements of a single type; nested arrays are allowed
// by the format and kept as such.
struct GgufValue {
    struct Array {
        GgufValueType element_type = GgufValueType::UINT8;
        std::vector<GgufValue> items;
    };
    GgufValueType type = GgufValueType::UINT8;
    std::variant<uint64_t, int64_t, double, bool, std::string, Array> data;

    // Typed accessors; nullopt when the stored type does not convert losslessly
    // (integers of any width convert to int64/uint64 when in range; floats to double).
    std::optional<int64_t> as_int() const;
    std::optional<uint64_t> as_uint() const;
    std::optional<double> as_float() const;
    std::optional<bool> as_bool() const;
    const std::string* as_string() const;
    const Array* as_array() const;
};

struct GgufTensorInfo {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> dims;  // GGML order: dims[0] is the contiguous (innermost) one
    uint64_t offset = 0;        // from the start of the data section
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // points into the mapping

    int64_t n_elements() const;
};

class GgufFile {
public:
    // Maps and validates `path`. Errors name the file and the problem.
    static Result<std::unique_ptr<GgufFile>> open(const std::string& path);
    // Parses an in-memory image (tests, fuzzing). `bytes` must outlive the GgufFile.
    static Result<std::unique_ptr<GgufFile>> parse(std::span<const uint8_t> bytes, const std::string& name = "<memory>");
    ~GgufFile();

    GgufFile(const GgufFile&) = delete;
    GgufFile& operator=(const GgufFile&) = delete;

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t file_size() const { return bytes_.size(); }

    // Metadata in file order and by key.
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
    const GgufValue* find(std::string_view key) const;
    std::optional<int64_t> get_int(std::string_view key) const;
    std::optional<double> get_float(std::string_view key) const;
    std::optional<bool> get_bool(std::string_view key) const;
    const std::string* get_string(std::string_view key) const;
    const GgufValue::Array* get_array(std::string_view key) const;

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(std::string_view name) const;

private:
    GgufFile() = default;
    Status parse_all();

    std::string path_;
    MappedFile mapping_;  // empty when parsing bytes the caller owns
    std::span<const uint8_t> bytes_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::map<std::string, size_t, std::less<>> metadata_index_;
    std::vector<GgufTensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace pagoda
