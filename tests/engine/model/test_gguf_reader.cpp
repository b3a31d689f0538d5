// GgufFile reading: a real model (stories260K), versions, open() errors, value accessors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "model/gguf_file.h"
#include "model/gguf_writer.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;

const std::string kStories = std::string(PAGODA_SHARED_DIR) + "/models/stories260K.gguf";

TEST(GgufReader, ReadsStories260K) {
    if (!fs::exists(kStories)) GTEST_SKIP() << "missing " << kStories << " (../shared not present)";
    auto r = GgufFile::open(kStories);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const GgufFile& f = *r.value();
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_EQ(f.file_size(), fs::file_size(kStories));
    ASSERT_NE(f.get_string("general.architecture"), nullptr);
    EXPECT_EQ(*f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_int("llama.embedding_length"), 64);
    EXPECT_EQ(f.get_int("llama.block_count"), 5);
    EXPECT_EQ(f.get_int("llama.feed_forward_length"), 172);
    EXPECT_EQ(f.get_int("llama.attention.head_count"), 8);
    EXPECT_EQ(f.get_int("llama.attention.head_count_kv"), 4);
    EXPECT_EQ(f.get_int("tokenizer.ggml.bos_token_id"), 1);
    EXPECT_EQ(f.get_int("tokenizer.ggml.eos_token_id"), 2);

    const auto* tokens = f.get_array("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->element_type, GgufValueType::STRING);
    EXPECT_EQ(tokens->items.size(), 512u);
    const auto* scores = f.get_array("tokenizer.ggml.scores");
    ASSERT_NE(scores, nullptr);
    EXPECT_EQ(scores->items.size(), 512u);

    EXPECT_EQ(f.tensors().size(), 48u);  // 3 + 5 layers x 9
    const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->type, GgmlType::F32);
    EXPECT_EQ(emb->dims, (std::vector<int64_t>{64, 512}));
    EXPECT_EQ(emb->n_elements(), 64 * 512);
    EXPECT_EQ(emb->n_bytes, 64u * 512u * 4u);
    // Data points into the mapping, inside the file, and holds real (finite, non-zero) weights.
    ASSERT_NE(emb->data, nullptr);
    float first[64];
    std::memcpy(first, emb->data + 64 * 4, sizeof(first));
    bool any_nonzero = false;
    for (float v : first) {
        EXPECT_TRUE(std::isfinite(v));
        any_nonzero |= v != 0.0f;
    }
    EXPECT_TRUE(any_nonzero);
    for (const auto& t : f.tensors()) {
        EXPECT_EQ(t.offset % f.alignment(), 0u) << t.name;
        EXPECT_EQ(f.find_tensor(t.name), &t);
    }
    ASSERT_NE(f.find_tensor("blk.4.ffn_down.weight"), nullptr);
    EXPECT_EQ(f.find_tensor("blk.4.ffn_down.weight")->dims, (std::vector<int64_t>{172, 64}));
}

TEST(GgufReader, ParsesInMemoryImageOfRealModel) {
    if (!fs::exists(kStories)) GTEST_SKIP() << "missing " << kStories << " (../shared not present)";
    std::ifstream in(kStories, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto r = GgufFile::parse(bytes, "stories.gguf");
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r.value()->path(), "stories.gguf");
    const auto* emb = r.value()->find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_GE(emb->data, bytes.data());
    EXPECT_LE(emb->data + emb->n_bytes, bytes.data() + bytes.size());
}

std::vector<uint8_t> small_model() {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 1);
    EXPECT_TRUE(w.add_tensor("w", GgmlType::F32, {8}, std::vector<uint8_t>(32, 1)).is_ok());
    return w.to_bytes();
}

void set_version(std::vector<uint8_t>& bytes, uint32_t version) { std::memcpy(bytes.data() + 4, &version, 4); }

TEST(GgufReader, AcceptsVersion2) {
    auto bytes = small_model();
    set_version(bytes, 2);
    auto r = GgufFile::parse(bytes, "v2.gguf");
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r.value()->version(), 2u);
    EXPECT_EQ(r.value()->get_int("llama.block_count"), 1);
    EXPECT_EQ(r.value()->tensors().size(), 1u);
}

TEST(GgufReader, RejectsVersion1BigEndianAndFutureVersionsAsUnsupported) {
    struct Case {
        uint32_t version;
        const char* needle;
    };
    for (const Case& c : {Case{1, "version 1"}, Case{0x03000000, "big-endian"}, Case{0x02000000, "big-endian"},
                          Case{4, "GGUF version 4 is not"}, Case{0, "GGUF version 0 is not"}}) {
        auto bytes = small_model();
        set_version(bytes, c.version);
        auto r = GgufFile::parse(bytes, "m.gguf");
        ASSERT_FALSE(r.is_ok());
        EXPECT_EQ(r.status().code(), ErrorCode::unsupported);
        EXPECT_EQ(r.status().message().rfind("m.gguf: ", 0), 0u) << r.status().message();
        EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
    }
}

