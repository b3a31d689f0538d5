// BpeModel: merge order (lowest rank first, leftmost on ties), ignore_merges, unknown
// characters (byte fallback, unk, fuse_unk, dropped), and merges that cannot apply.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tokenizer/bpe_model.h"

namespace pagoda {
namespace {

using Ids = std::vector<TokenId>;
using Merges = std::vector<std::pair<std::string, std::string>>;

std::vector<std::pair<std::string, TokenId>> tiny_vocab() {
    return {{"a", 0},     {"b", 1},  {"c", 2},   {"ab", 3},     {"bc", 4},      {"abc", 5},
            {"<unk>", 6}, {"aa", 7}, {"aaa", 8}, {"<0xC3>", 9}, {"<0xA9>", 10}, {"x", 11}};
}

Ids encode(const BpeModel& m, const std::string& piece) {
    Ids out;
    m.encode_piece(piece, out);
    return out;
}

BpeModel model(const Merges& merges, BpeOptions options = {}) {
    auto r = BpeModel::create(tiny_vocab(), merges, options);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return std::move(r).value();
}

TEST(BpeModel, LowestRankMergesFirst) {
    // "ab" before "bc": a b c -> ab c -> abc.
    EXPECT_EQ(encode(model({{"a", "b"}, {"b", "c"}, {"ab", "c"}}), "abc"), (Ids{5}));
    // "bc" before "ab": a b c -> a bc; no (a, bc) merge.
    EXPECT_EQ(encode(model({{"b", "c"}, {"a", "b"}, {"ab", "c"}}), "abc"), (Ids{0, 4}));
    // No merges: one token per character.
    EXPECT_EQ(encode(model({}), "cab"), (Ids{2, 0, 1}));
}

TEST(BpeModel, TiesGoLeftmost) {
    // a a a: both (a, a) pairs have rank 0; the left one merges: aa a (no aa+a merge).
    EXPECT_EQ(encode(model({{"a", "a"}}), "aaa"), (Ids{7, 0}));
    EXPECT_EQ(encode(model({{"a", "a"}, {"aa", "a"}}), "aaa"), (Ids{8}));
    EXPECT_EQ(encode(model({{"a", "a"}}), "aaaa"), (Ids{7, 7}));
}

TEST(BpeModel, IgnoreMergesTakesWholeTokens) {
    BpeOptions o;
    o.ignore_merges = true;
    // Without merges "abc" would be a b c; as a whole token it is 5.
    EXPECT_EQ(encode(model({}, o), "abc"), (Ids{5}));
    EXPECT_EQ(encode(model({}, o), "cab"), (Ids{2, 0, 1}));
}

TEST(BpeModel, UnknownCharacters) {
    // Dropped without unk or byte fallback.
    EXPECT_EQ(encode(model({}), "a\xC3\xA9z"), (Ids{0}));
    BpeOptions unk;
    unk.unk = 6;
    EXPECT_EQ(encode(model({}, unk), "azzb"), (Ids{0, 6, 6, 1}));
    unk.fuse_unk = true;
    EXPECT_EQ(encode(model({}, unk), "azzb"), (Ids{0, 6, 1}));
    BpeOptions bytes = unk;
    bytes.byte_fallback = true;
    // é has byte tokens; z does not, so it falls to unk.
    EXPECT_EQ(encode(model({}, bytes), "\xC3\xA9z"), (Ids{9, 10, 6}));
    // An invalid byte is a character of its own.
    EXPECT_EQ(encode(model({}, unk), "a\xFF"), (Ids{0, 6}));
}

TEST(BpeModel, MergesThatCannotApplyAreSkipped) {
    // "q" is not a token; ("b", "x") has no "bx" token.
    BpeModel m = model({{"q", "a"}, {"b", "x"}, {"a", "b"}});
    EXPECT_EQ(m.merge_count(), 1u);
    EXPECT_EQ(encode(m, "abx"), (Ids{3, 11}));
}

TEST(BpeModel, RefusesEmptyOrNegative) {
    EXPECT_FALSE(BpeModel::create({}, {}, {}).is_ok());
    EXPECT_FALSE(BpeModel::create({{"a", -1}}, {}, {}).is_ok());
}

TEST(BpeModel, LongPieceIsLinearish) {
    BpeModel m = model({{"a", "a"}, {"aa", "a"}});
    const Ids ids = encode(m, std::string(300000, 'a'));
    // Every rank-0 (a, a) pair merges before any (aa, a), leaving 150000 "aa" tokens.
    ASSERT_EQ(ids.size(), 150000u);
    EXPECT_EQ(ids.front(), 7);
    EXPECT_EQ(ids.back(), 7);
}

}  // namespace
}  // namespace pagoda
