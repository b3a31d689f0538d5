// Hostile GGUF input: truncation at every byte, huge counts and lengths in every field,
// bad types, bad offsets, overlaps, duplicates, bad alignment, deep nesting, random
// corruption, and the crafted regression files in tests/data/gguf/. Each must give a
// non-ok status whose message starts with the file name and names the problem; none may
// crash, hang or allocate giant memory (run under the asan preset to check the latter).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "model/gguf_file.h"
#include "model/gguf_writer.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;

// Byte-level GGUF builder that can write what GgufWriter refuses to, and remembers where
// each count, length and type field sits so tests can corrupt them one by one.
class Raw {
public:
    struct Field {
        size_t at;
        int width;  // 4 or 8
        std::string what;
    };

    template <typename T>
    void put(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        bytes.insert(bytes.end(), p, p + sizeof(T));
    }
    void u32_field(uint32_t v, std::string what) {
        fields.push_back({bytes.size(), 4, std::move(what)});
        put(v);
    }
    void u64_field(uint64_t v, std::string what) {
        fields.push_back({bytes.size(), 8, std::move(what)});
        put(v);
    }
    void str(std::string_view s) {
        u64_field(s.size(), "length of '" + std::string(s) + "'");
        bytes.insert(bytes.end(), s.begin(), s.end());
    }
    void header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
        put(version);
        u64_field(n_tensors, "n_tensors");
        u64_field(n_kv, "n_kv");
    }
    void kv_type(std::string_view key, GgufValueType type) {
        str(key);
        u32_field(static_cast<uint32_t>(type), "type of " + std::string(key));
    }
    void kv_u32(std::string_view key, uint32_t v) {
        kv_type(key, GgufValueType::UINT32);
        put(v);
    }
    void kv_str(std::string_view key, std::string_view v) {
        kv_type(key, GgufValueType::STRING);
        str(v);
    }
    void array_header(GgufValueType element_type, uint64_t n) {
        u32_field(static_cast<uint32_t>(element_type), "array element type");
        u64_field(n, "array count");
    }
    void tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
        str(name);
        u32_field(static_cast<uint32_t>(dims.size()), "n_dims of " + std::string(name));
        for (uint64_t d : dims) u64_field(d, "dim of " + std::string(name));
        u32_field(type, "type of " + std::string(name));
        u64_field(offset, "offset of " + std::string(name));
    }
    void pad(uint64_t alignment = 32) {
        while (bytes.size() % alignment != 0) bytes.push_back(0);
    }
    void data(size_t n) {
        for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<uint8_t>(i));
    }

    std::vector<uint8_t> bytes;
    std::vector<Field> fields;
};

constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2;

// A small valid file touching every value type, a nested array, and three tensors.
Raw sample(uint32_t version = 3) {
    Raw r;
    r.header(3, 16, version);
    r.kv_str("general.architecture", "llama");
    r.kv_type("u8", GgufValueType::UINT8), r.put<uint8_t>(7);
    r.kv_type("i8", GgufValueType::INT8), r.put<int8_t>(-7);
    r.kv_type("u16", GgufValueType::UINT16), r.put<uint16_t>(700);
    r.kv_type("i16", GgufValueType::INT16), r.put<int16_t>(-700);
    r.kv_u32("u32", 70000);
    r.kv_type("i32", GgufValueType::INT32), r.put<int32_t>(-70000);
    r.kv_type("f32", GgufValueType::FLOAT32), r.put<float>(1.5f);
    r.kv_type("bool", GgufValueType::BOOL), r.put<uint8_t>(1);
    r.kv_type("u64", GgufValueType::UINT64), r.put<uint64_t>(1ull << 40);
    r.kv_type("i64", GgufValueType::INT64), r.put<int64_t>(-(1ll << 40));
    r.kv_type("f64", GgufValueType::FLOAT64), r.put<double>(2.5);
    r.kv_type("u32s", GgufValueType::ARRAY), r.array_header(GgufValueType::UINT32, 3);
    r.put<uint32_t>(1), r.put<uint32_t>(2), r.put<uint32_t>(3);
    r.kv_type("strs", GgufValueType::ARRAY), r.array_header(GgufValueType::STRING, 2);
    r.str("a"), r.str("bc");
    r.kv_type("nested", GgufValueType::ARRAY), r.array_header(GgufValueType::ARRAY, 2);
    r.array_header(GgufValueType::INT32, 1), r.put<int32_t>(1);
    r.array_header(GgufValueType::INT32, 2), r.put<int32_t>(2), r.put<int32_t>(3);
    r.kv_u32("general.alignment", 32);
    r.tensor("a", {4, 2}, kF32, 0);  // 32 bytes
    r.tensor("b", {32}, kQ4_0, 32);  // 18 bytes, padded to 32
    r.tensor("c", {3}, kF16, 64);    // 6 bytes
    r.pad();
    r.data(64 + 6);
    r.pad();  // writers pad after the last tensor too
    return r;
}

