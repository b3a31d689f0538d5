// SentencePiece encoding/decoding on a hand-made vocabulary whose merge order is known.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spm_test_vocab.h"
#include "tokenizer/spm_tokenizer.h"

namespace pagoda {
namespace {

using test::kSp;
using test::tiny_spm_vocab;
using test::tiny_spm_vocab_data;
using Ids = std::vector<TokenId>;

TokenId byte_id(uint8_t b) { return 3 + b; }

TEST(SpmTokenizer, MergesHighestScoreFirst) {
    SpmTokenizer tok(tiny_spm_vocab());
    // "▁ab": "ab" (-3) merges before "▁a" (-4), then "▁ab" forms.
    EXPECT_EQ(tok.encode("ab", false, false), (Ids{268}));
    // "bc" (-1.5) beats "ab" (-3): a + bc, then "▁a".
    EXPECT_EQ(tok.encode("abc", false, false), (Ids{265, 264}));
    // Chain of merges: he, ll, llo, hello, ▁hello.
    EXPECT_EQ(tok.encode("hello", false, false), (Ids{273}));
}

TEST(SpmTokenizer, EqualScoresMergeLeftmostFirst) {
    SpmTokenizer tok(tiny_spm_vocab());
    // "xx" at (1,2) and (2,3) tie: the left pair wins, leaving a lone "x" at the end.
    EXPECT_EQ(tok.encode("xxx", false, false), (Ids{259, 283, 282}));
}

TEST(SpmTokenizer, SpacesBecomeMarksAndPrefixIsAdded) {
    SpmTokenizer tok(tiny_spm_vocab());
    EXPECT_EQ(tok.encode("ab ab", false, false), (Ids{268, 268}));
    EXPECT_EQ(tok.encode(" ab", false, false), (Ids{259, 268}));

    VocabData d = tiny_spm_vocab_data();
    d.add_space_prefix = false;
    SpmTokenizer no_prefix(Vocab::create(d).value());
    EXPECT_EQ(no_prefix.encode("ab", false, false), (Ids{263}));
    EXPECT_EQ(no_prefix.encode(" ab", false, false), (Ids{268}));
}

TEST(SpmTokenizer, UnknownCharactersFallBackToBytes) {
    SpmTokenizer tok(tiny_spm_vocab());
    EXPECT_EQ(tok.encode("z", false, false), (Ids{259, byte_id('z')}));
    // "ü" has no token: both UTF-8 bytes; "é" has one.
    EXPECT_EQ(tok.encode("\xC3\xBC", false, false), (Ids{259, byte_id(0xC3), byte_id(0xBC)}));
    EXPECT_EQ(tok.encode("\xC3\xA9", false, false), (Ids{259, 269}));
    // Invalid UTF-8 (a lone continuation byte, a truncated sequence) is still covered.
    EXPECT_EQ(tok.encode("\x80", false, false), (Ids{259, byte_id(0x80)}));
    EXPECT_EQ(tok.encode("a\xE2", false, false), (Ids{265, byte_id(0xE2)}));
}

TEST(SpmTokenizer, WithoutByteTokensFallsBackToUnk) {
    VocabData d;
    d.tokens = {"<unk>", "<s>", "</s>", kSp, "a"};
    d.types = {TokenType::unknown, TokenType::control, TokenType::control, TokenType::normal, TokenType::normal};
    d.special.bos = 1;
    d.special.eos = 2;
    d.special.unk = 0;
    d.special.pad = -1;
    d.special.add_bos = true;
    d.special.add_eos = false;
    SpmTokenizer tok(Vocab::create(d).value());
    EXPECT_EQ(tok.encode("az", false, false), (Ids{3, 4, 0}));
}

TEST(SpmTokenizer, AddsBosAndEosWhenAsked) {
    SpmTokenizer tok(tiny_spm_vocab());
    EXPECT_EQ(tok.encode("ab", true, false), (Ids{1, 268}));
    EXPECT_EQ(tok.encode("", true, false), (Ids{1}));
    EXPECT_EQ(tok.encode("", false, false), (Ids{}));

    VocabData d = tiny_spm_vocab_data();
    d.special.add_bos = false;
    d.special.add_eos = true;
    SpmTokenizer eos_only(Vocab::create(d).value());
    EXPECT_EQ(eos_only.encode("ab", true, false), (Ids{268, 2}));
    EXPECT_EQ(eos_only.encode("ab", false, false), (Ids{268}));
}

TEST(SpmTokenizer, ControlTokensOnlyParsedWhenAsked) {
    SpmTokenizer tok(tiny_spm_vocab());
    // Parsed: the text after a special token gets a space prefix again.
    EXPECT_EQ(tok.encode("<ctl>ab", false, true), (Ids{271, 268}));
    EXPECT_EQ(tok.encode("ab<ctl>", false, true), (Ids{268, 271}));
    EXPECT_EQ(tok.encode("<s>ab", true, true), (Ids{1, 1, 268}));
    // Not parsed: spelled out as plain text.
    EXPECT_EQ(tok.encode("<ctl>ab", false, false), (Ids{259, byte_id('<'), 262, byte_id('t'), 281, byte_id('>'), 263}));
}

TEST(SpmTokenizer, UserDefinedTokensAlwaysSplit) {
    SpmTokenizer tok(tiny_spm_vocab());
    EXPECT_EQ(tok.encode("a<tool>b", false, false), (Ids{265, 270, 259, 261}));
    EXPECT_EQ(tok.encode("a<tool>b", false, true), (Ids{265, 270, 259, 261}));
}

TEST(SpmTokenizer, TokenToPiece) {
    SpmTokenizer tok(tiny_spm_vocab());
    EXPECT_EQ(tok.token_to_piece(273), " hello");
    EXPECT_EQ(tok.token_to_piece(259), " ");
    EXPECT_EQ(tok.token_to_piece(byte_id('z')), "z");
    EXPECT_EQ(tok.token_to_piece(byte_id(0xC3)), "\xC3");
    EXPECT_EQ(tok.token_to_piece(1), "");
    EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
    EXPECT_EQ(tok.token_to_piece(0), "");
    EXPECT_EQ(tok.token_to_piece(0, true), "<unk>");
    EXPECT_EQ(tok.token_to_piece(270), "<tool>");
    EXPECT_EQ(tok.token_to_piece(-1), "");
    EXPECT_EQ(tok.token_to_piece(100000), "");
    EXPECT_EQ(tok.token_type(271), TokenType::control);
    EXPECT_EQ(tok.token_type(-5), TokenType::undefined);
}

TEST(SpmTokenizer, DecodeRemovesTheAddedLeadingSpace) {
    SpmTokenizer tok(tiny_spm_vocab());
    EXPECT_EQ(tok.decode(Ids{273}), "hello");
    EXPECT_EQ(tok.decode(Ids{273, 268}), "hello ab");
    EXPECT_EQ(tok.decode(Ids{259, 268}), " ab");
    // As llama_detokenize(remove_special = false): a leading BOS keeps the next space.
    EXPECT_EQ(tok.decode(Ids{1, 273}), " hello");
    EXPECT_EQ(tok.decode(Ids{1, 273}, true), "<s> hello");
    // Bytes of one character split over tokens join back.
    EXPECT_EQ(tok.decode(Ids{259, byte_id(0xC3), byte_id(0xBC)}), "\xC3\xBC");
}

TEST(SpmTokenizer, RoundTrips) {
    SpmTokenizer tok(tiny_spm_vocab());
    for (const std::string s : {"hello ab", "abc  xxx", "z\xC3\xBC\xC3\xA9 q", "  lead", "trail  ", "a\tb\nc"}) {
        EXPECT_EQ(tok.decode(tok.encode(s, false, false)), s) << s;
    }
}

TEST(SpmTokenizer, LongRunWithoutSpacesStaysLinear) {
    SpmTokenizer tok(tiny_spm_vocab());
    // "aa" merges pairwise left to right and each new pair of pairs becomes "aaaa" (higher
    // score); no token is longer, so the 1 MB run becomes 250000 "aaaa" tokens.
    const std::string text(1000000, 'a');
    const Ids ids = tok.encode(text, false, false);
    ASSERT_EQ(ids.size(), 250001u);
    EXPECT_EQ(ids[0], 259);
    for (size_t i = 1; i < ids.size(); ++i) ASSERT_EQ(ids[i], 267) << i;
    EXPECT_EQ(tok.decode(ids), text);
}

}  // namespace
}  // namespace pagoda
