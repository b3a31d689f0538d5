// GgufFile::parse_all: the header, metadata and tensor-info walk over an untrusted image.
// Layout (GGUF v2/v3, little-endian):
//   "GGUF" u32 version u64 n_tensors u64 n_kv
//   n_kv x { string key, u32 value_type, value }
//   n_tensors x { string name, u32 n_dims, u64 dims[n_dims], u32 ggml_type, u64 offset }
//   padding to general.alignment, then the data section; tensor offsets are relative to it.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/gguf_parse_cursor.h"
#include "model/gguf_parse_values.h"

namespace pagoda {

using gguf_parse::Cursor;
using gguf_parse::printable;

namespace {

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// Fewest bytes one entry can take: key length + value type + a 1-byte value.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
// Name length + n_dims + one dim + type + offset.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
// Real models hold tens of metadata entries and at most some thousands of tensors; a count
// far above that is a corrupt or hostile header, refused before we allocate for it.
constexpr uint64_t kMaxKv = uint64_t{1} << 20;
constexpr uint64_t kMaxTensors = uint64_t{1} << 20;

std::string dims_string(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

bool align_up(uint64_t x, uint64_t alignment, uint64_t& out) {
    const uint64_t rem = x % alignment;
    if (rem == 0) {
        out = x;
        return true;
    }
    return !__builtin_add_overflow(x, alignment - rem, &out);
}

}  // namespace

Status GgufFile::parse_all() {
    Cursor c(bytes_, path_);

    // ---- header
    if (bytes_.size() < 4) {
        return c.error("too small to be a GGUF file (" + std::to_string(bytes_.size()) + " bytes)");
    }
    if (std::memcmp(bytes_.data(), "GGUF", 4) != 0) {
        const std::string_view magic(reinterpret_cast<const char*>(bytes_.data()), 4);
        return c.error("not a GGUF file (starts with '" + printable(magic) + "', expected 'GGUF')");
    }
    uint32_t magic = 0;
    PAGODA_RETURN_IF_ERROR(c.read(magic, "the magic"));
    PAGODA_RETURN_IF_ERROR(c.read(version_, "the version"));
    if (version_ == 1) {
        return unsupported(path_ + ": GGUF version 1 is not supported (only versions 2 and 3); re-convert the model");
    }
    if (version_ != 0 && (version_ & 0xffffu) == 0 && __builtin_bswap32(version_) <= 3) {
        return unsupported(path_ + ": big-endian GGUF (version " + std::to_string(__builtin_bswap32(version_)) +
                           ") is not supported; use a little-endian file");
    }
    if (version_ != 2 && version_ != 3) {
        return unsupported(path_ + ": GGUF version " + std::to_string(version_) +
                           " is not supported (only versions 2 and 3)");
    }
    uint64_t n_tensors = 0;
    uint64_t n_kv = 0;
    PAGODA_RETURN_IF_ERROR(c.read(n_tensors, "the tensor count"));
    PAGODA_RETURN_IF_ERROR(c.read(n_kv, "the metadata entry count"));
    if (n_kv > kMaxKv || n_kv > c.remaining() / kMinKvBytes) {
        return c.error("header claims " + std::to_string(n_kv) + " metadata entries, but the " +
                       std::to_string(c.remaining()) + " bytes after the header hold at most " +
                       std::to_string(std::min(kMaxKv, c.remaining() / kMinKvBytes)) + " (truncated or corrupt file)");
    }
    if (n_tensors > kMaxTensors || n_tensors > (c.remaining() - n_kv * kMinKvBytes) / kMinTensorInfoBytes) {
        return c.error(
            "header claims " + std::to_string(n_tensors) + " tensors, but the " + std::to_string(c.remaining()) +
            " bytes after the header hold at most " +
            std::to_string(std::min(kMaxTensors, (c.remaining() - n_kv * kMinKvBytes) / kMinTensorInfoBytes)) +
            " tensor infos next to " + std::to_string(n_kv) + " metadata entries (truncated or corrupt file)");
    }

    // ---- metadata
    gguf_parse::ValueBudget budget;
    metadata_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key;
        PAGODA_RETURN_IF_ERROR(c.read_string(key, "the key of metadata entry #" + std::to_string(i)));
        const uint64_t type_pos = c.pos();
        uint32_t raw_type = 0;
        PAGODA_RETURN_IF_ERROR(c.read(raw_type, "the value type of metadata key '" + printable(key) + "'"));
        if (!gguf_parse::is_valid_value_type(raw_type)) {
            return c.error("metadata key '" + printable(key) + "' has unknown value type " + std::to_string(raw_type) +
                           " (at byte " + std::to_string(type_pos) + ")");
        }
        if (metadata_index_.count(key) != 0) {
            return c.error("duplicate metadata key '" + printable(key) + "' (entries #" +
                           std::to_string(metadata_index_.find(key)->second) + " and #" + std::to_string(i) + ")");
        }
        GgufValue value;
        PAGODA_RETURN_IF_ERROR(gguf_parse::read_value(c, static_cast<GgufValueType>(raw_type), key, 0, budget, value));
        metadata_index_.emplace(key, metadata_.size());
        metadata_.emplace_back(std::move(key), std::move(value));
    }