Result<std::unique_ptr<GgufFile>> parse(const std::vector<uint8_t>& bytes, const std::string& name = "bad.gguf") {
    return GgufFile::parse(bytes, name);
}

// The status is an error, says which file, and (when given) names the problem.
::testing::AssertionResult fails_with(const std::vector<uint8_t>& bytes, const std::string& needle = "",
                                      const std::string& name = "bad.gguf") {
    auto r = parse(bytes, name);
    if (r.is_ok()) return ::testing::AssertionFailure() << "parsed fine";
    const std::string m = r.status().message();
    if (m.rfind(name + ": ", 0) != 0) return ::testing::AssertionFailure() << "message lacks file name: " << m;
    if (m.size() < name.size() + 12) return ::testing::AssertionFailure() << "message too terse: " << m;
    if (!needle.empty() && m.find(needle) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks '" << needle << "': " << m;
    }
    return ::testing::AssertionSuccess() << m;
}

TEST(GgufHostile, SampleIsValid) {
    for (uint32_t version : {2u, 3u}) {
        auto r = parse(sample(version).bytes);
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        const auto& f = *r.value();
        EXPECT_EQ(f.metadata().size(), 16u);
        EXPECT_EQ(f.get_int("i16"), -700);
        EXPECT_EQ(f.get_array("nested")->items[1].as_array()->items[1].as_int(), 3);
        ASSERT_EQ(f.tensors().size(), 3u);
        EXPECT_EQ(f.find_tensor("b")->n_bytes, 18u);
        EXPECT_EQ(f.find_tensor("c")->offset, 64u);
    }
}

TEST(GgufHostile, TruncationAtEveryByteFails) {
    const auto full = sample().bytes;
    // The file is valid exactly once it holds the last tensor's bytes ('c': 6 bytes at data + 64);
    // the trailing padding is optional.
    const size_t needed = full.size() - 96 + 64 + 6;
    ASSERT_LT(needed, full.size());
    for (size_t n = 0; n < full.size(); ++n) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        if (n < needed) {
            EXPECT_TRUE(fails_with(cut)) << "truncated to " << n << " bytes";
        } else {
            EXPECT_TRUE(parse(cut).is_ok()) << "truncated to " << n << " bytes";
        }
    }
}

TEST(GgufHostile, HugeOrWrongValueInEveryFieldFails) {
    const Raw base = sample();
    ASSERT_GT(base.fields.size(), 40u);
    const uint64_t size = base.bytes.size();
    const std::vector<uint64_t> huge64 = {UINT64_MAX,    1ull << 63, (1ull << 63) - 1, 1ull << 32,
                                          0x7fffffffull, size,       size + 1};
    const std::vector<uint32_t> bad32 = {UINT32_MAX, 0x80000000u, 13, 1000, 0x01000000u};
    size_t cases = 0;
    for (const auto& field : base.fields) {
        if (field.width == 8) {
            for (uint64_t v : huge64) {
                auto bytes = base.bytes;
                std::memcpy(bytes.data() + field.at, &v, 8);
                EXPECT_TRUE(fails_with(bytes)) << field.what << " = " << v;
                ++cases;
            }
        } else {
            for (uint32_t v : bad32) {
                auto bytes = base.bytes;
                std::memcpy(bytes.data() + field.at, &v, 4);
                EXPECT_TRUE(fails_with(bytes)) << field.what << " = " << v;
                ++cases;
            }
        }
    }
    EXPECT_GT(cases, 250u);
}

