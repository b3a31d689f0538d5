#include "model/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "model/gguf_parse_cursor.h"  // gguf_parse::printable
#include "model/quant/quant.h"

namespace pagoda {

using gguf_parse::printable;

namespace {

struct DtypeName {
    const char* name;
    SafetensorsDtype dtype;
    int size;
};
constexpr DtypeName kDtypes[] = {
    {"F64", SafetensorsDtype::F64, 8},         {"F32", SafetensorsDtype::F32, 4},
    {"F16", SafetensorsDtype::F16, 2},         {"BF16", SafetensorsDtype::BF16, 2},
    {"I64", SafetensorsDtype::I64, 8},         {"I32", SafetensorsDtype::I32, 4},
    {"I16", SafetensorsDtype::I16, 2},         {"I8", SafetensorsDtype::I8, 1},
    {"U64", SafetensorsDtype::U64, 8},         {"U32", SafetensorsDtype::U32, 4},
    {"U16", SafetensorsDtype::U16, 2},         {"U8", SafetensorsDtype::U8, 1},
    {"BOOL", SafetensorsDtype::BOOL, 1},       {"F8_E4M3", SafetensorsDtype::F8_E4M3, 1},
    {"F8_E5M2", SafetensorsDtype::F8_E5M2, 1}, {"F8_E8M0", SafetensorsDtype::F8_E8M0, 1},
};

// Nesting the format needs is 3 (root / entry / shape); values of unknown fields are
// skipped but still bounded.
constexpr int kMaxDepth = 32;

// One header entry as the JSON gave it, before any checks against the buffer.
struct RawEntry {
    std::string name;
    std::string dtype;
    std::vector<uint64_t> shape;
    std::vector<uint64_t> offsets;
    bool has_dtype = false, has_shape = false, has_offsets = false;
};

// Streaming reader of the header JSON: builds the entries directly, so a hostile header
// costs memory in proportion to what we keep (names, a few numbers), never a DOM of
// arbitrary values. Returning false from any callback stops the parse; `error` says why.
class HeaderSax {
public:
    using Json = nlohmann::json;

    std::string error;
    std::vector<RawEntry> entries;
    std::map<std::string, std::string, std::less<>> metadata;

    bool null() { return scalar("null"); }
    bool boolean(bool) { return scalar("a boolean"); }
    bool number_integer(int64_t v) {
        if (v >= 0) return number(static_cast<uint64_t>(v), std::to_string(v));
        return scalar("the negative number " + std::to_string(v));
    }
    bool number_unsigned(uint64_t v) { return number(v, std::to_string(v)); }
    bool number_float(double, const std::string& s) { return scalar("the number " + printable(s, 32)); }
    bool binary(Json::binary_t&) { return scalar("binary data"); }

    bool string(std::string& s) {
        if (skip_base_ != 0) return true;
        if (depth_ == 0) return fail("the header is a JSON string, not an object");
        if (depth_ == 1) return fail("entry " + quoted(key1_) + " is a string, not an object");
        if (depth_ == 2) {
            if (in_metadata_) {
                metadata.emplace(key2_, std::move(s));
                return true;
            }
            if (field_ == Field::dtype) {
                entries.back().dtype = std::move(s);
                return true;
            }
            if (field_ == Field::other) return true;
            return fail(where() + " is a string, not an array of integers");
        }
        return fail(where() + " holds a string, not an integer");
    }

    bool start_object(std::size_t) { return open_container(true); }
    bool start_array(std::size_t) { return open_container(false); }
    bool end_object() { return close_container(); }
    bool end_array() { return close_container(); }

    bool key(std::string& k) {
        if (skip_base_ != 0) return true;
        if (depth_ == 1) {
            if (!seen_.insert(k).second) return fail("name " + quoted(k) + " appears twice in the header");
            key1_ = std::move(k);
            return true;
        }
        // depth 2: a field of an entry, or a metadata key
        if (!fields_seen_.insert(k).second) return fail(quoted(key1_) + " has the key " + quoted(k) + " twice");
        key2_ = std::move(k);
        if (in_metadata_) return true;
        if (key2_ == "dtype") {
            field_ = Field::dtype;
            entries.back().has_dtype = true;
        } else if (key2_ == "shape") {
            field_ = Field::shape;
            entries.back().has_shape = true;
        } else if (key2_ == "data_offsets") {
            field_ = Field::offsets;
            entries.back().has_offsets = true;
        } else {
            field_ = Field::other;  // tolerated and ignored, as the reference reader does
        }
        return true;
    }

    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
        if (error.empty()) {
            std::string what = ex.what();
            // nlohmann's text ends with the raw bytes it last read; keep the message printable.
            error = "the header is not valid JSON (byte " + std::to_string(position) + "): " + printable(what, 200);
        }
        return false;
    }

private:
    enum class Field { none, dtype, shape, offsets, other };

