#include "model/gguf_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "model/ggml_type.h"

namespace pagoda {
namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr size_t kMaxDims = 4;
// llama.cpp keeps tensor names in a 64-byte buffer (GGML_MAX_NAME) including the NUL.
constexpr size_t kMaxTensorName = 63;
constexpr const char* kAlignmentKey = "general.alignment";

bool is_integer_type(GgufValueType t) {
    switch (t) {
        case GgufValueType::UINT8:
        case GgufValueType::INT8:
        case GgufValueType::UINT16:
        case GgufValueType::INT16:
        case GgufValueType::UINT32:
        case GgufValueType::INT32:
        case GgufValueType::UINT64:
        case GgufValueType::INT64: return true;
        default: return false;
    }
}

// Range of each integer type as [min, max] in int128 so signed and unsigned compare simply.
bool fits(GgufValueType t, const GgufValue& v) {
    __int128 x = 0;
    if (auto u = v.as_uint()) {
        x = static_cast<__int128>(*u);
    } else if (auto i = v.as_int()) {
        x = *i;
    } else {
        return false;
    }
    switch (t) {
        case GgufValueType::UINT8: return x >= 0 && x <= UINT8_MAX;
        case GgufValueType::INT8: return x >= INT8_MIN && x <= INT8_MAX;
        case GgufValueType::UINT16: return x >= 0 && x <= UINT16_MAX;
        case GgufValueType::INT16: return x >= INT16_MIN && x <= INT16_MAX;
        case GgufValueType::UINT32: return x >= 0 && x <= UINT32_MAX;
        case GgufValueType::INT32: return x >= INT32_MIN && x <= INT32_MAX;
        case GgufValueType::UINT64: return x >= 0 && x <= static_cast<__int128>(UINT64_MAX);
        case GgufValueType::INT64: return x >= INT64_MIN && x <= INT64_MAX;
        default: return false;
    }
}

// Values are plain structs anyone can fill in; check the declared type matches what is
// stored (and fits) before writing, so the file never says one thing and holds another.
Status validate_value(const GgufValue& v, const std::string& where, int depth) {
    const auto bad = [&](const std::string& why) { return invalid_argument("GgufWriter: " + where + ": " + why); };
    const std::string type_name = gguf_value_type_name(v.type);
    if (static_cast<uint32_t>(v.type) > static_cast<uint32_t>(GgufValueType::FLOAT64)) {
        return bad("unknown value type " + std::to_string(static_cast<uint32_t>(v.type)));
    }
    if (is_integer_type(v.type)) {
        if (!v.as_int() && !v.as_uint()) return bad(type_name + " value does not hold an integer");
        if (!fits(v.type, v)) return bad("value does not fit in " + type_name);
        return Status::ok();
    }
    switch (v.type) {
        case GgufValueType::FLOAT32:
        case GgufValueType::FLOAT64:
            if (!v.as_float()) return bad(type_name + " value does not hold a number");
            return Status::ok();
        case GgufValueType::BOOL:
            if (!v.as_bool()) return bad("bool value does not hold a bool");
            return Status::ok();
        case GgufValueType::STRING:
            if (!v.as_string()) return bad("string value does not hold a string");
            return Status::ok();
        case GgufValueType::ARRAY: {
            const auto* a = v.as_array();
            if (!a) return bad("array value does not hold an array");
            if (depth >= 8) return bad("arrays nested more than 8 deep");
            for (size_t i = 0; i < a->items.size(); ++i) {
                if (a->items[i].type != a->element_type) {
                    return bad("item " + std::to_string(i) + " is " + gguf_value_type_name(a->items[i].type) +
                               " in an array of " + gguf_value_type_name(a->element_type));
                }
                PAGODA_RETURN_IF_ERROR(validate_value(a->items[i], where + "[" + std::to_string(i) + "]", depth + 1));
            }
            return Status::ok();
        }
        default: return bad("unknown value type");
    }
}

class Out {
public:
    explicit Out(std::vector<uint8_t>& bytes) : bytes_(bytes) {}
    template <typename T>
    void put(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        bytes_.insert(bytes_.end(), p, p + sizeof(T));  // little-endian host
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        bytes_.insert(bytes_.end(), s.begin(), s.end());
    }
    void put_zeros(size_t n) { bytes_.insert(bytes_.end(), n, uint8_t{0}); }

