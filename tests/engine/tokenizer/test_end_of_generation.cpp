// Chat models end their turn with a token of their own (<|eot_id|>, <|im_end|>); generation
// must stop there even though the vocabulary's EOS is another token.
#include <gtest/gtest.h>

#include "tokenizer/vocab.h"

namespace pagoda {
namespace {

VocabData llama3_like() {
    VocabData d;
    d.model = "gpt2";
    d.tokens = {"a", "b", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|im_end|>"};
    d.types = {TokenType::normal, TokenType::normal, TokenType::control,
               TokenType::control, TokenType::control, TokenType::normal};
    d.special.bos = 2;
    d.special.eos = 3;
    return d;
}

TEST(EndOfGeneration, EosAndControlEndOfTurnTokensEndGeneration) {
    auto vocab = Vocab::create(llama3_like());
    ASSERT_TRUE(vocab.is_ok()) << vocab.status().to_string();
    const std::vector<TokenId>& eog = vocab->special().eog;
    EXPECT_NE(std::find(eog.begin(), eog.end(), 3), eog.end());  // EOS
    EXPECT_NE(std::find(eog.begin(), eog.end(), 4), eog.end());  // <|eot_id|>, a control token
    // The same text as a normal token is plain text, not an end of turn.
    EXPECT_EQ(std::find(eog.begin(), eog.end(), 5), eog.end());
    EXPECT_EQ(std::find(eog.begin(), eog.end(), 0), eog.end());
}

TEST(EndOfGeneration, TheTokensLlamaCppEndsOnIncludingFillInTheMiddlePadding) {
    VocabData d;
    d.model = "gpt2";
    d.tokens = {"a", "<|endoftext|>", "</s>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<|fim_prefix|>"};
    d.types.assign(d.tokens.size(), TokenType::control);
    d.types[0] = TokenType::normal;
    d.special.eos = 1;
    auto vocab = Vocab::create(d);
    ASSERT_TRUE(vocab.is_ok()) << vocab.status().to_string();
    const std::vector<TokenId>& eog = vocab->special().eog;
    for (TokenId t : {1, 2, 3, 4, 5}) EXPECT_NE(std::find(eog.begin(), eog.end(), t), eog.end()) << d.tokens[t];
    EXPECT_EQ(std::find(eog.begin(), eog.end(), 6), eog.end()) << "a FIM prefix marker does not end a generation";
    EXPECT_EQ(std::find(eog.begin(), eog.end(), 0), eog.end());
}

}  // namespace
}  // namespace pagoda