TEST(GgufHostile, HugeCountsAreNamedInTheMessage) {
    Raw r;
    r.header(0, UINT64_MAX);
    EXPECT_TRUE(fails_with(r.bytes, "header claims 18446744073709551615 metadata entries"));

    Raw t;
    t.header(1ull << 40, 0);
    EXPECT_TRUE(fails_with(t.bytes, "header claims 1099511627776 tensors"));

    Raw a;
    a.header(0, 1);
    a.kv_type("tokenizer.ggml.tokens", GgufValueType::ARRAY);
    a.array_header(GgufValueType::STRING, 1ull << 60);
    a.data(64);
    EXPECT_TRUE(fails_with(a.bytes,
                           "metadata key 'tokenizer.ggml.tokens': array of 1152921504606846976 string "
                           "items needs at least"));

    Raw s;
    s.header(0, 1);
    s.kv_type("k", GgufValueType::STRING);
    s.u64_field(1ull << 50, "len");
    s.data(10);
    EXPECT_TRUE(fails_with(s.bytes, "the value of metadata key 'k' claims 1125899906842624 bytes but only 10"));
}

TEST(GgufHostile, ArrayItemBudgetStopsAmplification) {
    // 2^23 + 1 one-byte items: the bytes are there, but every item would become a 48-byte
    // GgufValue; the reader refuses before allocating.
    Raw a;
    a.header(0, 1);
    a.kv_type("big", GgufValueType::ARRAY);
    const uint64_t n = (1ull << 23) + 1;
    a.array_header(GgufValueType::UINT8, n);
    a.bytes.resize(a.bytes.size() + n);
    EXPECT_TRUE(fails_with(a.bytes, "exceeds the limit"));
}

TEST(GgufHostile, BadTypesFail) {
    {
        Raw r;
        r.header(0, 1);
        r.kv_type("k", static_cast<GgufValueType>(13));
        r.data(8);
        EXPECT_TRUE(fails_with(r.bytes, "metadata key 'k' has unknown value type 13"));
    }
    {
        Raw r;
        r.header(0, 1);
        r.kv_type("k", GgufValueType::ARRAY);
        r.array_header(static_cast<GgufValueType>(77), 1);
        r.data(8);
        EXPECT_TRUE(fails_with(r.bytes, "unknown element type 77"));
    }
    for (uint32_t type : {4u, 5u, 31u, 99u, UINT32_MAX}) {  // 4/5: removed Q4_2/Q4_3
        Raw r;
        r.header(1, 0);
        r.tensor("t", {32}, type, 0);
        r.pad();
        r.data(256);
        auto res = parse(r.bytes);
        ASSERT_FALSE(res.is_ok());
        EXPECT_EQ(res.status().code(), ErrorCode::unsupported);
        EXPECT_NE(res.status().message().find("tensor 't' has unknown ggml type " + std::to_string(type)),
                  std::string::npos)
            << res.status().message();
    }
}

TEST(GgufHostile, BadDimensionsFail) {
    struct Case {
        std::vector<uint64_t> dims;
        uint32_t type;
        const char* needle;
    };
    const std::vector<Case> cases = {
        {{}, kF32, "has 0 dimensions"},
        {{1, 1, 1, 1, 1}, kF32, "has 5 dimensions"},
        {{4, 0}, kF32, "dimension 1 is 0"},
        {{1ull << 63}, kF32, "dimension 0 is 9223372036854775808"},
        {{1ull << 32, 1ull << 32}, kF32, "element count overflows"},
        {{1ull << 62, 4}, kF32, "element count overflows"},
        {{1ull << 62}, kF32, "row size overflows"},  // 2^64 bytes in one row
        {{1ull << 61, 2}, kF32, "byte size overflows"},
        {{2, 1ull << 61}, kF32, "byte size overflows"},
        {{33, 2}, kQ4_0, "a row of 33 values is not a whole number of q4_0 blocks (32 values each)"},
        {{100}, 12 /* Q4_K */, "q4_K blocks (256 values each)"},
    };
    for (const auto& c : cases) {
        Raw r;
        r.header(1, 0);
        r.tensor("t", c.dims, c.type, 0);
        r.pad();
        r.data(512);
        EXPECT_TRUE(fails_with(r.bytes, c.needle)) << c.needle;
    }
}

