// load_tokenizer() on in-memory GGUF images: llama.cpp's defaults for "llama" vocabularies
// and clear errors for hostile metadata.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "spm_test_vocab.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using test::tiny_spm_vocab_data;
using Ids = std::vector<TokenId>;

// A writer holding the tiny vocabulary the way convert_hf_to_gguf.py would write it.
GgufWriter tiny_writer() {
    const VocabData d = tiny_spm_vocab_data();
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", d.tokens);
    w.set_f32_array("tokenizer.ggml.scores", d.scores);
    std::vector<int32_t> types;
    for (TokenType t : d.types) types.push_back(static_cast<int32_t>(t));
    w.set_i32_array("tokenizer.ggml.token_type", types);
    return w;
}

struct Loaded {
    std::vector<uint8_t> bytes;  // the GgufFile points into these
    std::unique_ptr<GgufFile> gguf;
    Result<std::unique_ptr<Tokenizer>> tokenizer = Status::error(ErrorCode::internal, "not loaded");
};

std::unique_ptr<Loaded> load(const GgufWriter& w) {
    auto out = std::make_unique<Loaded>();
    out->bytes = w.to_bytes();
    Result<std::unique_ptr<GgufFile>> gguf = GgufFile::parse(out->bytes, "tiny.gguf");
    if (!gguf) {
        out->tokenizer = gguf.status();
        return out;
    }
    out->gguf = std::move(gguf).value();
    out->tokenizer = load_tokenizer(*out->gguf);
    return out;
}

void expect_error(const GgufWriter& w, const std::string& needle) {
    auto loaded = load(w);
    ASSERT_FALSE(loaded->tokenizer.is_ok()) << "expected an error mentioning '" << needle << "'";
    EXPECT_NE(loaded->tokenizer.status().message().find(needle), std::string::npos)
        << loaded->tokenizer.status().to_string();
}

TEST(SpmGgufLoad, AppliesLlamaDefaults) {
    auto loaded = load(tiny_writer());
    ASSERT_TRUE(loaded->tokenizer.is_ok()) << loaded->tokenizer.status().to_string();
    const Tokenizer& tok = **loaded->tokenizer;
    EXPECT_EQ(tok.kind(), "spm");
    EXPECT_EQ(tok.vocab_size(), 284);
    EXPECT_EQ(tok.special().bos, 1);
    EXPECT_EQ(tok.special().eos, 2);
    EXPECT_EQ(tok.special().unk, 0);
    EXPECT_TRUE(tok.special().add_bos);
    EXPECT_FALSE(tok.special().add_eos);
    EXPECT_EQ(tok.encode("hello", true, false), (Ids{1, 273}));
    EXPECT_TRUE(tok.is_eog(2));
}

TEST(SpmGgufLoad, ReadsFlagsAndIds) {
    GgufWriter w = tiny_writer();
    w.set_bool("tokenizer.ggml.add_bos_token", false);
    w.set_bool("tokenizer.ggml.add_eos_token", true);
    w.set_bool("tokenizer.ggml.add_space_prefix", false);
    w.set_u32("tokenizer.ggml.eos_token_id", 271);
    w.set_u32("tokenizer.ggml.padding_token_id", 5);
    auto loaded = load(w);
    ASSERT_TRUE(loaded->tokenizer.is_ok()) << loaded->tokenizer.status().to_string();
    const Tokenizer& tok = **loaded->tokenizer;
    EXPECT_EQ(tok.special().eos, 271);
    EXPECT_EQ(tok.special().pad, 5);
    EXPECT_EQ(tok.encode("ab", true, false), (Ids{263, 271}));
}

TEST(SpmGgufLoad, PaddingIdPastTheVocabularyIsDropped) {
    GgufWriter w = tiny_writer();
    w.set_u32("tokenizer.ggml.padding_token_id", 284);
    auto loaded = load(w);
    ASSERT_TRUE(loaded->tokenizer.is_ok()) << loaded->tokenizer.status().to_string();
    EXPECT_EQ((*loaded->tokenizer)->special().pad, -1);
}

TEST(SpmGgufLoad, EndOfTurnLookingTokensBecomeControl) {
    VocabData d = tiny_spm_vocab_data();
    d.tokens[282] = "<|im_end|>";
    GgufWriter w = tiny_writer();
    w.set_string_array("tokenizer.ggml.tokens", d.tokens);
    auto loaded = load(w);
    ASSERT_TRUE(loaded->tokenizer.is_ok()) << loaded->tokenizer.status().to_string();
    EXPECT_EQ((*loaded->tokenizer)->token_type(282), TokenType::control);
    EXPECT_EQ((*loaded->tokenizer)->token_to_piece(282), "");
}

