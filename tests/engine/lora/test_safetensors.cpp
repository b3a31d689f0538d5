// The safetensors reader on good files (written by SafetensorsWriter and by hand) and on
// every kind of hostile one: each refusal is an invalid_format / unsupported Status that
// names the file, never a crash or a giant allocation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/quant/quant.h"
#include "model/safetensors_file.h"
#include "model/safetensors_writer.h"

namespace pagoda {
namespace {

std::vector<uint8_t> raw(const std::string& header, size_t data_bytes, uint64_t header_len_override = 0) {
    std::vector<uint8_t> out(8 + header.size() + data_bytes);
    const uint64_t len = header_len_override ? header_len_override : header.size();
    std::memcpy(out.data(), &len, 8);
    std::memcpy(out.data() + 8, header.data(), header.size());
    for (size_t i = 0; i < data_bytes; ++i) out[8 + header.size() + i] = static_cast<uint8_t>(i * 7);
    return out;
}

Status parse_status(const std::vector<uint8_t>& bytes) {
    return SafetensorsFile::parse(bytes, "t.safetensors").status();
}

// Parses and expects a refusal whose message names the file and contains `needle`.
void expect_refused(const std::string& header, size_t data_bytes, const std::string& needle,
                    ErrorCode code = ErrorCode::invalid_format) {
    const Status s = parse_status(raw(header, data_bytes));
    ASSERT_FALSE(s.is_ok()) << header;
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_EQ(s.message().rfind("t.safetensors: ", 0), 0u) << s.message();
    EXPECT_NE(s.message().find(needle), std::string::npos) << "'" << needle << "' not in: " << s.message();
}

std::vector<uint8_t> small_file() {
    SafetensorsWriter w;
    w.set_metadata("format", "pt");
    EXPECT_TRUE(w.add_f32_tensor("w.f32", SafetensorsDtype::F32, {2, 3}, {1, -2, 3.5f, 0, 1e-3f, -7}).is_ok());
    EXPECT_TRUE(w.add_f32_tensor("w.f16", SafetensorsDtype::F16, {4}, {0.5f, -1.25f, 65504.0f, 0}).is_ok());
    EXPECT_TRUE(w.add_f32_tensor("w.bf16", SafetensorsDtype::BF16, {1, 2}, {3.0f, -0.125f}).is_ok());
    return w.to_bytes();
}

TEST(Safetensors, ReadsWhatTheWriterWrote) {
    const auto bytes = small_file();
    auto f = SafetensorsFile::parse(bytes, "small.safetensors");
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    const SafetensorsFile& file = *f.value();
    ASSERT_EQ(file.tensors().size(), 3u);
    EXPECT_EQ(file.metadata().at("format"), "pt");
    // Data-buffer order is the order they were added.
    EXPECT_EQ(file.tensors()[0].name, "w.f32");
    EXPECT_EQ(file.tensors()[2].name, "w.bf16");

    const SafetensorsTensor* t = file.find_tensor("w.f32");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t->n_bytes, 24u);
    auto v = file.to_f32(*t);
    ASSERT_TRUE(v.is_ok());
    EXPECT_EQ(v.value(), (std::vector<float>{1, -2, 3.5f, 0, 1e-3f, -7}));

    v = file.to_f32(*file.find_tensor("w.f16"));
    ASSERT_TRUE(v.is_ok());
    EXPECT_EQ(v.value(), (std::vector<float>{0.5f, -1.25f, 65504.0f, 0}));
    v = file.to_f32(*file.find_tensor("w.bf16"));
    ASSERT_TRUE(v.is_ok());
    EXPECT_EQ(v.value(), (std::vector<float>{3.0f, -0.125f}));
    EXPECT_EQ(file.find_tensor("missing"), nullptr);
    // The data buffer starts 8-aligned (the writer pads the header with spaces).
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);
    EXPECT_EQ(header_len % 8, 0u);
}

TEST(Safetensors, OpenMapsAFile) {
    const auto path =
        std::filesystem::temp_directory_path() / ("pagoda_st_" + std::to_string(::getpid()) + ".safetensors");
    {
        std::ofstream out(path, std::ios::binary);
        const auto bytes = small_file();
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    auto f = SafetensorsFile::open(path.string());
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    EXPECT_EQ(f.value()->tensors().size(), 3u);
    EXPECT_EQ(f.value()->path(), path.string());
    std::filesystem::remove(path);

    auto missing = SafetensorsFile::open(path.string());
    EXPECT_EQ(missing.status().code(), ErrorCode::not_found);
    auto dir = SafetensorsFile::open(std::filesystem::temp_directory_path().string());
    EXPECT_EQ(dir.status().code(), ErrorCode::invalid_argument);
}

TEST(Safetensors, EmptyAndOddButLegalFiles) {
    EXPECT_TRUE(parse_status(raw("{}", 0)).is_ok());
    EXPECT_TRUE(parse_status(raw("{}      ", 0)).is_ok());  // space padding
    EXPECT_TRUE(parse_status(raw(R"({"__metadata__":{}})", 0)).is_ok());
    // Zero-size tensors, scalars, and unknown fields (ignored, even nested).
    auto f = SafetensorsFile::parse(
        raw(R"({"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},)"
            R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4],"extra":{"x":[1,[2,{}]],"y":null}}})",
            4),
        "odd.safetensors");
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    EXPECT_EQ(f.value()->find_tensor("s")->n_elements(), 1);
    EXPECT_EQ(f.value()->find_tensor("e")->n_elements(), 0);
    EXPECT_TRUE(f.value()->to_f32(*f.value()->find_tensor("e")).is_ok());
}

