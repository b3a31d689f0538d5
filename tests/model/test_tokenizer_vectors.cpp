// Real vocabularies from ../shared: llama.cpp's own SentencePiece test vectors for the
// Llama 2 vocabulary, and the TinyStories model's tokenizer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "model/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using Ids = std::vector<TokenId>;

const std::string kSharedDir = PAGODA_SHARED_DIR;
const std::string kSpmVocab = kSharedDir + "/tokenizer-tests/ggml-vocab-llama-spm.gguf";
const std::string kStories = kSharedDir + "/models/stories260K.gguf";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Inputs are separated by "\n__ggml_vocab_test__\n" (the file ends with one, leaving a
// last, empty input); outputs are one line of space-separated ids per input.
std::vector<std::string> read_inputs(const std::string& path) {
    const std::string text = read_file(path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t pos; (pos = text.find(sep, start)) != std::string::npos; start = pos + sep.size()) {
        out.push_back(text.substr(start, pos - start));
    }
    out.push_back(text.substr(start));
    return out;
}

std::vector<Ids> read_outputs(const std::string& path) {
    std::vector<Ids> out;
    std::istringstream lines(read_file(path));
    for (std::string line; std::getline(lines, line);) {
        Ids ids;
        std::istringstream words(line);
        for (TokenId id; words >> id;) ids.push_back(id);
        out.push_back(ids);
    }
    // A final newline ends the last line; an empty last input still has its (empty) line.
    return out;
}

struct LoadedTokenizer {
    std::unique_ptr<GgufFile> gguf;
    std::unique_ptr<Tokenizer> tokenizer;
};

LoadedTokenizer load(const std::string& path) {
    LoadedTokenizer out;
    Result<std::unique_ptr<GgufFile>> gguf = GgufFile::open(path);
    EXPECT_TRUE(gguf.is_ok()) << gguf.status().to_string();
    if (!gguf) return out;
    out.gguf = std::move(gguf).value();
    Result<std::unique_ptr<Tokenizer>> tok = load_tokenizer(*out.gguf);
    EXPECT_TRUE(tok.is_ok()) << tok.status().to_string();
    if (tok) out.tokenizer = std::move(tok).value();
    return out;
}

TEST(TokenizerVectors, LlamaSpmMatchesLlamaCpp) {
    if (!std::filesystem::exists(kSpmVocab)) GTEST_SKIP() << "needs " << kSpmVocab;
    LoadedTokenizer t = load(kSpmVocab);
    ASSERT_NE(t.tokenizer, nullptr);
    EXPECT_EQ(t.tokenizer->kind(), "spm");
    EXPECT_EQ(t.tokenizer->vocab_size(), 32000);
    EXPECT_EQ(t.tokenizer->special().bos, 1);
    EXPECT_EQ(t.tokenizer->special().eos, 2);
    EXPECT_TRUE(t.tokenizer->special().add_bos);

    const std::vector<std::string> inputs = read_inputs(kSpmVocab + ".inp");
    std::vector<Ids> expected = read_outputs(kSpmVocab + ".out");
    // The empty last input's line is the empty string after the final newline.
    if (expected.size() + 1 == inputs.size() && inputs.back().empty()) expected.emplace_back();
    ASSERT_EQ(inputs.size(), expected.size());
    ASSERT_EQ(inputs.size(), 47u);

    size_t identical = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Ids got = t.tokenizer->encode(inputs[i], false, false);
        EXPECT_EQ(got, expected[i]) << "input " << i << ": '" << inputs[i] << "'";
        if (got == expected[i]) ++identical;
    }
    EXPECT_EQ(identical, inputs.size());
}

TEST(TokenizerVectors, LlamaSpmRoundTrips) {
    if (!std::filesystem::exists(kSpmVocab)) GTEST_SKIP() << "needs " << kSpmVocab;
    LoadedTokenizer t = load(kSpmVocab);
    ASSERT_NE(t.tokenizer, nullptr);
    // With byte fallback every input comes back exactly.
    for (const std::string& input : read_inputs(kSpmVocab + ".inp")) {
        const Ids ids = t.tokenizer->encode(input, false, false);
        EXPECT_EQ(t.tokenizer->decode(ids), input);
    }
}

TEST(TokenizerVectors, LlamaSpmSpecialTokens) {
    if (!std::filesystem::exists(kSpmVocab)) GTEST_SKIP() << "needs " << kSpmVocab;
    LoadedTokenizer t = load(kSpmVocab);
    ASSERT_NE(t.tokenizer, nullptr);
    const Tokenizer& tok = *t.tokenizer;
    EXPECT_EQ(tok.encode("Hello world", true, false), (Ids{1, 15043, 3186}));
    // Parsed, "<s>" is BOS and the text after it gets its own space prefix.
    EXPECT_EQ(tok.encode("<s>Hello world</s>", false, true), (Ids{1, 15043, 3186, 2}));
    const Ids literal = tok.encode("<s>Hello", false, false);
    EXPECT_NE(literal.front(), 1);
    EXPECT_EQ(tok.decode(literal), "<s>Hello");
    EXPECT_EQ(tok.token_to_piece(1), "");
    EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
    EXPECT_EQ(tok.token_to_piece(13), "\n");  // <0x0A>
    EXPECT_EQ(tok.token_type(13), TokenType::byte);
    EXPECT_EQ(tok.token_type(0), TokenType::unknown);
}

TEST(TokenizerVectors, StoriesOnceUponATime) {
    if (!std::filesystem::exists(kStories)) GTEST_SKIP() << "needs " << kStories;
    LoadedTokenizer t = load(kStories);
    ASSERT_NE(t.tokenizer, nullptr);
    EXPECT_EQ(t.tokenizer->vocab_size(), 512);
    EXPECT_EQ(t.tokenizer->encode("Once upon a time", false, false), (Ids{403, 407, 261, 378}));
    EXPECT_EQ(t.tokenizer->encode("Once upon a time", true, false), (Ids{1, 403, 407, 261, 378}));
    EXPECT_EQ(t.tokenizer->decode(Ids{403, 407, 261, 378}), "Once upon a time");
}

}  // namespace
}  // namespace pagoda