TEST(GgufHostile, BadOffsetsOverlapsAndDuplicatesFail) {
    const auto one = [](uint64_t offset, uint64_t dim, size_t data) {
        Raw r;
        r.header(1, 0);
        r.tensor("blk.0.attn_q.weight", {dim}, kF32, offset);
        r.pad();
        r.data(data);
        return r.bytes;
    };
    const auto out_of_range = one(0, 1024, 1000);  // 4096 bytes wanted, 1000 present
    const auto data_start = out_of_range.size() - 1000;
    EXPECT_TRUE(fails_with(out_of_range, "bad.gguf: tensor 'blk.0.attn_q.weight' data [offset " +
                                             std::to_string(data_start) +
                                             ", 4096 bytes] extends past the end of the "
                                             "file (" +
                                             std::to_string(out_of_range.size()) + " bytes)"));
    EXPECT_TRUE(fails_with(one(1ull << 40, 8, 64), "is past the end of the file"));
    EXPECT_TRUE(fails_with(one(UINT64_MAX - 31, 8, 64), "is past the end of the file"));
    EXPECT_TRUE(fails_with(one(4, 8, 64), "data offset 4 is not a multiple of the alignment 32"));

    const auto two = [](const char* name_a, uint64_t off_a, uint64_t dim_a, const char* name_b, uint64_t off_b) {
        Raw r;
        r.header(2, 0);
        r.tensor(name_a, {dim_a}, kF32, off_a);
        r.tensor(name_b, {8}, kF32, off_b);
        r.pad();
        r.data(256);
        return r.bytes;
    };
    EXPECT_TRUE(fails_with(two("a", 0, 16, "b", 32), "tensors 'a' ["));  // a is 64 bytes
    EXPECT_TRUE(fails_with(two("a", 0, 16, "b", 32), "overlap"));
    EXPECT_TRUE(fails_with(two("a", 64, 8, "b", 64), "overlap"));  // same offset
    EXPECT_TRUE(parse(two("a", 64, 16, "b", 0)).is_ok());          // touching, out of order: fine
    EXPECT_TRUE(fails_with(two("x", 0, 8, "x", 32), "duplicate tensor name 'x' (tensors #0 and #1)"));

    Raw dup;
    dup.header(0, 3);
    dup.kv_u32("a", 1);
    dup.kv_u32("b", 1);
    dup.kv_str("a", "again");
    EXPECT_TRUE(fails_with(dup.bytes, "duplicate metadata key 'a' (entries #0 and #2)"));
}

TEST(GgufHostile, BadAlignmentFails) {
    const auto with_alignment = [](auto write_value) {
        Raw r;
        r.header(0, 1);
        write_value(r);
        return r.bytes;
    };
    for (uint32_t a : {0u, 3u, 48u, 0xffffffffu}) {
        EXPECT_TRUE(fails_with(with_alignment([&](Raw& r) { r.kv_u32("general.alignment", a); }),
                               "general.alignment " + std::to_string(a) + " is not a power of two"));
    }
    EXPECT_TRUE(fails_with(with_alignment([](Raw& r) { r.kv_str("general.alignment", "32"); }),
                           "general.alignment must be an unsigned integer, not string"));
    EXPECT_TRUE(fails_with(with_alignment([](Raw& r) {
                               r.kv_type("general.alignment", GgufValueType::BOOL);
                               r.put<uint8_t>(1);
                           }),
                           "not bool"));
    EXPECT_TRUE(fails_with(with_alignment([](Raw& r) {
                               r.kv_type("general.alignment", GgufValueType::INT32);
                               r.put<int32_t>(-32);
                           }),
                           "negative"));
    // Other integer types and alignments are fine.
    auto ok = parse(with_alignment([](Raw& r) {
        r.kv_type("general.alignment", GgufValueType::UINT64);
        r.put<uint64_t>(1ull << 62);
    }));
    ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
    EXPECT_EQ(ok.value()->alignment(), 1ull << 62);
    // ...but a tensor in such a file cannot be placed in range.
    Raw r;
    r.header(1, 1);
    r.kv_type("general.alignment", GgufValueType::UINT64);
    r.put<uint64_t>(1ull << 63);
    r.tensor("t", {1}, kF32, 0);
    r.data(64);
    EXPECT_TRUE(fails_with(r.bytes, "is past the end of the file"));
}

