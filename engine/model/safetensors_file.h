// Read-only view of a safetensors file (Hugging Face), memory-mapped. Layout:
//   u64 little-endian N | N bytes of JSON header | data buffer
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end)} (offsets
// into the data buffer) plus an optional "__metadata__" object of string -> string.
//
// The file is untrusted: open() bounds the header (<= 100 MB and inside the file), parses
// it with a streaming parser (no DOM, nesting and dimension counts bounded), and checks
// every tensor before anything touches its bytes: known dtype, shape product without
// overflow, byte size == dtype size x elements, offsets inside the buffer. As the format's
// reference implementation does, the tensors must cover the data buffer exactly: no
// overlaps, no holes, no trailing bytes (a writer never produces them; they mean a corrupt
// or crafted file). Names are unique. Problems are reported as "PATH: what is wrong".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/mapped_file.h"
#include "pagoda/status.h"

namespace pagoda {

// Every dtype the format defines with a whole-byte element; only F32, F16 and BF16 convert
// to float. Sub-byte types (F4, F6_*) are refused when the file is opened.
enum class SafetensorsDtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U64,
    U32,
    U16,
    U8,
    BOOL,
    F8_E4M3,
    F8_E5M2,
    F8_E8M0
};
const char* safetensors_dtype_name(SafetensorsDtype dtype);
int safetensors_dtype_size(SafetensorsDtype dtype);

struct SafetensorsTensor {
    std::string name;
    SafetensorsDtype dtype = SafetensorsDtype::F32;
    std::vector<int64_t> shape;  // row-major (PyTorch order): shape.back() is contiguous
    uint64_t offset = 0;         // from the start of the data buffer
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // into the mapping; not aligned (use memcpy)

    int64_t n_elements() const;
};

class SafetensorsFile {
public:
    // The format's own bound on the header (the reference implementation's limit).
    static constexpr uint64_t kMaxHeaderBytes = 100'000'000;
    static constexpr size_t kMaxDims = 8;

    static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path);
    // Parses an in-memory image (tests, fuzzing). `bytes` must outlive the file object.
    static Result<std::unique_ptr<SafetensorsFile>> parse(std::span<const uint8_t> bytes,
                                                          const std::string& name = "<memory>");
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    uint64_t file_size() const { return bytes_.size(); }
    // Tensors in data-buffer order.
    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
    const SafetensorsTensor* find_tensor(std::string_view name) const;
    const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }

    // Converts an F32 / F16 / BF16 tensor to fp32 (row-major, same element order);
    // other dtypes give ErrorCode::unsupported naming the dtype.
    Result<std::vector<float>> to_f32(const SafetensorsTensor& tensor) const;

private:
    SafetensorsFile() = default;
    Status parse_all();

    std::string path_;
    MappedFile mapping_;  // empty when parsing bytes the caller owns
    std::span<const uint8_t> bytes_;
    std::vector<SafetensorsTensor> tensors_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
    std::map<std::string, std::string, std::less<>> metadata_;
};

}  // namespace pagoda
