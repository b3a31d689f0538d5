// Pre-tokenizers: the Oniguruma -> PCRE2 rewrite, the Llama 3 / Qwen 2 / GPT-2 splits
// (expected pieces taken from @huggingface/tokenizers), split behaviours, invalid UTF-8,
// byte-level and Metaspace steps, and llama.cpp's tokenizer.ggml.pre table.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"

namespace pagoda {
namespace {

using Pieces = std::vector<std::string>;

const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

Pieces run(const PreTokenizer& p, const std::string& text, bool first = true) {
    Pieces pieces{text};
    p.pre_tokenize(pieces, first);
    return pieces;
}

std::unique_ptr<PreTokenizer> split(const std::string& pattern, SplitBehavior b = SplitBehavior::isolated,
                                    bool invert = false) {
    auto r = make_regex_split(pattern, b, invert);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::move(r).value() : nullptr;
}

TEST(BpePretokenizer, RewritesOnigurumaForPcre2) {
    EXPECT_EQ(rewrite_pattern_for_pcre2("\\s+(?!\\S)"), "\\p{White_Space}+(?!\\P{White_Space})");
    EXPECT_EQ(rewrite_pattern_for_pcre2("[^\\s\\p{L}]"), "[^\\p{White_Space}\\p{L}]");
    EXPECT_EQ(rewrite_pattern_for_pcre2("(?i:'s|'ll)x"), "(?:'[sS]|'[lL][lL])x");
    EXPECT_EQ(rewrite_pattern_for_pcre2("(?i:[a-c]d)"), "(?:[a-cA-C][dD])");
    EXPECT_EQ(rewrite_pattern_for_pcre2("\\h\\d"), "[0-9A-Fa-f]\\p{Nd}");
    EXPECT_EQ(rewrite_pattern_for_pcre2("\\p{N}{1,3}"), "\\p{N}{1,3}");
    EXPECT_EQ(rewrite_pattern_for_pcre2("[]a]"), "[\\]a]");
}

TEST(BpePretokenizer, Llama3SplitMatchesHuggingFace) {
    auto p = split(kLlama3);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(run(*p, "Hello world's  123456 !!\n\n  x"),
              (Pieces{"Hello", " world", "'s", " ", " ", "123", "456", " !!\n\n", " ", " x"}));
    EXPECT_EQ(run(*p, "I'M don'T\tgo\r\n\r\nnow?  "),
              (Pieces{"I", "'M", " don", "'T", "\tgo", "\r\n\r\n", "now", "?", "  "}));
    // NBSP and U+3000 are White_Space: they do not start a letter run.
    EXPECT_EQ(run(*p, "ab\u00a0cd\u3000 ef"), (Pieces{"ab", "\u00a0cd", "\u3000", " ef"}));
}

TEST(BpePretokenizer, WhiteSpaceIsUnicodeWhiteSpace) {
    // U+0085 is White_Space (PCRE2's own \s agrees) but U+180E and U+FEFF are not (PCRE2's
    // \s would take U+180E; JavaScript's \s would take U+FEFF).
    auto p = split("\\s+");
    EXPECT_EQ(run(*p, "a\u0085b"), (Pieces{"a", "\u0085", "b"}));
    EXPECT_EQ(run(*p, "a\u180eb"), (Pieces{"a\u180eb"}));
    EXPECT_EQ(run(*p, "a\ufeffb"), (Pieces{"a\ufeffb"}));
}

TEST(BpePretokenizer, SplitBehaviours) {
    auto pieces = [](SplitBehavior b, bool invert = false) {
        auto r = make_literal_split("-", b, invert);
        EXPECT_TRUE(r.is_ok());
        return run(**r, "the-final--countdown");
    };
    EXPECT_EQ(pieces(SplitBehavior::removed), (Pieces{"the", "final", "countdown"}));
    EXPECT_EQ(pieces(SplitBehavior::isolated), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
    EXPECT_EQ(pieces(SplitBehavior::merged_with_previous), (Pieces{"the-", "final-", "-", "countdown"}));
    EXPECT_EQ(pieces(SplitBehavior::merged_with_next), (Pieces{"the", "-final", "-", "-countdown"}));
    EXPECT_EQ(pieces(SplitBehavior::contiguous), (Pieces{"the", "-", "final", "--", "countdown"}));
    EXPECT_EQ(pieces(SplitBehavior::removed, true), (Pieces{"-", "-", "-"}));
    EXPECT_FALSE(make_literal_split("", SplitBehavior::isolated).is_ok());
}

TEST(BpePretokenizer, InvalidUtf8BytesStandAlone) {
    auto p = split(kLlama3);
    EXPECT_EQ(run(*p,
                  "ab\xFF"
                  "cd \xC3"),
              (Pieces{"ab", "\xFF", "cd", " ", "\xC3"}));
    EXPECT_EQ(run(*p, "\x80\x80"), (Pieces{"\x80\x80"}));
}

TEST(BpePretokenizer, BadRegexIsAnError) {
    auto r = make_regex_split("(unclosed", SplitBehavior::isolated);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("does not compile"), std::string::npos);
}

TEST(BpePretokenizer, LongRunsFinish) {
    auto p = split(kLlama3);
    const std::string spaces(1 << 20, ' ');
    EXPECT_EQ(run(*p, spaces).size(), 1u);
    const std::string mixed = std::string(1 << 19, ' ') + "x" + std::string(1 << 19, '\n');
    const Pieces pieces = run(*p, mixed);
    ASSERT_EQ(pieces.size(), 3u);
    EXPECT_EQ(pieces[1], " x");
}

TEST(BpePretokenizer, ByteLevelAlphabet) {
    EXPECT_EQ(byte_level::byte_to_text(' '), "\xC4\xA0");   // Ġ
    EXPECT_EQ(byte_level::byte_to_text('\n'), "\xC4\x8A");  // Ċ
    EXPECT_EQ(byte_level::byte_to_text('a'), "a");
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    EXPECT_EQ(byte_level::decode(byte_level::encode(all)), all);
    EXPECT_EQ(byte_level::code_point_to_byte(0x120), ' ');
    EXPECT_EQ(byte_level::code_point_to_byte(0x4E00), -1);
    // A text with a character outside the alphabet is not byte-level: kept as is.
    EXPECT_EQ(byte_level::decode("<\xEF\xBD\x9C"
                                 "x>"),
              "<\xEF\xBD\x9C"
              "x>");

    auto bl = make_byte_level(true, true);
    ASSERT_TRUE(bl.is_ok());
    EXPECT_EQ(run(**bl, "Hi there"), (Pieces{"\xC4\xA0Hi", "\xC4\xA0there"}));
}

TEST(BpePretokenizer, Metaspace) {
    const std::string sp = "\xE2\x96\x81";
    auto always = make_metaspace(sp, PrependScheme::always, true);
    EXPECT_EQ(run(*always, "Hello  world"), (Pieces{sp + "Hello", sp, sp + "world"}));
    auto first = make_metaspace(sp, PrependScheme::first, false);
    EXPECT_EQ(run(*first, "a b", true), (Pieces{sp + "a" + sp + "b"}));
    EXPECT_EQ(run(*first, "a b", false), (Pieces{"a" + sp + "b"}));
    auto never = make_metaspace(sp, PrependScheme::never, true);
    EXPECT_EQ(run(*never, "a b"), (Pieces{"a", sp + "b"}));
}

TEST(BpePretokenizer, GgufPreTypes) {
    for (const char* name :
         {"llama-bpe", "llama3", "qwen2", "gpt2", "gpt-2", "deepseek-llm", "deepseek-coder", "default", ""}) {
        const GgufPreType* t = find_gguf_pre_type(name);
        ASSERT_NE(t, nullptr) << name;
        auto p = make_gguf_pre_tokenizer(*t);
        ASSERT_TRUE(p.is_ok()) << name << ": " << p.status().to_string();
        // Every piece is byte-level text; together they spell the input.
        const std::string text = "Hello, 世界! 12345\n\n  x's";
        std::string joined;
        for (const std::string& piece : run(**p, text)) joined += byte_level::decode(piece);
        EXPECT_EQ(joined, text) << name;
    }
    EXPECT_TRUE(find_gguf_pre_type("llama-bpe")->ignore_merges);
    EXPECT_FALSE(find_gguf_pre_type("qwen2")->clean_spaces);
    EXPECT_EQ(find_gguf_pre_type("nope"), nullptr);
    EXPECT_NE(supported_gguf_pre_types().find("deepseek-coder"), std::string::npos);

    auto qwen = make_gguf_pre_tokenizer(*find_gguf_pre_type("qwen2"));
    EXPECT_EQ(run(**qwen, "x 1234"), (Pieces{"x", "\xC4\xA0", "1", "2", "3", "4"}));
    auto coder = make_gguf_pre_tokenizer(*find_gguf_pre_type("deepseek-coder"));
    EXPECT_EQ(run(**coder, "ab\n\xE4\xB8\xAD"), (Pieces{"ab", "\xC4\x8A", byte_level::encode("\xE4\xB8\xAD")}));
    // As llama.cpp's std::wregex path: U+3000 is masked as whitespace, so the U+0800-U+4E00
    // range does not take it and the run stays with the space before it.
    EXPECT_EQ(run(**coder, " \u3000\u3000"), (Pieces{byte_level::encode(" \u3000\u3000")}));
}

TEST(BpePretokenizer, DigitsAndSequence) {
    auto individual = make_digits(true);
    ASSERT_TRUE(individual.is_ok());
    EXPECT_EQ(run(**individual, "a12b"), (Pieces{"a", "1", "2", "b"}));
    auto runs = make_digits(false);
    EXPECT_EQ(run(**runs, "a12b3"), (Pieces{"a", "12", "b", "3"}));
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.push_back(split("\\s+", SplitBehavior::removed));
    steps.push_back(std::move(individual).value());
    auto seq = make_sequence(std::move(steps));
    EXPECT_EQ(run(*seq, "ab 12"), (Pieces{"ab", "1", "2"}));
}

}  // namespace
}  // namespace pagoda
