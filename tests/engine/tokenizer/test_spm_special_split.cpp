// SpecialTokenSplitter: llama.cpp's order of splitting (longest token first, each token
// over all fragments), strip flags, and the parse_special switch.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/special_token_splitter.h"

namespace pagoda {
namespace {

using Entry = SpecialTokenSplitter::Entry;

// Renders fragments as "[id]" for tokens and the text itself for spans.
std::string render(std::string_view text, const std::vector<TextFragment>& fragments) {
    std::string out;
    for (const auto& f : fragments) {
        if (f.is_token()) {
            out += '[';
            out += std::to_string(f.token);
            out += ']';
        } else {
            EXPECT_GT(f.length, 0u);
            out += '{';
            out += text.substr(f.offset, f.length);
            out += '}';
        }
    }
    return out;
}

TEST(SpmSpecialSplit, SplitsEveryOccurrence) {
    SpecialTokenSplitter s({Entry{7, "<s>", false, false, false}});
    const std::string text = "a<s>b<s><s>c<s>";
    EXPECT_EQ(render(text, s.split(text, true)), "{a}[7]{b}[7][7]{c}[7]");
    EXPECT_EQ(render(text, s.split(text, false)), "{" + text + "}");
    EXPECT_TRUE(s.split("", true).empty());
}

TEST(SpmSpecialSplit, EarlierEntriesWinOverlaps) {
    // Entries come longest first; "bcd" claims its text before "ab" is looked for.
    SpecialTokenSplitter s({Entry{1, "bcd", false, false, false}, Entry{2, "ab", false, false, false}});
    const std::string text = "abcd ab";
    EXPECT_EQ(render(text, s.split(text, true)), "{a}[1]{ }[2]");
}

TEST(SpmSpecialSplit, AlwaysEntriesIgnoreParseSpecial) {
    SpecialTokenSplitter s({Entry{1, "<ctl>", false, false, false}, Entry{2, "<u>", true, false, false}});
    const std::string text = "x<u>y<ctl>z";
    EXPECT_EQ(render(text, s.split(text, false)), "{x}[2]{y<ctl>z}");
    EXPECT_EQ(render(text, s.split(text, true)), "{x}[2]{y}[1]{z}");
}

TEST(SpmSpecialSplit, StripFlagsSwallowWhitespace) {
    SpecialTokenSplitter s({Entry{1, "<m>", false, true, true}});
    const std::string text = "a \t<m>\n b <m>";
    EXPECT_EQ(render(text, s.split(text, true)), "{a}[1]{b}[1]");
    SpecialTokenSplitter only_space({Entry{1, "<m>", false, false, true}});
    const std::string t2 = "  <m>   ";
    EXPECT_EQ(render(t2, only_space.split(t2, true)), "{  }[1]");
}

TEST(SpmSpecialSplit, ManyMatchesInLongText) {
    SpecialTokenSplitter s({Entry{3, "<|x|>", false, false, false}});
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "ab<|x|>";
    const auto fragments = s.split(text, true);
    ASSERT_EQ(fragments.size(), 40000u);
    EXPECT_FALSE(fragments[0].is_token());
    EXPECT_EQ(fragments[1].token, 3);
    EXPECT_EQ(fragments[39998].offset, text.size() - 7);
}

}  // namespace
}  // namespace pagoda
