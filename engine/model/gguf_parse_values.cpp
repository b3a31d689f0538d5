#include "model/gguf_parse_values.h"

#include <cstdio>

namespace pagoda::gguf_parse {

std::string printable(std::string_view s, size_t max_len) {
    std::string out;
    const size_t n = s.size() < max_len ? s.size() : max_len;
    out.reserve(n + 8);
    for (size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out.push_back(static_cast<char>(c));
        } else {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
        }
    }
    if (n < s.size()) out += "...";
    return out;
}

bool is_valid_value_type(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

uint64_t min_encoded_size(GgufValueType type) {
    switch (type) {
        case GgufValueType::UINT8:
        case GgufValueType::INT8:
        case GgufValueType::BOOL: return 1;
        case GgufValueType::UINT16:
        case GgufValueType::INT16: return 2;
        case GgufValueType::UINT32:
        case GgufValueType::INT32:
        case GgufValueType::FLOAT32: return 4;
        case GgufValueType::UINT64:
        case GgufValueType::INT64:
        case GgufValueType::FLOAT64:
        case GgufValueType::STRING: return 8;     // the length field
        case GgufValueType::ARRAY: return 4 + 8;  // element type + count
    }
    return 1;
}

namespace {

template <typename T>
Status read_as(Cursor& cursor, const std::string& what, T& out) {
    return cursor.read(out, what);
}

Status read_scalar(Cursor& cursor, GgufValueType type, const std::string& what, GgufValue& out) {
    out.type = type;
    switch (type) {
        case GgufValueType::UINT8: {
            uint8_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = uint64_t{v};
            return Status::ok();
        }
        case GgufValueType::INT8: {
            int8_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = int64_t{v};
            return Status::ok();
        }
        case GgufValueType::UINT16: {
            uint16_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = uint64_t{v};
            return Status::ok();
        }
        case GgufValueType::INT16: {
            int16_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = int64_t{v};
            return Status::ok();
        }
        case GgufValueType::UINT32: {
            uint32_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = uint64_t{v};
            return Status::ok();
        }
        case GgufValueType::INT32: {
            int32_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = int64_t{v};
            return Status::ok();
        }
        case GgufValueType::UINT64: {
            uint64_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = v;
            return Status::ok();
        }
        case GgufValueType::INT64: {
            int64_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = v;
            return Status::ok();
        }
        case GgufValueType::FLOAT32: {
            float v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = static_cast<double>(v);
            return Status::ok();
        }
        case GgufValueType::FLOAT64: {
            double v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = v;
            return Status::ok();
        }
        case GgufValueType::BOOL: {
            // Read as a byte: loading a byte other than 0/1 into a bool is undefined behaviour.
            // llama.cpp treats any non-zero byte as true; so do we.
            uint8_t v = 0;
            PAGODA_RETURN_IF_ERROR(read_as(cursor, what, v));
            out.data = v != 0;
            return Status::ok();
        }
        case GgufValueType::STRING: {
            std::string s;
            // Strings are kept as raw bytes: llama.cpp accepts any bytes, and vocabularies do
            // hold byte tokens that are not valid UTF-8 on their own.
            PAGODA_RETURN_IF_ERROR(cursor.read_string(s, what));
            out.data = std::move(s);
            return Status::ok();
        }
        case GgufValueType::ARRAY: break;
    }
    return cursor.error("internal: read_scalar called for an array");
}

}  // namespace

Status read_value(Cursor& cursor, GgufValueType type, const std::string& key, int depth, ValueBudget& budget,
                  GgufValue& out) {
    if (type != GgufValueType::ARRAY) {
        return read_scalar(cursor, type, "the value of metadata key '" + printable(key) + "'", out);
    }
    const std::string where = "metadata key '" + printable(key) + "'";
    if (depth >= kMaxArrayDepth) {
        return cursor.error(where + ": arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep (at byte " +
                            std::to_string(cursor.pos()) + ")");
    }
    const uint64_t header_pos = cursor.pos();
    uint32_t raw_element_type = 0;
    uint64_t count = 0;
    PAGODA_RETURN_IF_ERROR(cursor.read(raw_element_type, "the array element type of " + where));
    if (!is_valid_value_type(raw_element_type)) {
        return cursor.error(where + ": array has unknown element type " + std::to_string(raw_element_type) +
                            " (at byte " + std::to_string(header_pos) + ")");
    }
    const auto element_type = static_cast<GgufValueType>(raw_element_type);
    PAGODA_RETURN_IF_ERROR(cursor.read(count, "the array length of " + where));

    // Check the claimed count against what the file can hold before reserving anything.
    const uint64_t min_item = min_encoded_size(element_type);
    if (count > cursor.remaining() / min_item) {
        return cursor.error(
            where + ": array of " + std::to_string(count) + " " + gguf_value_type_name(element_type) +
            " items needs at least " +
            (count > UINT64_MAX / min_item ? std::string("over 2^64") : std::to_string(count * min_item)) +
            " bytes but only " + std::to_string(cursor.remaining()) + " are left (array at byte " +
            std::to_string(header_pos) + ")");
    }
    if (count > budget.array_items_left) {
        return cursor.error(where + ": array of " + std::to_string(count) + " items exceeds the limit of " +
                            std::to_string(kMaxMetadataArrayItems) + " array items per file");
    }
    budget.array_items_left -= count;

    GgufValue::Array array;
    array.element_type = element_type;
    array.items.resize(static_cast<size_t>(count));
    if (element_type == GgufValueType::ARRAY) {
        for (auto& item : array.items) {
            PAGODA_RETURN_IF_ERROR(read_value(cursor, element_type, key, depth + 1, budget, item));
        }
    } else {
        const std::string what = "an item of array " + where;
        for (auto& item : array.items) PAGODA_RETURN_IF_ERROR(read_scalar(cursor, element_type, what, item));
    }
    out.type = GgufValueType::ARRAY;
    out.data = std::move(array);
    return Status::ok();
}

}  // namespace pagoda::gguf_parse