TEST(GgufHostile, NestingDepthIsBounded) {
    const auto nested = [](int depth) {
        Raw r;
        r.header(0, 1);
        r.kv_type("deep", GgufValueType::ARRAY);
        for (int i = 1; i < depth; ++i) r.array_header(GgufValueType::ARRAY, 1);
        r.array_header(GgufValueType::UINT8, 1);
        r.put<uint8_t>(42);
        return r.bytes;
    };
    auto ok = parse(nested(8));
    ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
    const GgufValue* v = ok.value()->find("deep");
    for (int i = 0; i < 8; ++i) {
        ASSERT_NE(v->as_array(), nullptr);
        v = &v->as_array()->items[0];
    }
    EXPECT_EQ(v->as_uint(), 42u);
    EXPECT_TRUE(fails_with(nested(9), "nested more than 8 deep"));
    EXPECT_TRUE(fails_with(nested(10000), "nested more than 8 deep"));
}

TEST(GgufHostile, HostileNamesAreEscapedInMessages) {
    Raw r;
    r.header(0, 2);
    r.kv_u32(std::string("a\nb\x01\xff", 5), 1);
    r.kv_u32(std::string("a\nb\x01\xff", 5), 1);
    auto res = parse(r.bytes);
    ASSERT_FALSE(res.is_ok());
    EXPECT_NE(res.status().message().find("'a\\x0ab\\x01\\xff'"), std::string::npos) << res.status().message();
    EXPECT_EQ(res.status().message().find('\n'), std::string::npos);

    Raw longname;
    longname.header(1, 0);
    longname.tensor(std::string(10000, 'n'), {0}, kF32, 0);
    auto res2 = parse(longname.bytes);
    ASSERT_FALSE(res2.is_ok());
    EXPECT_LT(res2.status().message().size(), 400u);
    EXPECT_NE(res2.status().message().find("nnn..."), std::string::npos);
}

TEST(GgufHostile, RandomCorruptionNeverCrashes) {
    const auto base = sample().bytes;
    std::mt19937 rng(1234);
    int failures = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        auto bytes = base;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            const size_t at = rng() % bytes.size();
            switch (rng() % 3) {
                case 0: bytes[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
                case 1: bytes[at] = static_cast<uint8_t>(rng()); break;
                default: bytes[at] = 0xff; break;
            }
        }
        if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
        auto r = parse(bytes, "fuzz.gguf");
        if (!r.is_ok()) {
            ++failures;
            EXPECT_EQ(r.status().message().rfind("fuzz.gguf: ", 0), 0u) << r.status().message();
        } else {
            for (const auto& t : r.value()->tensors()) {
                ASSERT_GE(t.data, bytes.data());
                ASSERT_LE(t.data + t.n_bytes, bytes.data() + bytes.size());
            }
        }
    }
    EXPECT_GT(failures, 1000);  // most corruptions are caught (some land in harmless payload bytes)
}

// ---- crafted regression files in tests/data/gguf/ ----------------------------------------

const std::string kDataDir = std::string(PAGODA_TEST_DATA_DIR) + "/gguf";

struct CraftedFile {
    const char* name;
    const char* needle;  // empty: the file is valid
    std::vector<uint8_t> (*make)();
};

std::vector<uint8_t> make_valid_small() { return sample().bytes; }
std::vector<uint8_t> make_valid_writer() {
    GgufWriter w(64);
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 1);
    w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
    w.set_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1});
    (void)w.add_tensor("token_embd.weight", GgmlType::F32, {4, 4}, std::vector<uint8_t>(64, 0x3f));
    (void)w.add_tensor("blk.0.attn_q.weight", GgmlType::Q8_0, {32, 2}, std::vector<uint8_t>(68, 1));
    return w.to_bytes();
}
std::vector<uint8_t> make_huge_tensor_count() {
    Raw r;
    r.header(UINT64_MAX / 2, 0);
    r.data(64);
    return r.bytes;
}
std::vector<uint8_t> make_huge_array() {
    Raw r;
    r.header(0, 1);
    r.kv_type("tokenizer.ggml.tokens", GgufValueType::ARRAY);
    r.array_header(GgufValueType::STRING, UINT64_MAX);
    r.data(32);
    return r.bytes;
}
std::vector<uint8_t> make_huge_string() {
    Raw r;
    r.header(0, 1);
    r.str("general.name");
    r.u32_field(static_cast<uint32_t>(GgufValueType::STRING), "type");
    r.u64_field(UINT64_MAX - 3, "len");
    r.data(32);
    return r.bytes;
}
std::vector<uint8_t> make_tensor_past_end() {
    Raw r;
    r.header(1, 0);
    r.tensor("blk.0.attn_q.weight", {64, 64}, kF32, 0);
    r.pad();
    r.data(100);
    return r.bytes;
}
std::vector<uint8_t> make_overlap() {
    Raw r;
    r.header(2, 0);
    r.tensor("a", {16}, kF32, 0);
    r.tensor("b", {16}, kF32, 32);
    r.pad();
    r.data(128);
    return r.bytes;
}
std::vector<uint8_t> make_bad_alignment() {
    Raw r;
    r.header(0, 1);
    r.kv_u32("general.alignment", 3);
    return r.bytes;
}
std::vector<uint8_t> make_deep_nesting() {
    Raw r;
    r.header(0, 1);
    r.kv_type("deep", GgufValueType::ARRAY);
    for (int i = 0; i < 64; ++i) r.array_header(GgufValueType::ARRAY, 1);
    return r.bytes;
}
std::vector<uint8_t> make_big_endian() {
    Raw r;
    r.header(0, 0, 0x03000000u);
    return r.bytes;
}
std::vector<uint8_t> make_v1() {
    Raw r;
    r.header(0, 0, 1);
    return r.bytes;
}

