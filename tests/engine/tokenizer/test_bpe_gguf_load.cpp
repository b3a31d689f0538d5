// load_tokenizer() on in-memory GGUF "gpt2" (byte-level BPE) vocabularies: llama.cpp's
// per-pre-tokenizer behaviour (add_bos, ignore_merges, clean_spaces) and clear errors.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using Ids = std::vector<TokenId>;

// ids 0..255: the byte-level alphabet; then merged pieces and special tokens.
struct TinyBpe {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<std::string> merges;
    TokenId id(const std::string& text) const {
        for (size_t i = 0; i < tokens.size(); ++i) {
            if (tokens[i] == text) return static_cast<TokenId>(i);
        }
        return -1;
    }
};

TinyBpe tiny_bpe(bool with_merges = true) {
    TinyBpe t;
    for (int b = 0; b < 256; ++b) t.tokens.emplace_back(byte_level::byte_to_text(static_cast<uint8_t>(b)));
    const std::string g = "\xC4\xA0";  // Ġ, the byte-level space
    for (const std::string& s : {std::string("he"), std::string("ll"), std::string("hell"), std::string("hello"),
                                 g + "w", std::string("or"), g + "wor", std::string("ld"), g + "world"}) {
        t.tokens.push_back(s);
    }
    if (with_merges) {
        t.merges = {"h e", "l l", "he ll", "hell o", g + " w", "o r", g + "w or", "l d", g + "wor ld"};
    }
    t.types.assign(t.tokens.size(), 1);
    t.tokens.push_back("<|begin_of_text|>");
    t.types.push_back(3);
    t.tokens.push_back("<|eot_id|>");  // marked normal: llama.cpp makes it control by its text
    t.types.push_back(1);
    t.tokens.push_back("<tool>");
    t.types.push_back(4);
    return t;
}

GgufWriter writer(const TinyBpe& t, const std::string& pre) {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    w.set_string_array("tokenizer.ggml.tokens", t.tokens);
    w.set_i32_array("tokenizer.ggml.token_type", t.types);
    w.set_string_array("tokenizer.ggml.merges", t.merges);
    w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(t.id("<|begin_of_text|>")));
    w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(t.id("<|eot_id|>")));
    return w;
}

struct Loaded {
    std::vector<uint8_t> bytes;
    std::unique_ptr<GgufFile> gguf;
    Result<std::unique_ptr<Tokenizer>> tok = Status::error(ErrorCode::internal, "unset");
};

std::unique_ptr<Loaded> load(const GgufWriter& w) {
    auto l = std::make_unique<Loaded>();
    l->bytes = w.to_bytes();
    auto g = GgufFile::parse(l->bytes, "bpe.gguf");
    if (!g) {
        l->tok = g.status();
        return l;
    }
    l->gguf = std::move(g).value();
    l->tok = load_tokenizer(*l->gguf);
    return l;
}

TEST(BpeGgufLoad, LlamaBpeAddsBosAndMerges) {
    const TinyBpe t = tiny_bpe();
    auto l = load(writer(t, "llama-bpe"));
    ASSERT_TRUE(l->tok.is_ok()) << l->tok.status().to_string();
    const Tokenizer& tok = **l->tok;
    EXPECT_EQ(tok.kind(), "bpe");
    EXPECT_TRUE(tok.special().add_bos);
    EXPECT_EQ(tok.encode("hello world", true, false),
              (Ids{t.id("<|begin_of_text|>"), t.id("hello"), t.id("\xC4\xA0world")}));
    EXPECT_EQ(tok.decode(tok.encode("hello world", false, false)), "hello world");
    EXPECT_EQ(tok.token_to_piece(t.id("\xC4\xA0world")), " world");
}

