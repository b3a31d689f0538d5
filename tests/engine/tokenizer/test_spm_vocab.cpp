// Vocab::create: indexing, byte tokens, special-token order, and refusal of bad data.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "spm_test_vocab.h"
#include "tokenizer/vocab.h"

namespace pagoda {
namespace {

using test::kSp;
using test::tiny_spm_vocab_data;

TEST(SpmVocab, IndexesTokensAndBytes) {
    Result<Vocab> v = Vocab::create(tiny_spm_vocab_data());
    ASSERT_TRUE(v.is_ok()) << v.status().to_string();
    EXPECT_EQ(v->size(), 284);
    EXPECT_EQ(v->find(kSp + "hello"), 273);
    EXPECT_EQ(v->find("nope"), -1);
    EXPECT_EQ(v->byte_token(0x0A), 3 + 0x0A);
    EXPECT_EQ(v->byte_value(3 + 0xFF), 0xFF);
    EXPECT_EQ(v->byte_value(273), -1);
    EXPECT_EQ(v->max_token_length(), (kSp + "hello").size());  // the longest piece
    EXPECT_FLOAT_EQ(v->score(264), -1.5f);
}

TEST(SpmVocab, ByteFallsBackToSingleCharacterToken) {
    VocabData d;
    d.tokens = {"<unk>", "a", "\n"};
    Result<Vocab> v = Vocab::create(d);
    ASSERT_TRUE(v.is_ok());
    EXPECT_EQ(v->byte_token('a'), 1);
    EXPECT_EQ(v->byte_token('\n'), 2);
    EXPECT_EQ(v->byte_token('b'), -1);
    EXPECT_EQ(v->type(1), TokenType::normal);  // no types given: all normal
}

TEST(SpmVocab, SpecialTokensLongestFirst) {
    Result<Vocab> v = Vocab::create(tiny_spm_vocab_data());
    ASSERT_TRUE(v.is_ok());
    const auto& order = v->special_tokens_by_length();
    // <tool> (6), <unk> (5), <ctl> (5), </s> (4), <s> (3); ties keep id order.
    ASSERT_EQ(order.size(), 5u);
    EXPECT_EQ(order[0], 270);
    EXPECT_EQ(order[1], 0);
    EXPECT_EQ(order[2], 271);
    EXPECT_EQ(order[3], 2);
    EXPECT_EQ(order[4], 1);
}

TEST(SpmVocab, EmptyTokenTextIsRenamed) {
    VocabData d;
    d.tokens = {"<unk>", "", "b"};
    Result<Vocab> v = Vocab::create(d);
    ASSERT_TRUE(v.is_ok());
    EXPECT_EQ(v->text(1), "[EMPTY_1]");
}

void expect_refused(const VocabData& d, const std::string& needle) {
    Result<Vocab> v = Vocab::create(d);
    ASSERT_FALSE(v.is_ok()) << "expected an error mentioning '" << needle << "'";
    EXPECT_EQ(v.status().code(), ErrorCode::invalid_format);
    EXPECT_NE(v.status().message().find(needle), std::string::npos) << v.status().message();
}

TEST(SpmVocab, RefusesBadData) {
    VocabData empty;
    expect_refused(empty, "empty");

    VocabData d = tiny_spm_vocab_data();
    d.scores.pop_back();
    expect_refused(d, "scores");

    d = tiny_spm_vocab_data();
    d.types.push_back(TokenType::normal);
    expect_refused(d, "token types");

    d = tiny_spm_vocab_data();
    d.types[5] = static_cast<TokenType>(42);
    expect_refused(d, "unknown token type 42");

    d = tiny_spm_vocab_data();
    d.scores[7] = std::numeric_limits<float>::quiet_NaN();
    expect_refused(d, "NaN");

    d = tiny_spm_vocab_data();
    d.tokens[260] = d.tokens[261];  // "b" twice
    expect_refused(d, "appears twice");

    d = tiny_spm_vocab_data();
    d.special.bos = 284;
    expect_refused(d, "bos");

    d = tiny_spm_vocab_data();
    d.special.eos = -7;
    expect_refused(d, "eos");

    d = tiny_spm_vocab_data();
    d.special.unk = 1 << 30;
    expect_refused(d, "unk");

    d = tiny_spm_vocab_data();
    d.special.bos = -1;
    expect_refused(d, "BOS");

    d = tiny_spm_vocab_data();
    d.special.add_eos = true;
    d.special.eos = -1;
    expect_refused(d, "EOS");
}

}  // namespace
}  // namespace pagoda
