// Writes safetensors files: the 8-byte header length, the JSON header (padded with spaces
// to a multiple of 8 so the data buffer starts aligned), then the tensors back to back in
// the order they were added. Used by test fixtures (PEFT adapters) and tools.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/safetensors_file.h"
#include "pagoda/status.h"

namespace pagoda {

class SafetensorsWriter {
public:
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

    // `data` holds the tensor already encoded in `dtype`, row-major; shape in PyTorch order.
    Status add_tensor(const std::string& name, SafetensorsDtype dtype, std::vector<int64_t> shape,
                      std::vector<uint8_t> data);
    // Encodes fp32 values as F32, F16 or BF16.
    Status add_f32_tensor(const std::string& name, SafetensorsDtype dtype, std::vector<int64_t> shape,
                          const std::vector<float>& values);

    std::vector<uint8_t> to_bytes() const;
    // Atomic: writes PATH.tmp, then renames.
    Status write(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        SafetensorsDtype dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> data;
    };
    std::map<std::string, std::string> metadata_;
    std::vector<Tensor> tensors_;
};

}  // namespace pagoda