TEST(Safetensors, EveryTruncationIsRefused) {
    const auto bytes = small_file();
    for (size_t n = 0; n < bytes.size(); ++n) {
        const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        const Status s = SafetensorsFile::parse(cut, "cut.safetensors").status();
        ASSERT_FALSE(s.is_ok()) << "accepted a file cut to " << n << " bytes";
        EXPECT_EQ(s.code(), ErrorCode::invalid_format);
        EXPECT_EQ(s.message().rfind("cut.safetensors: ", 0), 0u) << s.message();
    }
}

TEST(Safetensors, HeaderLengthBounds) {
    const Status huge = parse_status(raw("{}", 0, uint64_t{1} << 60));
    EXPECT_NE(huge.message().find("over the format's limit"), std::string::npos) << huge.message();
    const Status past = parse_status(raw("{}", 0, 1000));
    EXPECT_NE(past.message().find("truncated"), std::string::npos) << past.message();
    const Status tiny = parse_status({1, 0, 0});
    EXPECT_NE(tiny.message().find("too small"), std::string::npos) << tiny.message();
    const Status zero = parse_status(raw("", 0));
    EXPECT_FALSE(zero.is_ok());
}

TEST(Safetensors, BadJsonIsRefused) {
    expect_refused(R"({"a": )", 0, "not valid JSON");
    expect_refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x)", 4, "not valid JSON");
    expect_refused("{\"\xff\":1}", 0, "not valid JSON");  // invalid UTF-8
    expect_refused(R"([1,2])", 0, "not an object");
    expect_refused(R"("text")", 0, "not an object");
    expect_refused(R"({"a":[1]})", 0, "not an object");
    expect_refused(R"({"a":5})", 0, "not an object");
    expect_refused(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4, "has no dtype");
    expect_refused(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4, "has no shape");
    expect_refused(R"({"a":{"dtype":"F32","shape":[1]}})", 4, "has no data_offsets");
    expect_refused(R"({"a":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", 4, "not a string");
    expect_refused(R"({"a":{"dtype":"F32","shape":{},"data_offsets":[0,4]}})", 4, "not an array");
    expect_refused(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "negative");
    expect_refused(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, "non-negative integer");
    expect_refused(R"({"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", 4, "not an integer");
    expect_refused(R"({"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}})", 4, "non-negative integer");
    expect_refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, "not 2");
    expect_refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8, "more than 2");
    expect_refused(R"({"__metadata__":{"k":1}})", 0, "not a string");
    expect_refused(R"({"__metadata__":{"k":{}}})", 0, "not a string");
    expect_refused(R"({"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4, "twice");
    std::string deep = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":)";
    deep += std::string(10000, '[') + std::string(10000, ']') + "}}";
    expect_refused(deep, 4, "nests deeper");
}

TEST(Safetensors, DuplicateNamesAreRefused) {
    expect_refused(
        R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
        2, "appears twice");
    expect_refused(R"({"__metadata__":{},"__metadata__":{}})", 0, "appears twice");
}

TEST(Safetensors, OffsetsMustMatchTheBuffer) {
    expect_refused(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, "run past the data buffer");
    expect_refused(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "end before they begin");
    expect_refused(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "12");  // dtype*shape mismatch
    expect_refused(R"({"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,4]}})", 4, "need 8");
    expect_refused(
        R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
        6, "overlaps");
    expect_refused(
        R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
        6, "belong to no tensor");
    expect_refused(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5, "at the end of the data buffer");
    expect_refused(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4, "belong to no tensor");
    // Overflow of the element count and of the byte size.
    expect_refused(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4, "overflows");
    expect_refused(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8, "overflows");
    expect_refused(R"({"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})", 4, "overflows");
    expect_refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}})", 4, "run past");
    expect_refused(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4, "more than 8");
}

TEST(Safetensors, Dtypes) {
    expect_refused(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1, "unknown dtype 'Q4'");
    expect_refused(R"({"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", 1, "sub-byte", ErrorCode::unsupported);
    auto f =
        SafetensorsFile::parse(raw(R"({"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", 8), "i.safetensors");
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    auto v = f.value()->to_f32(f.value()->tensors()[0]);
    ASSERT_FALSE(v.is_ok());
    EXPECT_EQ(v.status().code(), ErrorCode::unsupported);
    EXPECT_NE(v.status().message().find("I32"), std::string::npos) << v.status().message();
}

TEST(SafetensorsWriter, RefusesBadTensors) {
    SafetensorsWriter w;
    EXPECT_TRUE(w.add_f32_tensor("a", SafetensorsDtype::F32, {2}, {1, 2}).is_ok());
    EXPECT_FALSE(w.add_f32_tensor("a", SafetensorsDtype::F32, {2}, {1, 2}).is_ok());
    EXPECT_FALSE(w.add_f32_tensor("b", SafetensorsDtype::F32, {3}, {1, 2}).is_ok());
    EXPECT_FALSE(w.add_f32_tensor("__metadata__", SafetensorsDtype::F32, {2}, {1, 2}).is_ok());
    EXPECT_FALSE(w.add_f32_tensor("c", SafetensorsDtype::I32, {2}, {1, 2}).is_ok());
}

}  // namespace
}  // namespace pagoda
