// tokenizer.json loading on small hand-written tokenizers: byte-level (Llama 3 shape),
// SentencePiece-style BPE with byte fallback (Llama 2 shape), Metaspace, added tokens,
// post-processor BOS, tokenizer_config.json, and refusal of bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/hf_tokenizer_json.h"

namespace pagoda {
namespace {

using Json = nlohmann::json;
using Ids = std::vector<TokenId>;

const std::string kSp = "\xE2\x96\x81";
const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

Json added(TokenId id, const std::string& content, bool special, bool lstrip = false, bool rstrip = false) {
    return Json{{"id", id},         {"content", content},  {"single_word", false}, {"lstrip", lstrip},
                {"rstrip", rstrip}, {"normalized", false}, {"special", special}};
}

// Byte-level BPE: ids 0..255 the alphabet, 256.. merged pieces, 300.. added tokens.
Json byte_level_tokenizer() {
    Json vocab = Json::object();
    for (int b = 0; b < 256; ++b) vocab[std::string(byte_level::byte_to_text(static_cast<uint8_t>(b)))] = b;
    const std::string g = "\xC4\xA0";
    vocab["he"] = 256;
    vocab["ll"] = 257;
    vocab["hell"] = 258;
    vocab["hello"] = 259;
    vocab[g + "w"] = 260;
    vocab[g + "world"] = 261;
    Json merges = Json::array({Json::array({"h", "e"}), Json::array({"l", "l"}), Json::array({"he", "ll"}),
                               Json::array({"hell", "o"}), Json::array({g, "w"})});
    merges.push_back(g + "w orld");  // the older "left right" form; "orld" is no token, so it never applies
    return Json{
        {"version", "1.0"},
        {"added_tokens", Json::array({added(300, "<|bos|>", true), added(301, "<think>", false),
                                      added(302, "<|im_end|>", true, true, true)})},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           Json::array(
               {Json{{"type", "Split"}, {"pattern", {{"Regex", kLlama3}}}, {"behavior", "Isolated"}, {"invert", false}},
                Json{{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", true},
                     {"use_regex", false}}})}}},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", Json::array({Json{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}},
                                  Json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
          {"pair", Json::array()},
          {"special_tokens", {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {300}}, {"tokens", {"<|bos|>"}}}}}}}},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"byte_fallback", false},
          {"ignore_merges", false},
          {"vocab", vocab},
          {"merges", merges}}},
    };
}

