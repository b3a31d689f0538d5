// Incremental text with stop strings and UTF-8 split across tokens.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sample/text_stream.h"

namespace pagoda {
namespace {

// Feeds pieces; returns what was emitted per piece, and whether it stopped.
std::vector<std::string> feed(TextStream& ts, const std::vector<std::string>& pieces, bool& stopped) {
    std::vector<std::string> out;
    stopped = false;
    for (const std::string& p : pieces) {
        out.push_back(ts.push_text(p, stopped));
        if (stopped) break;
    }
    return out;
}

TEST(TextStream, StopStringSplitAcrossTokensIsCaughtAndNeverEmitted) {
    TextStream ts(nullptr, {"o wo"});
    bool stopped = false;
    const auto out = feed(ts, {"Hel", "lo", " w", "orld"}, stopped);
    EXPECT_TRUE(stopped);
    // "lo": "o" could start the stop string, so only "l" goes out; " w" extends the match.
    EXPECT_EQ(out, (std::vector<std::string>{"Hel", "l", "", ""}));
    EXPECT_EQ(ts.flush(), "") << "the stop string and what follows are dropped";
    bool again = false;
    EXPECT_EQ(ts.push_text("more", again), "");
    EXPECT_TRUE(again);
}

TEST(TextStream, HeldBackTextIsReleasedWhenTheMatchFails) {
    TextStream ts(nullptr, {"STOP"});
    bool stopped = false;
    EXPECT_EQ(ts.push_text("abST", stopped), "ab");
    EXPECT_EQ(ts.push_text("O", stopped), "");
    EXPECT_EQ(ts.push_text("x", stopped), "STOx");
    EXPECT_FALSE(stopped);
    EXPECT_EQ(ts.push_text("S", stopped), "");
    EXPECT_EQ(ts.flush(), "S") << "at the end, held text is final";
}

TEST(TextStream, EarliestStopWinsAndStopsCanStartAnywhere) {
    TextStream ts(nullptr, {"cd", "b"});
    bool stopped = false;
    EXPECT_EQ(ts.push_text("abcd", stopped), "a");
    EXPECT_TRUE(stopped);
    TextStream first(nullptr, {"x"});
    EXPECT_EQ(first.push_text("x", stopped), "");
    EXPECT_TRUE(stopped);
    TextStream overlap(nullptr, {"aab"});
    EXPECT_EQ(overlap.push_text("aa", stopped), "");
    EXPECT_EQ(overlap.push_text("ab", stopped), "a");
    EXPECT_TRUE(stopped);
}

TEST(TextStream, Utf8CharactersSplitAcrossTokensComeOutWhole) {
    TextStream ts(nullptr, {});
    bool stopped = false;
    EXPECT_EQ(ts.push_text("caf\xC3", stopped), "caf");
    EXPECT_EQ(ts.push_text("\xA9!", stopped), "\xC3\xA9!");
    EXPECT_EQ(ts.push_text("\xF0\x9F", stopped), "");
    EXPECT_EQ(ts.push_text("\x98", stopped), "");
    EXPECT_EQ(ts.push_text("\x80", stopped), "\xF0\x9F\x98\x80");
    EXPECT_EQ(ts.push_text("\xE2\x82", stopped), "");
    EXPECT_EQ(ts.flush(), "\xEF\xBF\xBD") << "an unfinished character at the end becomes U+FFFD";
}

TEST(TextStream, StopStringWithMultibyteCharacters) {
    TextStream ts(nullptr, {"\xC3\xA9t\xC3\xA9"});  // "été"
    bool stopped = false;
    EXPECT_EQ(ts.push_text("un \xC3", stopped), "un ");
    EXPECT_EQ(ts.push_text("\xA9t\xC3", stopped), "");
    EXPECT_EQ(ts.push_text("\xA9 chaud", stopped), "");
    EXPECT_TRUE(stopped);
}

TEST(TextStream, IncompleteTailDetection) {
    EXPECT_EQ(TextStream::incomplete_utf8_tail("abc"), 0u);
    EXPECT_EQ(TextStream::incomplete_utf8_tail("ab\xC3"), 1u);
    EXPECT_EQ(TextStream::incomplete_utf8_tail("\xE2\x82"), 2u);
    EXPECT_EQ(TextStream::incomplete_utf8_tail("\xE2\x82\xAC"), 0u);
    EXPECT_EQ(TextStream::incomplete_utf8_tail("\x80\x80"), 0u) << "stray continuation bytes never complete";
}

}  // namespace
}  // namespace pagoda
