#include "model/safetensors_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/quant/quant.h"

namespace pagoda {

Status SafetensorsWriter::add_tensor(const std::string& name, SafetensorsDtype dtype, std::vector<int64_t> shape,
                                     std::vector<uint8_t> data) {
    const std::string where = "SafetensorsWriter: tensor '" + name + "': ";
    if (name == "__metadata__") return invalid_argument(where + "reserved name");
    for (const auto& t : tensors_) {
        if (t.name == name) return invalid_argument(where + "added twice");
    }
    if (shape.size() > SafetensorsFile::kMaxDims) return invalid_argument(where + "too many dimensions");
    uint64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) {
            return invalid_argument(where + "bad shape");
        }
    }
    const int size = safetensors_dtype_size(dtype);
    if (size <= 0 || n * size != data.size()) {
        return invalid_argument(where + std::to_string(data.size()) + " bytes for " + std::to_string(n) + " " +
                                safetensors_dtype_name(dtype) + " elements");
    }
    tensors_.push_back(Tensor{name, dtype, std::move(shape), std::move(data)});
    return Status::ok();
}

Status SafetensorsWriter::add_f32_tensor(const std::string& name, SafetensorsDtype dtype, std::vector<int64_t> shape,
                                         const std::vector<float>& values) {
    std::vector<uint8_t> data;
    if (dtype == SafetensorsDtype::F32) {
        data.resize(values.size() * 4);
        if (!data.empty()) std::memcpy(data.data(), values.data(), data.size());
    } else if (dtype == SafetensorsDtype::F16 || dtype == SafetensorsDtype::BF16) {
        data.resize(values.size() * 2);
        for (size_t i = 0; i < values.size(); ++i) {
            const uint16_t h = dtype == SafetensorsDtype::F16 ? fp32_to_fp16(values[i]) : fp32_to_bf16(values[i]);
            std::memcpy(data.data() + 2 * i, &h, 2);
        }
    } else {
        return invalid_argument("SafetensorsWriter: tensor '" + name + "': cannot encode floats as " +
                                safetensors_dtype_name(dtype));
    }
    return add_tensor(name, dtype, std::move(shape), std::move(data));
}

std::vector<uint8_t> SafetensorsWriter::to_bytes() const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) {
        nlohmann::ordered_json meta = nlohmann::ordered_json::object();
        for (const auto& [k, v] : metadata_) meta[k] = v;
        header["__metadata__"] = std::move(meta);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        nlohmann::ordered_json entry = nlohmann::ordered_json::object();
        entry["dtype"] = safetensors_dtype_name(t.dtype);
        entry["shape"] = t.shape;
        entry["data_offsets"] = {offset, offset + t.data.size()};
        offset += t.data.size();
        header[t.name] = std::move(entry);
    }
    std::string text = header.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    while (text.size() % 8 != 0) text.push_back(' ');
    std::vector<uint8_t> out(8 + text.size() + offset);
    const uint64_t len = text.size();
    std::memcpy(out.data(), &len, 8);
    std::memcpy(out.data() + 8, text.data(), text.size());
    uint8_t* p = out.data() + 8 + text.size();
    for (const auto& t : tensors_) {
        if (!t.data.empty()) std::memcpy(p, t.data.data(), t.data.size());
        p += t.data.size();
    }
    return out;
}

Status SafetensorsWriter::write(const std::string& path) const {
    const std::vector<uint8_t> bytes = to_bytes();
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return io_error(tmp + ": cannot create: " + std::strerror(errno));
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) {
        std::remove(tmp.c_str());
        return io_error(tmp + ": write failed");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        return io_error(path + ": cannot rename from " + tmp + ": " + ec.message());
    }
    return Status::ok();
}

}  // namespace pagoda