// Llama 2 shape: Prepend + Replace normalizers, no pre-tokenizer, byte fallback.
Json spm_style_tokenizer() {
    Json vocab = Json::object();
    vocab["<unk>"] = 0;
    vocab["<s>"] = 1;
    vocab["</s>"] = 2;
    static const char* kHex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) vocab[std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">"] = 3 + b;
    vocab[kSp] = 259;
    vocab["a"] = 260;
    vocab["b"] = 261;
    vocab[kSp + "a"] = 262;
    vocab["ab"] = 263;
    vocab[kSp + "ab"] = 264;
    return Json{
        {"added_tokens", Json::array({added(0, "<unk>", true), added(1, "<s>", true), added(2, "</s>", true)})},
        {"normalizer",
         {{"type", "Sequence"},
          {"normalizers", Json::array({Json{{"type", "Prepend"}, {"prepend", kSp}},
                                       Json{{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSp}}})}}},
        {"pre_tokenizer", nullptr},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", Json::array({Json{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                  Json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
          {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
        {"decoder",
         {{"type", "Sequence"},
          {"decoders", Json::array({Json{{"type", "Replace"}, {"pattern", {{"String", kSp}}}, {"content", " "}},
                                    Json{{"type", "ByteFallback"}}, Json{{"type", "Fuse"}},
                                    Json{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
        {"model",
         {{"type", "BPE"},
          {"unk_token", "<unk>"},
          {"byte_fallback", true},
          {"fuse_unk", true},
          {"vocab", vocab},
          {"merges", Json::array({kSp + " a", "a b", kSp + "a b"})}}},
    };
}

std::unique_ptr<Tokenizer> parse(const Json& tokenizer, const Json& config = Json()) {
    auto r = parse_hf_tokenizer(tokenizer.dump(), config.is_null() ? std::string() : config.dump(), "test.json");
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::move(r).value() : nullptr;
}

TEST(BpeHfTokenizerJson, ByteLevelTokenizer) {
    auto tok = parse(byte_level_tokenizer());
    ASSERT_NE(tok, nullptr);
    EXPECT_EQ(tok->kind(), "bpe");
    EXPECT_EQ(tok->vocab_size(), 303);
    EXPECT_EQ(tok->special().bos, 300);
    EXPECT_TRUE(tok->special().add_bos);
    EXPECT_EQ(tok->encode("hello world", true, true), (Ids{300, 259, 260, 'o', 'r', 'l', 'd'}));
    EXPECT_EQ(tok->encode("hello", false, true), (Ids{259}));
    // Non-special added tokens always split; special ones only with parse_special.
    EXPECT_EQ(tok->encode("<think>he", false, false), (Ids{301, 256}));
    EXPECT_EQ(tok->encode("<|bos|>", false, true), (Ids{300}));
    EXPECT_GT(tok->encode("<|bos|>", false, false).size(), 1u);
    // lstrip/rstrip take the spaces around <|im_end|>.
    EXPECT_EQ(tok->encode("he <|im_end|> he", false, true), (Ids{256, 302, 256}));
    EXPECT_EQ(tok->token_type(302), TokenType::control);
    EXPECT_EQ(tok->token_type(301), TokenType::user_defined);
    EXPECT_EQ(tok->token_type(280), TokenType::unused);  // an id no one names

    const Ids ids = tok->encode("<think>hello world", true, true);
    EXPECT_EQ(tok->decode(ids, true), "<|bos|><think>hello world");
    EXPECT_EQ(tok->decode(ids, false), "<think>hello world");
    EXPECT_EQ(tok->token_to_piece(260), " w");
}

TEST(BpeHfTokenizerJson, ConfigOverridesSpecials) {
    Json config = {{"add_bos_token", false},
                   {"bos_token", {{"content", "<|bos|>"}}},
                   {"eos_token", "<|im_end|>"},
                   {"clean_up_tokenization_spaces", true}};
    auto tok = parse(byte_level_tokenizer(), config);
    ASSERT_NE(tok, nullptr);
    EXPECT_FALSE(tok->special().add_bos);
    EXPECT_EQ(tok->special().eos, 302);
    EXPECT_TRUE(tok->is_eog(302));
    EXPECT_EQ(tok->encode("hello", true, true), (Ids{259}));
    // Hugging Face's clean-up on decode.
    EXPECT_EQ(tok->decode(tok->encode("he . he 's", false, false)), "he. he's");
}

TEST(BpeHfTokenizerJson, SentencePieceStyleBpe) {
    auto tok = parse(spm_style_tokenizer());
    ASSERT_NE(tok, nullptr);
    // "▁ab▁é": é has no token, so its two bytes fall back to <0xC3> <0xA9>.
    const Ids ids = tok->encode("ab \xC3\xA9", true, true);
    EXPECT_EQ(ids, (Ids{1, 264, 259, 3 + 0xC3, 3 + 0xA9}));
    EXPECT_EQ(tok->decode(ids), "ab \xC3\xA9");
    EXPECT_EQ(tok->decode(ids, true), "<s> ab \xC3\xA9");
    EXPECT_EQ(tok->token_to_piece(264), " ab");
    EXPECT_EQ(tok->token_to_piece(3 + 0xC3), "\xC3");
    EXPECT_EQ(tok->special().unk, 0);
}

TEST(BpeHfTokenizerJson, MetaspacePreTokenizer) {
    Json j = spm_style_tokenizer();
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", kSp}, {"prepend_scheme", "first"}, {"split", false}};
    j["decoder"] = {{"type", "Metaspace"}, {"replacement", kSp}, {"prepend_scheme", "first"}, {"split", false}};
    auto tok = parse(j);
    ASSERT_NE(tok, nullptr);
    EXPECT_EQ(tok->encode("ab ab", false, true), (Ids{264, 264}));
    // Only the first section of the text gets the prefix.
    EXPECT_EQ(tok->encode("ab<s>ab", false, true), (Ids{264, 1, 263}));
    EXPECT_EQ(tok->decode(Ids{264, 264}), "ab ab");
}

void expect_error(const std::string& json, const std::string& needle, const std::string& config = "") {
    auto r = parse_hf_tokenizer(json, config, "bad.json");
    ASSERT_FALSE(r.is_ok()) << "expected an error mentioning '" << needle << "'";
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().message().find("bad.json"), std::string::npos) << r.status().to_string();
}

TEST(BpeHfTokenizerJson, RefusesBadFiles) {
    expect_error("{not json", "not valid JSON");
    expect_error("[1, 2]", "not a JSON object");
    expect_error("{}", "\"model\"");

    Json j = byte_level_tokenizer();
    j["model"]["type"] = "WordPiece";
    expect_error(j.dump(), "supported: BPE");

    j = byte_level_tokenizer();
    j["pre_tokenizer"] = {{"type", "Punctuation"}};
    expect_error(j.dump(), "supported: Split");

    j = byte_level_tokenizer();
    Json deep = {{"type", "ByteLevel"}};
    for (int i = 0; i < 40; ++i) deep = {{"type", "Sequence"}, {"pretokenizers", Json::array({deep})}};
    j["pre_tokenizer"] = deep;
    expect_error(j.dump(), "nests too deeply");

    j = byte_level_tokenizer();
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(a"}}}, {"behavior", "Isolated"}};
    expect_error(j.dump(), "does not compile");

    j = byte_level_tokenizer();
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
    expect_error(j.dump(), "behaviour");

    j = byte_level_tokenizer();
    j["model"]["merges"].push_back("a b c");
    expect_error(j.dump(), "one space");

    j = byte_level_tokenizer();
    j["model"]["vocab"]["zz"] = -5;
    expect_error(j.dump(), "not a usable token id");

    j = byte_level_tokenizer();
    j["model"]["vocab"]["big"] = 1LL << 40;
    expect_error(j.dump(), "not a usable token id");

    j = byte_level_tokenizer();
    j["added_tokens"].push_back(added(256, "<x>", true));
    expect_error(j.dump(), "reuses id 256");

    j = byte_level_tokenizer();
    j["model"]["dropout"] = 0.1;
    expect_error(j.dump(), "dropout");

    j = byte_level_tokenizer();
    j["model"]["continuing_subword_prefix"] = "##";
    expect_error(j.dump(), "continuing_subword_prefix");

    j = byte_level_tokenizer();
    j["decoder"] = {{"type", "Replace"}, {"pattern", {{"Regex", " +"}}}, {"content", " "}};
    expect_error(j.dump(), "Regex pattern is not supported");

    j = byte_level_tokenizer();
    j["model"]["ignore_merges"] = "yes";
    expect_error(j.dump(), "must be a boolean");

    expect_error(byte_level_tokenizer().dump(), "not in the vocabulary", R"({"bos_token": "<nope>"})");
    expect_error(byte_level_tokenizer().dump(), "not a JSON object", "[]");

    Json two = byte_level_tokenizer();
    two["post_processor"]["single"].push_back(Json{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}});
    two["post_processor"]["single"].push_back(Json{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}});
    expect_error(two.dump(), "more than one token after");
}

TEST(BpeHfTokenizerJson, LoadsFromFileWithConfigBeside) {
    const std::string dir = ::testing::TempDir() + "/pagoda_hf_json_test";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/tokenizer.json") << byte_level_tokenizer().dump();
    std::ofstream(dir + "/tokenizer_config.json") << R"({"add_bos_token": false})";
    auto r = load_hf_tokenizer(dir + "/tokenizer.json");
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_FALSE((*r)->special().add_bos);
    auto missing = load_hf_tokenizer(dir + "/nope.json");
    ASSERT_FALSE(missing.is_ok());
    EXPECT_NE(missing.status().message().find("nope.json"), std::string::npos);
}

}  // namespace
}  // namespace pagoda