    bool fail(std::string message) {
        if (error.empty()) error = std::move(message);
        return false;
    }
    static std::string quoted(const std::string& s) {
        std::string q(1, '\'');  // built by appending: GCC 12 warns falsely on "'" + string&&
        q += printable(s);
        q += '\'';
        return q;
    }
    std::string where() const {
        return in_metadata_ ? "__metadata__ value " + quoted(key2_) : "tensor " + quoted(key1_) + " " + key2_;
    }

    bool scalar(const std::string& what) {
        if (skip_base_ != 0) return true;
        if (depth_ == 0) return fail("the header is " + what + ", not a JSON object");
        if (depth_ == 1) return fail("entry " + quoted(key1_) + " is " + what + ", not an object");
        if (depth_ == 2) {
            if (in_metadata_) return fail(where() + " is " + what + ", not a string");
            if (field_ == Field::other) return true;
            return fail(where() + " is " + what + (field_ == Field::dtype ? ", not a string" : ", not an array"));
        }
        return fail(where() + " holds " + what + ", not a non-negative integer");
    }

    bool number(uint64_t v, const std::string& text) {
        if (skip_base_ != 0) return true;
        if (depth_ != 3) return scalar("the number " + text);
        auto& e = entries.back();
        if (field_ == Field::shape) {
            if (e.shape.size() >= SafetensorsFile::kMaxDims) {
                return fail("tensor " + quoted(key1_) + " has more than " + std::to_string(SafetensorsFile::kMaxDims) +
                            " dimensions");
            }
            e.shape.push_back(v);
        } else {
            if (e.offsets.size() >= 2) return fail("tensor " + quoted(key1_) + " data_offsets has more than 2 values");
            e.offsets.push_back(v);
        }
        return true;
    }

    bool open_container(bool object) {
        if (depth_ >= kMaxDepth) return fail("the header nests deeper than " + std::to_string(kMaxDepth) + " levels");
        if (skip_base_ != 0) {
            ++depth_;
            return true;
        }
        const char* kind = object ? "an object" : "an array";
        switch (depth_) {
            case 0:
                if (!object) return fail("the header is a JSON array, not an object");
                break;
            case 1:
                if (!object) return fail("entry " + quoted(key1_) + " is an array, not an object");
                in_metadata_ = key1_ == "__metadata__";
                fields_seen_.clear();
                field_ = Field::none;
                if (!in_metadata_) {
                    entries.emplace_back();
                    entries.back().name = key1_;
                }
                break;
            case 2:
                if (in_metadata_) return fail(where() + " is " + kind + ", not a string");
                if (field_ == Field::other) {
                    skip_base_ = depth_;  // skip this value whole
                } else if (object || field_ == Field::dtype) {
                    return fail(where() + " is " + kind +
                                (field_ == Field::dtype ? ", not a string" : ", not an array"));
                }
                break;
            default: return fail(where() + " holds " + kind + ", not a non-negative integer");
        }
        ++depth_;
        return true;
    }

    bool close_container() {
        --depth_;
        if (skip_base_ != 0) {
            if (depth_ == skip_base_) skip_base_ = 0;
            return true;
        }
        if (depth_ == 2 && field_ == Field::offsets && entries.back().offsets.size() != 2) {
            return fail("tensor " + quoted(key1_) + " data_offsets has " +
                        std::to_string(entries.back().offsets.size()) + " values, not 2 ([begin, end])");
        }
        if (depth_ == 1 && !in_metadata_) {
            const auto& e = entries.back();
            const char* missing = !e.has_dtype     ? "dtype"
                                  : !e.has_shape   ? "shape"
                                  : !e.has_offsets ? "data_offsets"
                                                   : nullptr;
            if (missing) return fail("tensor " + quoted(key1_) + " has no " + missing);
        }
        if (depth_ == 1) in_metadata_ = false;
        return true;
    }

