#include "model/ggml_type.h"

#include <array>
#include <cassert>
#include <cctype>
#include <string>

namespace pagoda {
namespace {

constexpr std::array kTypes = {
    GgmlTypeInfo{GgmlType::F32, "f32", 1, 4, true},
    GgmlTypeInfo{GgmlType::F16, "f16", 1, 2, true},
    GgmlTypeInfo{GgmlType::Q4_0, "q4_0", 32, 18, true},
    GgmlTypeInfo{GgmlType::Q4_1, "q4_1", 32, 20, true},
    GgmlTypeInfo{GgmlType::Q5_0, "q5_0", 32, 22, true},
    GgmlTypeInfo{GgmlType::Q5_1, "q5_1", 32, 24, true},
    GgmlTypeInfo{GgmlType::Q8_0, "q8_0", 32, 34, true},
    GgmlTypeInfo{GgmlType::Q8_1, "q8_1", 32, 36, false},
    GgmlTypeInfo{GgmlType::Q2_K, "q2_K", 256, 84, false},
    GgmlTypeInfo{GgmlType::Q3_K, "q3_K", 256, 110, false},
    GgmlTypeInfo{GgmlType::Q4_K, "q4_K", 256, 144, true},
    GgmlTypeInfo{GgmlType::Q5_K, "q5_K", 256, 176, true},
    GgmlTypeInfo{GgmlType::Q6_K, "q6_K", 256, 210, true},
    GgmlTypeInfo{GgmlType::Q8_K, "q8_K", 256, 292, false},
    GgmlTypeInfo{GgmlType::IQ2_XXS, "iq2_xxs", 256, 66, false},
    GgmlTypeInfo{GgmlType::IQ2_XS, "iq2_xs", 256, 74, false},
    GgmlTypeInfo{GgmlType::IQ3_XXS, "iq3_xxs", 256, 98, false},
    GgmlTypeInfo{GgmlType::IQ1_S, "iq1_s", 256, 50, false},
    GgmlTypeInfo{GgmlType::IQ4_NL, "iq4_nl", 32, 18, false},
    GgmlTypeInfo{GgmlType::IQ3_S, "iq3_s", 256, 110, false},
    GgmlTypeInfo{GgmlType::IQ2_S, "iq2_s", 256, 82, false},
    GgmlTypeInfo{GgmlType::IQ4_XS, "iq4_xs", 256, 136, false},
    GgmlTypeInfo{GgmlType::I8, "i8", 1, 1, false},
    GgmlTypeInfo{GgmlType::I16, "i16", 1, 2, false},
    GgmlTypeInfo{GgmlType::I32, "i32", 1, 4, false},
    GgmlTypeInfo{GgmlType::I64, "i64", 1, 8, false},
    GgmlTypeInfo{GgmlType::F64, "f64", 1, 8, false},
    GgmlTypeInfo{GgmlType::IQ1_M, "iq1_m", 256, 56, false},
    GgmlTypeInfo{GgmlType::BF16, "bf16", 1, 2, true},
    GgmlTypeInfo{GgmlType::TQ1_0, "tq1_0", 256, 54, false},
    GgmlTypeInfo{GgmlType::TQ2_0, "tq2_0", 256, 66, false},
    GgmlTypeInfo{GgmlType::MXFP4, "mxfp4", 32, 17, false},
};

bool iequals(const char* a, const char* b) {
    for (; *a && *b; ++a, ++b) {
        if (std::tolower(static_cast<unsigned char>(*a)) != std::tolower(static_cast<unsigned char>(*b))) return false;
    }
    return *a == *b;
}

}  // namespace

std::optional<GgmlTypeInfo> ggml_type_info(uint32_t raw_type) {
    for (const auto& t : kTypes) {
        if (static_cast<uint32_t>(t.type) == raw_type) return t;
    }
    return std::nullopt;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
    for (const auto& t : kTypes) {
        if (t.type == type) return t;
    }
    // Every enumerator is in the table; reaching here is a programming error.
    assert(false && "GgmlType missing from kTypes");
    return kTypes[0];
}

const char* ggml_type_name(GgmlType type) { return ggml_type_info(type).name; }

std::optional<GgmlType> ggml_type_from_name(const char* name) {
    for (const auto& t : kTypes) {
        if (iequals(t.name, name)) return t.type;
    }
    return std::nullopt;
}

std::optional<uint64_t> ggml_row_bytes(GgmlType type, int64_t n) {
    const auto& info = ggml_type_info(type);
    if (n < 0 || n % info.block_size != 0) return std::nullopt;
    const uint64_t blocks = static_cast<uint64_t>(n / info.block_size);
    if (blocks > UINT64_MAX / static_cast<uint64_t>(info.type_size)) return std::nullopt;
    return blocks * static_cast<uint64_t>(info.type_size);
}

}  // namespace pagoda
