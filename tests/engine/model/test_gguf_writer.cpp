// GgufWriter -> GgufFile round trips: every value type, arrays, nested arrays, tensors of
// several types, alignment 32 and 64, atomic writes, and add_tensor/write validation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/gguf_writer.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;

GgufValue make(GgufValueType t, uint64_t v) { return GgufValue{t, v}; }
GgufValue make(GgufValueType t, int64_t v) { return GgufValue{t, v}; }

GgufValue array_of(GgufValueType element_type, std::vector<GgufValue> items) {
    GgufValue::Array a;
    a.element_type = element_type;
    a.items = std::move(items);
    return GgufValue{GgufValueType::ARRAY, std::move(a)};
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

std::unique_ptr<GgufFile> reparse(const std::vector<uint8_t>& bytes) {
    auto r = GgufFile::parse(bytes, "roundtrip.gguf");
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::move(r).value() : nullptr;
}

class TempDir {
public:
    TempDir() {
        path_ = fs::temp_directory_path() / ("pagoda_gguf_writer_" + std::to_string(getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

TEST(GgufWriter, RoundTripsEveryScalarType) {
    GgufWriter w;
    w.set("u8", make(GgufValueType::UINT8, uint64_t{255}));
    w.set("i8", make(GgufValueType::INT8, int64_t{-128}));
    w.set("u16", make(GgufValueType::UINT16, uint64_t{65535}));
    w.set("i16", make(GgufValueType::INT16, int64_t{-32768}));
    w.set("u32", make(GgufValueType::UINT32, uint64_t{4000000000u}));
    w.set("i32", make(GgufValueType::INT32, int64_t{-2000000000}));
    w.set("u64", make(GgufValueType::UINT64, std::numeric_limits<uint64_t>::max()));
    w.set("i64", make(GgufValueType::INT64, std::numeric_limits<int64_t>::min()));
    w.set_f32("f32", 0.1f);
    w.set("f64", GgufValue{GgufValueType::FLOAT64, 0.1});
    w.set_bool("t", true);
    w.set_bool("f", false);
    // Raw bytes, not UTF-8, with an embedded NUL: kept as bytes.
    w.set_string("s", std::string("a\0b\xff\xfe", 5));
    w.set_string("empty", "");

    auto f = reparse(w.to_bytes());
    ASSERT_TRUE(f);
    EXPECT_EQ(f->version(), 3u);
    ASSERT_EQ(f->metadata().size(), 14u);
    EXPECT_EQ(f->find("u8")->type, GgufValueType::UINT8);
    EXPECT_EQ(f->get_int("u8"), 255);
    EXPECT_EQ(f->get_int("i8"), -128);
    EXPECT_EQ(f->get_int("u16"), 65535);
    EXPECT_EQ(f->get_int("i16"), -32768);
    EXPECT_EQ(f->get_int("u32"), 4000000000);
    EXPECT_EQ(f->find("i32")->type, GgufValueType::INT32);
    EXPECT_EQ(f->get_int("i32"), -2000000000);
    EXPECT_EQ(f->find("u64")->as_uint(), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(f->get_int("u64"), std::nullopt);  // does not fit int64
    EXPECT_EQ(f->get_int("i64"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(f->find("i64")->as_uint(), std::nullopt);  // negative
    EXPECT_EQ(f->find("f32")->type, GgufValueType::FLOAT32);
    EXPECT_EQ(f->get_float("f32"), static_cast<double>(0.1f));
    EXPECT_EQ(f->get_float("f64"), 0.1);
    EXPECT_EQ(f->get_bool("t"), true);
    EXPECT_EQ(f->get_bool("f"), false);
    ASSERT_NE(f->get_string("s"), nullptr);
    EXPECT_EQ(*f->get_string("s"), std::string("a\0b\xff\xfe", 5));
    EXPECT_EQ(*f->get_string("empty"), "");
    // Accessors refuse the wrong kind.
    EXPECT_EQ(f->get_string("u8"), nullptr);
    EXPECT_EQ(f->get_bool("u8"), std::nullopt);
    EXPECT_EQ(f->get_int("s"), std::nullopt);
    EXPECT_EQ(f->get_int("f32"), std::nullopt);
    EXPECT_EQ(f->get_float("u32"), 4000000000.0);  // integers convert to double when exact
    EXPECT_EQ(f->get_array("s"), nullptr);
    EXPECT_EQ(f->find("missing"), nullptr);
    EXPECT_EQ(f->get_int("missing"), std::nullopt);
}

TEST(GgufWriter, RoundTripsArraysAndNestedArrays) {
    GgufWriter w;
    w.set_string_array("tokens", {"<s>", "</s>", "", std::string("\xe2\x96\x81hi")});
    w.set_f32_array("scores", {0.0f, -1.5f, 3.25f});
    w.set_i32_array("types", {1, 2, -3});
    w.set("u8s", array_of(GgufValueType::UINT8,
                          {make(GgufValueType::UINT8, uint64_t{0}), make(GgufValueType::UINT8, uint64_t{200})}));
    w.set("bools",
          array_of(GgufValueType::BOOL, {GgufValue{GgufValueType::BOOL, true}, GgufValue{GgufValueType::BOOL, false}}));
    w.set("f64s", array_of(GgufValueType::FLOAT64, {GgufValue{GgufValueType::FLOAT64, 1e300}}));
    w.set("i64s", array_of(GgufValueType::INT64, {make(GgufValueType::INT64, int64_t{-5})}));
    w.set("empty", array_of(GgufValueType::UINT32, {}));
    w.set("nested", array_of(GgufValueType::ARRAY,
                             {array_of(GgufValueType::UINT32, {make(GgufValueType::UINT32, uint64_t{1})}),
                              array_of(GgufValueType::STRING, {GgufValue{GgufValueType::STRING, std::string("x")},
                                                               GgufValue{GgufValueType::STRING, std::string("yz")}}),
                              array_of(GgufValueType::ARRAY, {array_of(GgufValueType::INT16, {})})}));

    auto f = reparse(w.to_bytes());
    ASSERT_TRUE(f);
    const auto* tokens = f->get_array("tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->element_type, GgufValueType::STRING);
    ASSERT_EQ(tokens->items.size(), 4u);
    EXPECT_EQ(*tokens->items[1].as_string(), "</s>");
    EXPECT_EQ(*tokens->items[2].as_string(), "");
    EXPECT_EQ(*tokens->items[3].as_string(), "\xe2\x96\x81hi");

    const auto* scores = f->get_array("scores");
    ASSERT_NE(scores, nullptr);
    ASSERT_EQ(scores->items.size(), 3u);
    EXPECT_EQ(scores->items[1].as_float(), -1.5);
    EXPECT_EQ(scores->items[2].as_float(), 3.25);
    const auto* types = f->get_array("types");
    ASSERT_EQ(types->items.size(), 3u);
    EXPECT_EQ(types->items[2].as_int(), -3);
    EXPECT_EQ(types->items[2].type, GgufValueType::INT32);
    EXPECT_EQ(f->get_array("u8s")->items[1].as_uint(), 200u);
    EXPECT_EQ(f->get_array("bools")->items[0].as_bool(), true);
    EXPECT_EQ(f->get_array("bools")->items[1].as_bool(), false);
    EXPECT_EQ(f->get_array("f64s")->items[0].as_float(), 1e300);
    EXPECT_EQ(f->get_array("i64s")->items[0].as_int(), -5);
    EXPECT_EQ(f->get_array("empty")->element_type, GgufValueType::UINT32);
    EXPECT_TRUE(f->get_array("empty")->items.empty());

    const auto* nested = f->get_array("nested");
    ASSERT_NE(nested, nullptr);
    EXPECT_EQ(nested->element_type, GgufValueType::ARRAY);
    ASSERT_EQ(nested->items.size(), 3u);
    EXPECT_EQ(nested->items[0].as_array()->items[0].as_uint(), 1u);
    EXPECT_EQ(*nested->items[1].as_array()->items[1].as_string(), "yz");
    const auto* deepest = nested->items[2].as_array()->items[0].as_array();
    ASSERT_NE(deepest, nullptr);
    EXPECT_EQ(deepest->element_type, GgufValueType::INT16);
    EXPECT_TRUE(deepest->items.empty());
}

TEST(GgufWriter, KeepsInsertionOrderAndSetReplacesInPlace) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_u32("b", 1);
    w.set_u32("a", 2);
    w.set_string("b", "replaced");  // same position, new type
    auto f = reparse(w.to_bytes());
    ASSERT_TRUE(f);
    ASSERT_EQ(f->metadata().size(), 3u);
    EXPECT_EQ(f->metadata()[0].first, "general.architecture");
    EXPECT_EQ(f->metadata()[1].first, "b");
    EXPECT_EQ(*f->metadata()[1].second.as_string(), "replaced");
    EXPECT_EQ(f->metadata()[2].first, "a");
    EXPECT_EQ(f->find("general.alignment"), nullptr);  // default alignment is not written
}

struct TensorCase {
    std::string name;
    GgmlType type;
    std::vector<int64_t> dims;
};

void round_trip_tensors(uint64_t alignment) {
    const std::vector<TensorCase> cases = {
        {"f32", GgmlType::F32, {3, 2}},    {"f16", GgmlType::F16, {5}},          {"bf16", GgmlType::BF16, {2, 2, 2}},
        {"q4_0", GgmlType::Q4_0, {64, 3}}, {"q8_0", GgmlType::Q8_0, {32, 1, 2}}, {"q4_K", GgmlType::Q4_K, {256, 2}},
        {"q6_K", GgmlType::Q6_K, {512}},   {"i32", GgmlType::I32, {1, 1, 1, 7}},
    };
    GgufWriter w(alignment);
    w.set_string("general.architecture", "test");
    std::vector<std::vector<uint8_t>> datas;
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        int64_t rows = 1;
        for (size_t d = 1; d < c.dims.size(); ++d) rows *= c.dims[d];
        const uint64_t n = *ggml_row_bytes(c.type, c.dims[0]) * static_cast<uint64_t>(rows);
        datas.push_back(pattern(n, static_cast<uint8_t>(i * 31)));
        ASSERT_TRUE(w.add_tensor(c.name, c.type, c.dims, datas.back()).is_ok()) << c.name;
    }
    const auto bytes = w.to_bytes();
    auto f = reparse(bytes);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->alignment(), alignment);
    if (alignment == 32) {
        EXPECT_EQ(f->find("general.alignment"), nullptr);
    } else {
        EXPECT_EQ(f->get_int("general.alignment"), static_cast<int64_t>(alignment));
        EXPECT_EQ(f->find("general.alignment")->type, GgufValueType::UINT32);  // the type llama.cpp requires
    }
    ASSERT_EQ(f->tensors().size(), cases.size());
    uint64_t expected_offset = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& t = f->tensors()[i];
        SCOPED_TRACE(t.name);
        EXPECT_EQ(t.name, cases[i].name);
        EXPECT_EQ(t.type, cases[i].type);
        EXPECT_EQ(t.dims, cases[i].dims);
        EXPECT_EQ(t.n_bytes, datas[i].size());
        // llama.cpp requires each offset to be the padded sum of the sizes before it.
        EXPECT_EQ(t.offset, expected_offset);
        expected_offset += (datas[i].size() + alignment - 1) / alignment * alignment;
        const auto file_offset = static_cast<uint64_t>(t.data - bytes.data());
        EXPECT_EQ(file_offset % alignment, 0u);
        EXPECT_EQ(0, std::memcmp(t.data, datas[i].data(), datas[i].size()));
        EXPECT_EQ(f->find_tensor(cases[i].name), &t);
    }
    // The last tensor is padded too (llama.cpp reads the padded data section size).
    EXPECT_EQ(bytes.size() % alignment, 0u);
    EXPECT_EQ(f->tensors()[0].n_elements(), 6);
    EXPECT_EQ(f->tensors()[7].n_elements(), 7);
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
}

TEST(GgufWriter, RoundTripsTensorsWithAlignment32) { round_trip_tensors(32); }
TEST(GgufWriter, RoundTripsTensorsWithAlignment64) { round_trip_tensors(64); }
TEST(GgufWriter, RoundTripsTensorsWithAlignment1) { round_trip_tensors(1); }

TEST(GgufWriter, ExplicitAlignmentKeyMustAgreeWithWriter) {
    GgufWriter w(64);
    w.set_u32("general.alignment", 64);
    w.set_string("x", "y");
    auto f = reparse(w.to_bytes());
    ASSERT_TRUE(f);
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->metadata().size(), 2u);  // not written twice
    EXPECT_EQ(f->metadata()[0].first, "general.alignment");

    GgufWriter bad(64);
    bad.set_u32("general.alignment", 32);
    EXPECT_TRUE(bad.to_bytes().empty());
    auto s = bad.write("/nonexistent-dir/never.gguf");
    EXPECT_EQ(s.code(), ErrorCode::invalid_argument);
    EXPECT_NE(s.message().find("general.alignment"), std::string::npos) << s.message();
}

TEST(GgufWriter, WritesAtomicallyAndReadsBackThroughMmap) {
    TempDir dir;
    const std::string path = dir.file("model.gguf");
    GgufWriter w(64);
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 2);
    ASSERT_TRUE(w.add_tensor("w", GgmlType::F32, {16, 4}, pattern(16 * 4 * 4, 3)).is_ok());
    ASSERT_TRUE(w.write(path).is_ok());
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    EXPECT_EQ(fs::file_size(path), w.to_bytes().size());

    auto r = GgufFile::open(path);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const auto& f = *r.value();
    EXPECT_EQ(f.path(), path);
    EXPECT_EQ(f.file_size(), fs::file_size(path));
    EXPECT_EQ(*f.get_string("general.architecture"), "llama");
    ASSERT_EQ(f.tensors().size(), 1u);
    const auto expected = pattern(16 * 4 * 4, 3);
    EXPECT_EQ(0, std::memcmp(f.tensors()[0].data, expected.data(), expected.size()));

    // Overwrite an existing file: the new content replaces it whole.
    GgufWriter w2;
    w2.set_string("general.architecture", "qwen3");
    ASSERT_TRUE(w2.write(path).is_ok());
    auto r2 = GgufFile::open(path);
    ASSERT_TRUE(r2.is_ok());
    EXPECT_EQ(*r2.value()->get_string("general.architecture"), "qwen3");
    EXPECT_TRUE(r2.value()->tensors().empty());
}

TEST(GgufWriter, WriteToMissingDirectoryFailsWithoutLeavingFiles) {
    TempDir dir;
    const std::string path = dir.file("no/such/dir/model.gguf");
    GgufWriter w;
    w.set_string("a", "b");
    auto s = w.write(path);
    EXPECT_EQ(s.code(), ErrorCode::io_error);
    EXPECT_NE(s.message().find("model.gguf.tmp"), std::string::npos) << s.message();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(GgufWriter, AddTensorValidatesShapeTypeAndSize) {
    GgufWriter w;
    auto expect_invalid = [](Status s, const char* needle) {
        EXPECT_EQ(s.code(), ErrorCode::invalid_argument) << s.to_string();
        EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
    };
    // Q4_0: 32 values per 18-byte block.
    expect_invalid(w.add_tensor("short", GgmlType::Q4_0, {64, 2}, std::vector<uint8_t>(71)), "72");
    expect_invalid(w.add_tensor("partial", GgmlType::Q4_0, {33}, std::vector<uint8_t>(18)), "whole number");
    expect_invalid(w.add_tensor("zero", GgmlType::F32, {4, 0}, {}), "not positive");
    expect_invalid(w.add_tensor("neg", GgmlType::F32, {-4}, {}), "not positive");
    expect_invalid(w.add_tensor("five", GgmlType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)), "dimensions");
    expect_invalid(w.add_tensor("none", GgmlType::F32, {}, {}), "dimensions");
    expect_invalid(w.add_tensor("", GgmlType::F32, {1}, std::vector<uint8_t>(4)), "empty");
    expect_invalid(w.add_tensor(std::string(64, 'x'), GgmlType::F32, {1}, std::vector<uint8_t>(4)), "longer");
    expect_invalid(w.add_tensor("bad_type", static_cast<GgmlType>(4), {1}, std::vector<uint8_t>(4)), "unknown type");
    expect_invalid(w.add_tensor("huge", GgmlType::F32, {4, INT64_MAX, 4}, {}), "overflow");
    ASSERT_TRUE(w.add_tensor("ok", GgmlType::Q4_0, {64, 2}, std::vector<uint8_t>(72)).is_ok());
    expect_invalid(w.add_tensor("ok", GgmlType::F32, {1}, std::vector<uint8_t>(4)), "twice");
    auto f = reparse(w.to_bytes());
    ASSERT_TRUE(f);
    EXPECT_EQ(f->tensors().size(), 1u);  // rejected tensors were not added
}

TEST(GgufWriter, RejectsBadAlignmentAndMistypedValues) {
    for (uint64_t alignment : {uint64_t{0}, uint64_t{3}, uint64_t{48}}) {
        GgufWriter w(alignment);
        w.set_u32("x", 1);
        EXPECT_TRUE(w.to_bytes().empty());
        auto s = w.write("/nonexistent-dir/x.gguf");
        EXPECT_EQ(s.code(), ErrorCode::invalid_argument);
        EXPECT_NE(s.message().find("alignment"), std::string::npos) << s.message();
    }
    const std::vector<std::pair<GgufValue, const char*>> bad = {
        {make(GgufValueType::UINT8, uint64_t{256}), "does not fit"},
        {make(GgufValueType::INT8, int64_t{-129}), "does not fit"},
        {make(GgufValueType::UINT32, int64_t{-1}), "does not fit"},
        {GgufValue{GgufValueType::STRING, uint64_t{1}}, "does not hold a string"},
        {GgufValue{GgufValueType::BOOL, uint64_t{1}}, "does not hold a bool"},
        {GgufValue{GgufValueType::FLOAT32, std::string("x")}, "does not hold a number"},
        {GgufValue{GgufValueType::ARRAY, uint64_t{1}}, "does not hold an array"},
        {GgufValue{static_cast<GgufValueType>(13), uint64_t{1}}, "unknown value type"},
        {array_of(GgufValueType::UINT32, {GgufValue{GgufValueType::STRING, std::string("x")}}), "item 0"},
    };
    for (const auto& [value, needle] : bad) {
        GgufWriter w;
        w.set("key", value);
        EXPECT_TRUE(w.to_bytes().empty()) << needle;
        auto s = w.write("/nonexistent-dir/x.gguf");
        EXPECT_EQ(s.code(), ErrorCode::invalid_argument);
        EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
        EXPECT_NE(s.message().find("'key'"), std::string::npos) << s.message();
    }
    // A signed value stored for an unsigned type is fine when it fits.
    GgufWriter w;
    w.set("k", make(GgufValueType::UINT16, int64_t{7}));
    auto f = reparse(w.to_bytes());
    ASSERT_TRUE(f);
    EXPECT_EQ(f->get_int("k"), 7);
}

}  // namespace
}  // namespace pagoda