TEST(SpmGgufLoad, RefusesMissingOrUnknownModel) {
    GgufWriter none;
    none.set_string("general.architecture", "llama");
    expect_error(none, "tokenizer.ggml.model");

    GgufWriter w = tiny_writer();
    w.set_string("tokenizer.ggml.model", "wordpiece-9000");
    expect_error(w, "supported: llama, gpt2");

    GgufWriter wrong_type = tiny_writer();
    wrong_type.set_u32("tokenizer.ggml.model", 3);
    expect_error(wrong_type, "must be a string");
}

TEST(SpmGgufLoad, RefusesBadArrays) {
    GgufWriter w = tiny_writer();
    w.set_i32_array("tokenizer.ggml.tokens", {1, 2, 3});
    expect_error(w, "array of strings");

    w = tiny_writer();
    w.set_string("tokenizer.ggml.tokens", "abc");
    expect_error(w, "must be an array");

    w = tiny_writer();
    w.set_string_array("tokenizer.ggml.tokens", {});
    expect_error(w, "empty");

    w = tiny_writer();
    w.set_f32_array("tokenizer.ggml.scores", {0.0f, 1.0f});
    expect_error(w, "2 entries for 284 tokens");

    w = tiny_writer();
    w.set_string_array("tokenizer.ggml.scores", std::vector<std::string>(284, "x"));
    expect_error(w, "float32 or int32");

    w = tiny_writer();
    w.set_i32_array("tokenizer.ggml.token_type", std::vector<int32_t>(285, 1));
    expect_error(w, "285 entries for 284 tokens");

    w = tiny_writer();
    std::vector<int32_t> types(284, 1);
    types[17] = 99;
    w.set_i32_array("tokenizer.ggml.token_type", types);
    expect_error(w, "unknown type 99");

    w = tiny_writer();
    w.set_string_array("tokenizer.ggml.token_type", std::vector<std::string>(284, "n"));
    expect_error(w, "integers");

    GgufWriter dup = tiny_writer();
    VocabData d = tiny_spm_vocab_data();
    d.tokens[261] = "a";
    dup.set_string_array("tokenizer.ggml.tokens", d.tokens);
    expect_error(dup, "appears twice");
}

TEST(SpmGgufLoad, RefusesBadSpecialIdsAndFlags) {
    GgufWriter w = tiny_writer();
    w.set_u32("tokenizer.ggml.bos_token_id", 284);
    expect_error(w, "tokenizer.ggml.bos_token_id = 284 is outside the vocabulary");

    w = tiny_writer();
    w.set_i32("tokenizer.ggml.eos_token_id", -3);
    expect_error(w, "tokenizer.ggml.eos_token_id = -3");

    w = tiny_writer();
    w.set_string("tokenizer.ggml.unknown_token_id", "0");
    expect_error(w, "must be an integer");

    w = tiny_writer();
    w.set_string("tokenizer.ggml.add_bos_token", "yes");
    expect_error(w, "must be a bool");

    w = tiny_writer();
    w.set_f32("tokenizer.ggml.add_space_prefix", 1.0f);
    expect_error(w, "must be a bool");
}

TEST(SpmGgufLoad, DefaultIdsOutsideATinyVocabularyAreDropped) {
    // Two tokens: the default EOS id 2 does not exist, so it is dropped; BOS 1 stays.
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>"});
    auto loaded = load(w);
    ASSERT_TRUE(loaded->tokenizer.is_ok()) << loaded->tokenizer.status().to_string();
    EXPECT_EQ((*loaded->tokenizer)->special().bos, 1);
    EXPECT_EQ((*loaded->tokenizer)->special().eos, -1);

    // One token: the default BOS is gone too, but add_bos defaults to true.
    GgufWriter one;
    one.set_string("tokenizer.ggml.model", "llama");
    one.set_string_array("tokenizer.ggml.tokens", {"<unk>"});
    expect_error(one, "BOS");
}

TEST(SpmGgufLoad, HugeDeclaredTokenCountIsRefused) {
    // Patch the element count of tokenizer.ggml.tokens to 2^40: the reader must refuse it
    // before allocating anything.
    GgufWriter w = tiny_writer();
    std::vector<uint8_t> bytes = w.to_bytes();
    const std::string key = "tokenizer.ggml.tokens";
    auto it = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
    ASSERT_NE(it, bytes.end());
    // key, then value type (u32 = ARRAY), element type (u32), count (u64).
    const size_t count_at = static_cast<size_t>(it - bytes.begin()) + key.size() + 8;
    const uint64_t huge = uint64_t{1} << 40;
    std::memcpy(bytes.data() + count_at, &huge, sizeof(huge));
    Result<std::unique_ptr<GgufFile>> gguf = GgufFile::parse(bytes, "huge.gguf");
    ASSERT_FALSE(gguf.is_ok());
    EXPECT_NE(gguf.status().message().find("huge.gguf"), std::string::npos) << gguf.status().to_string();
}

}  // namespace
}  // namespace pagoda