    // Assumes validate_value() passed.
    void put_payload(const GgufValue& v) {
        switch (v.type) {
            case GgufValueType::UINT8: put(static_cast<uint8_t>(*v.as_uint())); break;
            case GgufValueType::INT8: put(static_cast<int8_t>(*v.as_int())); break;
            case GgufValueType::UINT16: put(static_cast<uint16_t>(*v.as_uint())); break;
            case GgufValueType::INT16: put(static_cast<int16_t>(*v.as_int())); break;
            case GgufValueType::UINT32: put(static_cast<uint32_t>(*v.as_uint())); break;
            case GgufValueType::INT32: put(static_cast<int32_t>(*v.as_int())); break;
            case GgufValueType::UINT64: put(*v.as_uint()); break;
            case GgufValueType::INT64: put(*v.as_int()); break;
            case GgufValueType::FLOAT32: put(static_cast<float>(*v.as_float())); break;
            case GgufValueType::FLOAT64: put(*v.as_float()); break;
            case GgufValueType::BOOL: put(static_cast<uint8_t>(*v.as_bool() ? 1 : 0)); break;
            case GgufValueType::STRING: put_string(*v.as_string()); break;
            case GgufValueType::ARRAY: {
                const auto* a = v.as_array();
                put(static_cast<uint32_t>(a->element_type));
                put<uint64_t>(a->items.size());
                for (const auto& item : a->items) put_payload(item);
                break;
            }
        }
    }

private:
    std::vector<uint8_t>& bytes_;
};

uint64_t padding(uint64_t size, uint64_t alignment) { return (alignment - size % alignment) % alignment; }

// Everything before the data section: header, metadata, tensor infos, padding. Tensors are
// laid out in insertion order, each padded to the alignment (llama.cpp expects exactly
// that: each offset equals the sum of the padded sizes before it).
template <typename Tensors>
Result<std::vector<uint8_t>> build_header(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                                          const Tensors& tensors, uint64_t alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (uint64_t{1} << 30)) {
        return invalid_argument("GgufWriter: alignment " + std::to_string(alignment) +
                                " is not a power of two between 1 and 2^30");
    }
    bool has_alignment_key = false;
    for (const auto& [key, value] : metadata) {
        PAGODA_RETURN_IF_ERROR(validate_value(value, "metadata key '" + key + "'", 0));
        if (key == kAlignmentKey) {
            has_alignment_key = true;
            if (value.as_uint() != alignment) {
                return invalid_argument(
                    "GgufWriter: general.alignment is set to a value other than the writer's "
                    "alignment " +
                    std::to_string(alignment));
            }
        }
    }
    // The reader's default is 32; any other alignment must be stated in the file.
    const bool add_alignment_key = !has_alignment_key && alignment != kDefaultAlignment;

    std::vector<uint8_t> bytes;
    Out out(bytes);
    out.put<uint32_t>(0x46554747u);  // "GGUF"
    out.put<uint32_t>(3);
    out.put<uint64_t>(tensors.size());
    out.put<uint64_t>(metadata.size() + (add_alignment_key ? 1 : 0));
    for (const auto& [key, value] : metadata) {
        out.put_string(key);
        if (key == kAlignmentKey) {  // always as uint32, the type llama.cpp requires
            out.put(static_cast<uint32_t>(GgufValueType::UINT32));
            out.put(static_cast<uint32_t>(alignment));
            continue;
        }
        out.put(static_cast<uint32_t>(value.type));
        out.put_payload(value);
    }
    if (add_alignment_key) {
        out.put_string(kAlignmentKey);
        out.put(static_cast<uint32_t>(GgufValueType::UINT32));
        out.put(static_cast<uint32_t>(alignment));
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        out.put_string(t.name);
        out.put(static_cast<uint32_t>(t.dims.size()));
        for (int64_t d : t.dims) out.put(static_cast<uint64_t>(d));
        out.put(static_cast<uint32_t>(t.type));
        out.put<uint64_t>(offset);
        offset += t.data.size() + padding(t.data.size(), alignment);
    }
    out.put_zeros(padding(bytes.size(), alignment));
    return bytes;
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
    for (auto& [k, v] : metadata_) {
        if (k == key) {
            v = std::move(value);  // keeps the key's original position
            return;
        }
    }
    metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::set_string(const std::string& key, std::string value) {
    set(key, GgufValue{GgufValueType::STRING, std::move(value)});
}
void GgufWriter::set_u32(const std::string& key, uint32_t value) {
    set(key, GgufValue{GgufValueType::UINT32, uint64_t{value}});
}
void GgufWriter::set_i32(const std::string& key, int32_t value) {
    set(key, GgufValue{GgufValueType::INT32, int64_t{value}});
}
void GgufWriter::set_f32(const std::string& key, float value) {
    set(key, GgufValue{GgufValueType::FLOAT32, static_cast<double>(value)});
}
void GgufWriter::set_bool(const std::string& key, bool value) { set(key, GgufValue{GgufValueType::BOOL, value}); }

void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& values) {
    GgufValue::Array a;
    a.element_type = GgufValueType::STRING;
    a.items.reserve(values.size());
    for (const auto& s : values) a.items.push_back(GgufValue{GgufValueType::STRING, s});
    set(key, GgufValue{GgufValueType::ARRAY, std::move(a)});
}