    // ---- alignment
    if (const GgufValue* a = find("general.alignment")) {
        const auto v = a->as_uint();
        if (!v || a->type == GgufValueType::BOOL) {
            return c.error("general.alignment must be an unsigned integer, not " +
                           std::string(gguf_value_type_name(a->type)) + (a->as_int() ? " with a negative value" : ""));
        }
        if (*v == 0 || (*v & (*v - 1)) != 0) {
            return c.error("general.alignment " + std::to_string(*v) + " is not a power of two");
        }
        alignment_ = *v;
    }

    // ---- tensor infos
    tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        GgufTensorInfo t;
        PAGODA_RETURN_IF_ERROR(c.read_string(t.name, "the name of tensor #" + std::to_string(i)));
        const std::string tname = "tensor '" + printable(t.name) + "'";
        uint32_t n_dims = 0;
        PAGODA_RETURN_IF_ERROR(c.read(n_dims, "the dimension count of " + tname));
        if (n_dims == 0 || n_dims > kMaxDims) {
            return c.error(tname + " has " + std::to_string(n_dims) + " dimensions (1 to " + std::to_string(kMaxDims) +
                           " allowed)");
        }
        t.dims.resize(n_dims);
        int64_t n_elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t raw = 0;
            PAGODA_RETURN_IF_ERROR(c.read(raw, "the dimensions of " + tname));
            if (raw == 0 || raw > static_cast<uint64_t>(INT64_MAX)) {
                return c.error(tname + " dimension " + std::to_string(d) + " is " + std::to_string(raw) +
                               " (must be between 1 and 2^63-1)");
            }
            t.dims[d] = static_cast<int64_t>(raw);
            if (__builtin_mul_overflow(n_elements, t.dims[d], &n_elements)) {
                return c.error(tname + " element count overflows (dims so far " + dims_string(t.dims) + ")");
            }
        }
        uint32_t raw_type = 0;
        PAGODA_RETURN_IF_ERROR(c.read(raw_type, "the type of " + tname));
        const auto info = ggml_type_info(raw_type);
        if (!info) {
            return unsupported(path_ + ": " + tname + " has unknown ggml type " + std::to_string(raw_type));
        }
        t.type = info->type;
        if (t.dims[0] % info->block_size != 0) {
            return c.error(tname + " (" + info->name + ", dims " + dims_string(t.dims) + "): a row of " +
                           std::to_string(t.dims[0]) + " values is not a whole number of " + info->name + " blocks (" +
                           std::to_string(info->block_size) + " values each)");
        }
        const auto row_bytes = ggml_row_bytes(t.type, t.dims[0]);
        if (!row_bytes) {
            return c.error(tname + " (" + info->name + ", dims " + dims_string(t.dims) + ") row size overflows");
        }
        const auto n_rows = static_cast<uint64_t>(n_elements / t.dims[0]);
        if (__builtin_mul_overflow(*row_bytes, n_rows, &t.n_bytes)) {
            return c.error(tname + " (" + info->name + ", dims " + dims_string(t.dims) + ") byte size overflows");
        }
        PAGODA_RETURN_IF_ERROR(c.read(t.offset, "the data offset of " + tname));
        if (tensor_index_.count(t.name) != 0) {
            return c.error("duplicate tensor name '" + printable(t.name) + "' (tensors #" +
                           std::to_string(tensor_index_.find(t.name)->second) + " and #" + std::to_string(i) + ")");
        }
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }

    // ---- data section: starts at the first aligned offset after the tensor infos
    uint64_t data_start = 0;
    if (!align_up(c.pos(), alignment_, data_start)) {
        return c.error("data section offset overflows with alignment " + std::to_string(alignment_));
    }
    const uint64_t file_size = bytes_.size();
    for (auto& t : tensors_) {
        const std::string tname = "tensor '" + printable(t.name) + "'";
        if (t.offset % alignment_ != 0) {
            return c.error(tname + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                           std::to_string(alignment_));
        }
        uint64_t begin = 0;
        uint64_t end = 0;
        if (__builtin_add_overflow(data_start, t.offset, &begin) || begin > file_size) {
            return c.error(tname + " data offset " + std::to_string(t.offset) + " (data section at byte " +
                           std::to_string(data_start) + ") is past the end of the file (" + std::to_string(file_size) +
                           " bytes)");
        }
        if (__builtin_add_overflow(begin, t.n_bytes, &end) || end > file_size) {
            return c.error(tname + " data [offset " + std::to_string(begin) + ", " + std::to_string(t.n_bytes) +
                           " bytes] extends past the end of the file (" + std::to_string(file_size) + " bytes)");
        }
        t.data = bytes_.data() + begin;
    }

    // Tensors may come in any order in the data section, but must not share bytes.
    std::vector<size_t> order(tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const GgufTensorInfo& prev = tensors_[order[k - 1]];
        const GgufTensorInfo& next = tensors_[order[k]];
        if (prev.offset + prev.n_bytes > next.offset) {  // both are within the file: no overflow
            return c.error(
                "tensors '" + printable(prev.name) + "' [offset " + std::to_string(data_start + prev.offset) + ", " +
                std::to_string(prev.n_bytes) + " bytes] and '" + printable(next.name) + "' [offset " +
                std::to_string(data_start + next.offset) + ", " + std::to_string(next.n_bytes) + " bytes] overlap");
        }
    }
    return Status::ok();
}

}  // namespace pagoda