TEST(GgufReader, RejectsNonGgufFiles) {
    const std::string text = "GGML\x01\x00\x00\x00 not a gguf";
    auto r = GgufFile::parse({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, "old.bin");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), ErrorCode::invalid_format);
    EXPECT_NE(r.status().message().find("old.bin: not a GGUF file (starts with 'GGML'"), std::string::npos)
        << r.status().message();
    auto empty = GgufFile::parse({}, "empty.gguf");
    ASSERT_FALSE(empty.is_ok());
    EXPECT_NE(empty.status().message().find("empty.gguf: too small"), std::string::npos);
}

TEST(GgufReader, OpenReportsMissingFilesDirectoriesAndEmptyFiles) {
    auto missing = GgufFile::open("/nonexistent/dir/model.gguf");
    ASSERT_FALSE(missing.is_ok());
    EXPECT_EQ(missing.status().code(), ErrorCode::not_found);
    EXPECT_EQ(missing.status().message().rfind("/nonexistent/dir/model.gguf: ", 0), 0u);

    const auto dir = fs::temp_directory_path() / ("pagoda_gguf_reader_" + std::to_string(getpid()));
    fs::create_directories(dir);
    auto is_dir = GgufFile::open(dir.string());
    EXPECT_FALSE(is_dir.is_ok());
    EXPECT_NE(is_dir.status().message().find("not a regular file"), std::string::npos);

    const auto empty_path = (dir / "empty.gguf").string();
    { std::ofstream(empty_path, std::ios::binary); }
    auto empty = GgufFile::open(empty_path);
    ASSERT_FALSE(empty.is_ok());
    EXPECT_EQ(empty.status().code(), ErrorCode::invalid_format);
    EXPECT_NE(empty.status().message().find("empty file"), std::string::npos);

    // A truncated file on disk is reported through the same checks as an in-memory one.
    auto bytes = small_model();
    const auto cut_path = (dir / "cut.gguf").string();
    {
        std::ofstream out(cut_path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() - 8));
    }
    auto cut = GgufFile::open(cut_path);
    ASSERT_FALSE(cut.is_ok());
    EXPECT_EQ(cut.status().message().rfind(cut_path + ": tensor 'w' data [offset ", 0), 0u) << cut.status().message();
    EXPECT_NE(cut.status().message().find("extends past the end of the file"), std::string::npos);
    fs::remove_all(dir);
}

TEST(GgufValue, AccessorsConvertOnlyLosslessly) {
    const GgufValue big{GgufValueType::UINT64, uint64_t{1} << 63};
    EXPECT_EQ(big.as_int(), std::nullopt);
    EXPECT_EQ(big.as_uint(), uint64_t{1} << 63);
    EXPECT_EQ(big.as_float(), std::nullopt);  // beyond 2^53: not exact in a double
    const GgufValue neg{GgufValueType::INT32, int64_t{-7}};
    EXPECT_EQ(neg.as_int(), -7);
    EXPECT_EQ(neg.as_uint(), std::nullopt);
    EXPECT_EQ(neg.as_float(), -7.0);
    EXPECT_EQ(neg.as_bool(), std::nullopt);
    const GgufValue f{GgufValueType::FLOAT32, 2.0};
    EXPECT_EQ(f.as_int(), std::nullopt);
    EXPECT_EQ(f.as_float(), 2.0);
    const GgufValue b{GgufValueType::BOOL, true};
    EXPECT_EQ(b.as_bool(), true);
    EXPECT_EQ(b.as_int(), std::nullopt);
    EXPECT_EQ(b.as_string(), nullptr);
    EXPECT_EQ(b.as_array(), nullptr);
    const GgufValue s{GgufValueType::STRING, std::string("x")};
    ASSERT_NE(s.as_string(), nullptr);
    EXPECT_EQ(*s.as_string(), "x");
    EXPECT_EQ(s.as_float(), std::nullopt);
}

TEST(GgufValue, TypeNames) {
    EXPECT_STREQ(gguf_value_type_name(GgufValueType::UINT8), "uint8");
    EXPECT_STREQ(gguf_value_type_name(GgufValueType::INT16), "int16");
    EXPECT_STREQ(gguf_value_type_name(GgufValueType::FLOAT32), "float32");
    EXPECT_STREQ(gguf_value_type_name(GgufValueType::STRING), "string");
    EXPECT_STREQ(gguf_value_type_name(GgufValueType::ARRAY), "array");
    EXPECT_STREQ(gguf_value_type_name(GgufValueType::FLOAT64), "float64");
    EXPECT_STREQ(gguf_value_type_name(static_cast<GgufValueType>(99)), "unknown");
}

}  // namespace
}  // namespace pagoda
