#include "model/gguf_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "model/ggml_type.h"
#include "model/gguf_parse_cursor.h"
#include "model/gguf_parse_values.h"

namespace pagoda {

using gguf_parse::Cursor;
using gguf_parse::printable;

const char* gguf_value_type_name(GgufValueType type) {
    switch (type) {
        case GgufValueType::UINT8: return "uint8";
        case GgufValueType::INT8: return "int8";
        case GgufValueType::UINT16: return "uint16";
        case GgufValueType::INT16: return "int16";
        case GgufValueType::UINT32: return "uint32";
        case GgufValueType::INT32: return "int32";
        case GgufValueType::FLOAT32: return "float32";
        case GgufValueType::BOOL: return "bool";
        case GgufValueType::STRING: return "string";
        case GgufValueType::ARRAY: return "array";
        case GgufValueType::UINT64: return "uint64";
        case GgufValueType::INT64: return "int64";
        case GgufValueType::FLOAT64: return "float64";
    }
    return "unknown";
}

// ---- GgufValue accessors -------------------------------------------------------------

std::optional<int64_t> GgufValue::as_int() const {
    if (const auto* u = std::get_if<uint64_t>(&data)) {
        if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return static_cast<int64_t>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&data)) return *i;
    return std::nullopt;
}

std::optional<uint64_t> GgufValue::as_uint() const {
    if (const auto* u = std::get_if<uint64_t>(&data)) return *u;
    if (const auto* i = std::get_if<int64_t>(&data)) {
        if (*i < 0) return std::nullopt;
        return static_cast<uint64_t>(*i);
    }
    return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
    if (const auto* d = std::get_if<double>(&data)) return *d;
    // Integers convert when a double holds them exactly (|v| <= 2^53): some converters store
    // float hyperparameters such as rope.freq_base as integers.
    constexpr uint64_t kExact = uint64_t{1} << 53;
    if (const auto* u = std::get_if<uint64_t>(&data)) {
        if (*u > kExact) return std::nullopt;
        return static_cast<double>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&data)) {
        if (*i > static_cast<int64_t>(kExact) || *i < -static_cast<int64_t>(kExact)) return std::nullopt;
        return static_cast<double>(*i);
    }
    return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
    if (const auto* b = std::get_if<bool>(&data)) return *b;
    return std::nullopt;
}

const std::string* GgufValue::as_string() const { return std::get_if<std::string>(&data); }

const GgufValue::Array* GgufValue::as_array() const { return std::get_if<Array>(&data); }

int64_t GgufTensorInfo::n_elements() const {
    // The reader has checked the product fits; this guards infos built by hand.
    int64_t n = 1;
    for (int64_t d : dims) {
        if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
    }
    return n;
}

// ---- GgufFile ------------------------------------------------------------------------

GgufFile::~GgufFile() = default;

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path) {
    auto mapped = MappedFile::open(path);
    if (!mapped) return mapped.status();
    if (mapped->bytes().empty()) return invalid_format(path + ": empty file, not a GGUF model");
    std::unique_ptr<GgufFile> file(new GgufFile());
    file->path_ = path;
    file->mapping_ = std::move(mapped.value());
    file->bytes_ = file->mapping_.bytes();
    PAGODA_RETURN_IF_ERROR(file->parse_all());
    return file;
}

Result<std::unique_ptr<GgufFile>> GgufFile::parse(std::span<const uint8_t> bytes, const std::string& name) {
    std::unique_ptr<GgufFile> file(new GgufFile());
    file->path_ = name;
    file->bytes_ = bytes;
    PAGODA_RETURN_IF_ERROR(file->parse_all());
    return file;
}

const GgufValue* GgufFile::find(std::string_view key) const {
    auto it = metadata_index_.find(key);
    return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
    const GgufValue* v = find(key);
    return v ? v->as_int() : std::nullopt;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
    const GgufValue* v = find(key);
    return v ? v->as_float() : std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
    const GgufValue* v = find(key);
    return v ? v->as_bool() : std::nullopt;
}

const std::string* GgufFile::get_string(std::string_view key) const {
    const GgufValue* v = find(key);
    return v ? v->as_string() : nullptr;
}

const GgufValue::Array* GgufFile::get_array(std::string_view key) const {
    const GgufValue* v = find(key);
    return v ? v->as_array() : nullptr;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace pagoda