TEST(BpeGgufLoad, Qwen2HasNoBosAndNoCleanup) {
    const TinyBpe t = tiny_bpe();
    auto l = load(writer(t, "qwen2"));
    ASSERT_TRUE(l->tok.is_ok()) << l->tok.status().to_string();
    const Tokenizer& tok = **l->tok;
    EXPECT_FALSE(tok.special().add_bos);
    EXPECT_EQ(tok.encode("hello world", true, false), (Ids{t.id("hello"), t.id("\xC4\xA0world")}));
    EXPECT_EQ(tok.decode(tok.encode("a . b 's", false, false)), "a . b 's");

    auto llama = load(writer(t, "llama-bpe"));
    // llama.cpp's clean_spaces for llama-bpe drops the space before '.' and "'s".
    EXPECT_EQ((*llama->tok)->decode((*llama->tok)->encode("a . b 's", false, false)), "a. b's");
}

TEST(BpeGgufLoad, IgnoreMergesOnlyForLlama3) {
    const TinyBpe t = tiny_bpe(/*with_merges=*/false);
    auto llama = load(writer(t, "llama-bpe"));
    auto qwen = load(writer(t, "qwen2"));
    ASSERT_TRUE(llama->tok.is_ok() && qwen->tok.is_ok());
    EXPECT_EQ((*llama->tok)->encode("hello", false, false), (Ids{t.id("hello")}));
    EXPECT_EQ((*qwen->tok)->encode("hello", false, false).size(), 5u);
}

TEST(BpeGgufLoad, SpecialTokens) {
    const TinyBpe t = tiny_bpe();
    auto l = load(writer(t, "llama-bpe"));
    ASSERT_TRUE(l->tok.is_ok());
    const Tokenizer& tok = **l->tok;
    const TokenId eot = t.id("<|eot_id|>");
    EXPECT_EQ(tok.token_type(eot), TokenType::control);
    EXPECT_EQ(tok.encode("hello<|eot_id|>", false, true), (Ids{t.id("hello"), eot}));
    const Ids literal = tok.encode("hello<|eot_id|>", false, false);
    EXPECT_GT(literal.size(), 2u);
    EXPECT_EQ(tok.decode(literal), "hello<|eot_id|>");
    EXPECT_EQ(tok.decode(Ids{t.id("hello"), eot}), "hello");
    EXPECT_EQ(tok.decode(Ids{t.id("hello"), eot}, true), "hello<|eot_id|>");
    // User-defined tokens split even without parse_special.
    EXPECT_EQ(tok.encode("a<tool>", false, false), (Ids{'a', t.id("<tool>")}));
    EXPECT_TRUE(tok.is_eog(eot));
}

void expect_error(const GgufWriter& w, const std::string& needle) {
    auto l = load(w);
    ASSERT_FALSE(l->tok.is_ok()) << "expected an error mentioning '" << needle << "'";
    EXPECT_NE(l->tok.status().message().find(needle), std::string::npos) << l->tok.status().to_string();
}

TEST(BpeGgufLoad, RefusesBadMetadata) {
    const TinyBpe t = tiny_bpe();
    expect_error(writer(t, "no-such-pre"), "supported: llama-bpe");

    GgufWriter no_merges;
    no_merges.set_string("tokenizer.ggml.model", "gpt2");
    no_merges.set_string("tokenizer.ggml.pre", "qwen2");
    no_merges.set_string_array("tokenizer.ggml.tokens", t.tokens);
    expect_error(no_merges, "tokenizer.ggml.merges");

    GgufWriter w = writer(t, "qwen2");
    w.set_i32_array("tokenizer.ggml.merges", {1, 2});
    expect_error(w, "array of strings");

    w = writer(t, "qwen2");
    w.set_string_array("tokenizer.ggml.merges", {"h e", "nospace"});
    expect_error(w, "merge 1 'nospace'");

    w = writer(t, "qwen2");
    w.set_u32("tokenizer.ggml.eos_token_id", 100000);
    expect_error(w, "eos_token_id");
}

}  // namespace
}  // namespace pagoda