    int depth_ = 0;
    int skip_base_ = 0;  // != 0: inside a skipped value that started at this depth
    bool in_metadata_ = false;
    Field field_ = Field::none;
    std::string key1_, key2_;
    std::set<std::string, std::less<>> seen_;
    std::set<std::string, std::less<>> fields_seen_;
};

std::string range_string(uint64_t begin, uint64_t end) {
    std::string s(1, '[');  // appended: GCC 12 warns falsely on "[" + string&&
    s += std::to_string(begin);
    s += ", ";
    s += std::to_string(end);
    s += ')';
    return s;
}

}  // namespace

const char* safetensors_dtype_name(SafetensorsDtype dtype) {
    for (const auto& d : kDtypes) {
        if (d.dtype == dtype) return d.name;
    }
    return "?";
}

int safetensors_dtype_size(SafetensorsDtype dtype) {
    for (const auto& d : kDtypes) {
        if (d.dtype == dtype) return d.size;
    }
    return 0;
}

int64_t SafetensorsTensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
    }
    return n;
}

SafetensorsFile::~SafetensorsFile() = default;

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
    auto mapped = MappedFile::open(path);
    if (!mapped) return mapped.status();
    const size_t size = mapped->bytes().size();
    if (size < 8) {
        return invalid_format(path + ": " + std::to_string(size) +
                              " bytes, too small to be a safetensors file (needs at least the 8-byte header length)");
    }
    std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
    file->path_ = path;
    file->mapping_ = std::move(mapped.value());
    file->bytes_ = file->mapping_.bytes();
    PAGODA_RETURN_IF_ERROR(file->parse_all());
    return file;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::parse(std::span<const uint8_t> bytes,
                                                                const std::string& name) {
    std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
    file->path_ = name;
    file->bytes_ = bytes;
    PAGODA_RETURN_IF_ERROR(file->parse_all());
    return file;
}