const std::vector<CraftedFile>& crafted_files() {
    static const std::vector<CraftedFile> files = {
        {"valid_small.gguf", "", make_valid_small},
        {"valid_writer_align64.gguf", "", make_valid_writer},
        {"bad_huge_tensor_count.gguf", "tensors, but the", make_huge_tensor_count},
        {"bad_huge_array.gguf", "array of 18446744073709551615 string items", make_huge_array},
        {"bad_huge_string.gguf", "claims 18446744073709551612 bytes", make_huge_string},
        {"bad_tensor_past_end.gguf", "extends past the end of the file", make_tensor_past_end},
        {"bad_overlap.gguf", "overlap", make_overlap},
        {"bad_alignment_3.gguf", "general.alignment 3 is not a power of two", make_bad_alignment},
        {"bad_deep_nesting.gguf", "nested more than 8 deep", make_deep_nesting},
        {"bad_big_endian.gguf", "big-endian", make_big_endian},
        {"bad_v1.gguf", "version 1 is not supported", make_v1},
    };
    return files;
}

// Regenerates the crafted files: run with --gtest_also_run_disabled_tests
// --gtest_filter=GgufHostile.DISABLED_WriteCraftedFiles after changing them.
TEST(GgufHostile, DISABLED_WriteCraftedFiles) {
    fs::create_directories(kDataDir);
    for (const auto& c : crafted_files()) {
        const auto bytes = c.make();
        std::ofstream out(kDataDir + "/" + c.name, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        ASSERT_TRUE(out.good()) << c.name;
    }
}

TEST(GgufHostile, CraftedFilesInTestData) {
    for (const auto& c : crafted_files()) {
        const std::string path = kDataDir + "/" + c.name;
        SCOPED_TRACE(path);
        ASSERT_TRUE(fs::exists(path)) << "regenerate with GgufHostile.DISABLED_WriteCraftedFiles";
        // The committed file still matches its generator: the writer's output format is stable.
        std::ifstream in(path, std::ios::binary);
        std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(on_disk, c.make());
        auto r = GgufFile::open(path);
        if (std::string(c.needle).empty()) {
            EXPECT_TRUE(r.is_ok()) << r.status().to_string();
        } else {
            ASSERT_FALSE(r.is_ok());
            EXPECT_EQ(r.status().message().rfind(path + ": ", 0), 0u) << r.status().message();
            EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
        }
    }
}

// Inputs the fuzzer found (tests/data/gguf/fuzz_*.gguf, if any) must keep failing cleanly
// or parsing, never crashing.
TEST(GgufHostile, FuzzRegressionInputs) {
    if (!fs::exists(kDataDir)) GTEST_SKIP() << "no " << kDataDir;
    for (const auto& entry : fs::directory_iterator(kDataDir)) {
        const auto name = entry.path().filename().string();
        if (name.rfind("fuzz_", 0) != 0) continue;
        auto r = GgufFile::open(entry.path().string());
        if (!r.is_ok()) {
            EXPECT_EQ(r.status().message().rfind(entry.path().string() + ": ", 0), 0u) << r.status().message();
        }
    }
}

}  // namespace
}  // namespace pagoda
