// Writes GGUF v3 files: metadata of every type, then tensors aligned to
// general.alignment. Used by `pagoda quantize`, by tests that need models of a given
// architecture, and by the tokenizer tools. Output is readable by llama.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf_file.h"
#include "pagoda/status.h"

namespace pagoda {

class GgufWriter {
public:
    explicit GgufWriter(uint64_t alignment = 32) : alignment_(alignment) {}

    void set(const std::string& key, GgufValue value);
    void set_string(const std::string& key, std::string value);
    void set_u32(const std::string& key, uint32_t value);
    void set_i32(const std::string& key, int32_t value);
    void set_f32(const std::string& key, float value);
    void set_bool(const std::string& key, bool value);
    void set_string_array(const std::string& key, const std::vector<std::string>& values);
    void set_f32_array(const std::string& key, const std::vector<float>& values);
    void set_i32_array(const std::string& key, const std::vector<int32_t>& values);

    // `data` holds the tensor already encoded in `type` (ggml_row_bytes per row).
    // dims in GGML order (dims[0] innermost).
    Status add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> dims, std::vector<uint8_t> data);

    // Writes atomically: to PATH.tmp, then rename, so a failed write never leaves a
    // half file under the final name.
    Status write(const std::string& path) const;
    std::vector<uint8_t> to_bytes() const;

private:
    struct Tensor {
        std::string name;
        GgmlType type;
        std::vector<int64_t> dims;
        std::vector<uint8_t> data;
    };
    uint64_t alignment_;
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::vector<Tensor> tensors_;
};

}  // namespace pagoda