Status SafetensorsFile::parse_all() {
    auto error = [&](const std::string& m) { return invalid_format(path_ + ": " + m); };
    if (bytes_.size() < 8) {
        return error(std::to_string(bytes_.size()) +
                     " bytes, too small to be a safetensors file (needs at least the 8-byte header length)");
    }
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes_.data(), 8);  // little-endian, as every host we build for
    const uint64_t after = bytes_.size() - 8;
    if (header_len > kMaxHeaderBytes) {
        return error("header length " + std::to_string(header_len) + " is over the format's limit of " +
                     std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file, or corrupt)");
    }
    if (header_len > after) {
        return error("truncated: the header claims " + std::to_string(header_len) + " bytes but only " +
                     std::to_string(after) + " follow the length field");
    }
    if (header_len < 2) return error("header length " + std::to_string(header_len) + " cannot hold a JSON object");

    const char* header = reinterpret_cast<const char*>(bytes_.data() + 8);
    HeaderSax sax;
    bool ok = false;
    // nlohmann-json may throw (e.g. allocation failure); nothing may leave the engine.
    try {
        ok = nlohmann::json::sax_parse(header, header + header_len, &sax, nlohmann::json::input_format_t::json,
                                       /*strict=*/true);
    } catch (const std::exception& e) {
        return error(std::string("cannot parse the header: ") + e.what());
    }
    if (!ok) return error(sax.error.empty() ? "the header is not valid JSON" : sax.error);

    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = bytes_.size() - data_start;
    tensors_.reserve(sax.entries.size());
    for (auto& e : sax.entries) {
        const std::string tname = "tensor '" + printable(e.name) + "'";
        SafetensorsTensor t;
        const DtypeName* d = nullptr;
        for (const auto& cand : kDtypes) {
            if (e.dtype == cand.name) d = &cand;
        }
        if (d == nullptr) {
            if (e.dtype == "F4" || e.dtype.rfind("F6_", 0) == 0) {
                return unsupported(path_ + ": " + tname + " has the sub-byte dtype " + e.dtype +
                                   ", which Pagoda does not read");
            }
            return error(tname + " has unknown dtype '" + printable(e.dtype) + "'");
        }
        t.dtype = d->dtype;
        int64_t n = 1;
        for (size_t i = 0; i < e.shape.size(); ++i) {
            if (e.shape[i] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                __builtin_mul_overflow(n, static_cast<int64_t>(e.shape[i]), &n)) {
                return error(tname + " shape overflows (dimension " + std::to_string(i) + " is " +
                             std::to_string(e.shape[i]) + ")");
            }
            t.shape.push_back(static_cast<int64_t>(e.shape[i]));
        }
        uint64_t n_bytes = 0;
        if (__builtin_mul_overflow(static_cast<uint64_t>(n), static_cast<uint64_t>(d->size), &n_bytes)) {
            return error(tname + " byte size overflows (" + std::to_string(n) + " elements of " + d->name + ")");
        }
        const uint64_t begin = e.offsets[0], end = e.offsets[1];
        if (begin > end) return error(tname + " data_offsets " + range_string(begin, end) + " end before they begin");
        if (end > data_size) {
            return error(tname + " data_offsets " + range_string(begin, end) + " run past the data buffer (" +
                         std::to_string(data_size) + " bytes; truncated file?)");
        }
        if (end - begin != n_bytes) {
            return error(tname + " takes " + std::to_string(end - begin) + " bytes, but " + std::to_string(n) + " " +
                         d->name + " elements need " + std::to_string(n_bytes));
        }
        t.name = std::move(e.name);
        t.offset = begin;
        t.n_bytes = n_bytes;
        t.data = bytes_.data() + data_start + begin;
        tensors_.push_back(std::move(t));
    }
    std::sort(tensors_.begin(), tensors_.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
        return a.offset != b.offset ? a.offset < b.offset : a.n_bytes < b.n_bytes;
    });
    // The buffer must be covered exactly, as the reference reader requires.
    uint64_t pos = 0;
    const SafetensorsTensor* prev = nullptr;
    for (const auto& t : tensors_) {
        const std::string tname = "tensor '" + printable(t.name) + "'";
        if (t.offset < pos) {
            return error(tname + " " + range_string(t.offset, t.offset + t.n_bytes) + " overlaps tensor '" +
                         printable(prev->name) + "' " + range_string(prev->offset, prev->offset + prev->n_bytes));
        }
        if (t.offset > pos) {
            return error("bytes " + range_string(pos, t.offset) + " of the data buffer belong to no tensor (before " +
                         tname + ")");
        }
        pos = t.offset + t.n_bytes;
        prev = &t;
    }
    if (pos != data_size) {
        return error("bytes " + range_string(pos, data_size) + " at the end of the data buffer belong to no tensor");
    }
    for (size_t i = 0; i < tensors_.size(); ++i) tensor_index_.emplace(tensors_[i].name, i);
    metadata_ = std::move(sax.metadata);
    return Status::ok();
}

const SafetensorsTensor* SafetensorsFile::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::vector<float>> SafetensorsFile::to_f32(const SafetensorsTensor& t) const {
    const int64_t n = t.n_elements();
    const int size = safetensors_dtype_size(t.dtype);
    if (n < 0 || size <= 0 || static_cast<uint64_t>(n) * size != t.n_bytes || t.data == nullptr) {
        return invalid_argument(path_ + ": tensor '" + printable(t.name) + "' is not a tensor of this file");
    }
    std::vector<float> out(static_cast<size_t>(n));
    switch (t.dtype) {
        case SafetensorsDtype::F32:
            if (t.n_bytes != 0) std::memcpy(out.data(), t.data, t.n_bytes);  // out.data() may be null when empty
            break;
        case SafetensorsDtype::F16:
        case SafetensorsDtype::BF16: {
            const bool half = t.dtype == SafetensorsDtype::F16;
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h = 0;
                std::memcpy(&h, t.data + 2 * i, 2);
                out[i] = half ? fp16_to_fp32(h) : bf16_to_fp32(h);
            }
            break;
        }
        default:
            return unsupported(path_ + ": tensor '" + printable(t.name) + "' is " + safetensors_dtype_name(t.dtype) +
                               "; Pagoda converts only F32, F16 and BF16 tensors");
    }
    return out;
}

}  // namespace pagoda