void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& values) {
    GgufValue::Array a;
    a.element_type = GgufValueType::FLOAT32;
    a.items.reserve(values.size());
    for (float f : values) a.items.push_back(GgufValue{GgufValueType::FLOAT32, static_cast<double>(f)});
    set(key, GgufValue{GgufValueType::ARRAY, std::move(a)});
}

void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& values) {
    GgufValue::Array a;
    a.element_type = GgufValueType::INT32;
    a.items.reserve(values.size());
    for (int32_t i : values) a.items.push_back(GgufValue{GgufValueType::INT32, int64_t{i}});
    set(key, GgufValue{GgufValueType::ARRAY, std::move(a)});
}

Status GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> dims,
                              std::vector<uint8_t> data) {
    const std::string where = "GgufWriter: tensor '" + name + "': ";
    if (name.empty()) return invalid_argument("GgufWriter: tensor name is empty");
    if (name.size() > kMaxTensorName) {
        return invalid_argument(where + "name is longer than " + std::to_string(kMaxTensorName) +
                                " bytes (llama.cpp cannot load it)");
    }
    for (const auto& t : tensors_) {
        if (t.name == name) return invalid_argument(where + "added twice");
    }
    const auto info = ggml_type_info(static_cast<uint32_t>(type));
    if (!info) return invalid_argument(where + "unknown type " + std::to_string(static_cast<uint32_t>(type)));
    if (dims.empty() || dims.size() > kMaxDims) {
        return invalid_argument(where + std::to_string(dims.size()) + " dimensions (1 to 4 allowed)");
    }
    int64_t rows = 1;
    for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] <= 0) return invalid_argument(where + "dimension " + std::to_string(i) + " is not positive");
        if (i > 0 && __builtin_mul_overflow(rows, dims[i], &rows)) {
            return invalid_argument(where + "element count overflows");
        }
    }
    const auto row_bytes = ggml_row_bytes(type, dims[0]);
    if (!row_bytes) {
        return invalid_argument(where + "a row of " + std::to_string(dims[0]) + " values is not a whole number of " +
                                info->name + " blocks (" + std::to_string(info->block_size) + " values each)");
    }
    uint64_t expected = 0;
    if (__builtin_mul_overflow(*row_bytes, static_cast<uint64_t>(rows), &expected)) {
        return invalid_argument(where + "byte size overflows");
    }
    if (data.size() != expected) {
        return invalid_argument(where + std::to_string(data.size()) + " bytes of data, but " + info->name +
                                " with these dims takes " + std::to_string(expected));
    }
    tensors_.push_back(Tensor{name, type, std::move(dims), std::move(data)});
    return Status::ok();
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
    // An invalid writer (bad alignment, mistyped value) yields no bytes; write() says why.
    auto header = build_header(metadata_, tensors_, alignment_);
    if (!header.is_ok()) return {};
    std::vector<uint8_t> bytes = std::move(header).value();
    for (const auto& t : tensors_) {
        bytes.insert(bytes.end(), t.data.begin(), t.data.end());
        bytes.insert(bytes.end(), padding(t.data.size(), alignment_), uint8_t{0});
    }
    return bytes;
}

Status GgufWriter::write(const std::string& path) const {
    auto header = build_header(metadata_, tensors_, alignment_);
    if (!header.is_ok()) return header.status();

    // Streams tensor data straight to disk: a quantized model is never held twice in RAM.
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) return io_error(tmp + ": cannot create: " + std::strerror(errno));
    const auto fail = [&](const char* what) {
        const int err = errno;
        std::fclose(f);
        std::remove(tmp.c_str());
        return io_error(tmp + ": " + what + ": " + std::strerror(err));
    };
    const std::vector<uint8_t>& h = header.value();
    if (std::fwrite(h.data(), 1, h.size(), f) != h.size()) return fail("write failed");
    static const uint8_t zeros[256] = {};
    for (const auto& t : tensors_) {
        if (!t.data.empty() && std::fwrite(t.data.data(), 1, t.data.size(), f) != t.data.size()) {
            return fail("write failed");
        }
        for (uint64_t pad = padding(t.data.size(), alignment_); pad > 0;) {
            const size_t n = pad < sizeof(zeros) ? static_cast<size_t>(pad) : sizeof(zeros);
            if (std::fwrite(zeros, 1, n, f) != n) return fail("write failed");
            pad -= n;
        }
    }
    if (std::fflush(f) != 0) return fail("flush failed");
    if (fsync(fileno(f)) != 0) return fail("fsync failed");
    if (std::fclose(f) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        return io_error(tmp + ": close failed: " + std::strerror(err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        return io_error(path + ": cannot rename " + tmp + " into place: " + std::strerror(err));
    }
    return Status::ok();
}

}  // namespace pagoda
