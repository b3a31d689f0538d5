// NFC, the tokenizer.json normalizers and decoders, the two clean-up flavours, and the
// leftmost-longest added-token splitter.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/special_token_splitter.h"
#include "tokenizer/text_transforms.h"
#include "tokenizer/unicode_nfc.h"

namespace pagoda {
namespace {

using Strings = std::vector<std::string>;

TEST(BpeTextTransforms, Nfc) {
    EXPECT_EQ(to_nfc("plain ASCII"), "plain ASCII");
    EXPECT_EQ(to_nfc("e\u0301"), "\u00e9");
    EXPECT_EQ(to_nfc("\u00e9\u0301"), "\u00e9\u0301");  // é already composed; the accent stays
    EXPECT_EQ(to_nfc("\u212b"), "\u00c5");              // singleton: ANGSTROM SIGN -> Å
    EXPECT_EQ(to_nfc("\u0958"), "\u0915\u093c");        // composition exclusion stays apart
    EXPECT_EQ(to_nfc("\u1100\u1161\u11a8"), "\uac01");  // Hangul jamo -> syllable 각
    EXPECT_EQ(to_nfc("\uac00\u11a8"), "\uac01");        // LV + T
    // Canonical order: dot below (220) before dot above (230), then compose with s.
    EXPECT_EQ(to_nfc("s\u0307\u0323"), "\u1e69");
    EXPECT_EQ(to_nfc("q\u0307\u0323"), "q\u0323\u0307");  // no q composite: just reordered
    EXPECT_EQ(to_nfc("a\xFF\u0301"), "a\xFF\u0301");      // an invalid byte blocks composition
    EXPECT_EQ(to_nfc("\u4e2d\u6587 \U0001F999"), "\u4e2d\u6587 \U0001F999");
}

TEST(BpeTextTransforms, Normalizers) {
    std::vector<std::unique_ptr<Normalizer>> steps;
    steps.push_back(make_prepend_normalizer("\xE2\x96\x81"));
    steps.push_back(make_replace_normalizer(" ", "\xE2\x96\x81"));
    auto seq = make_normalizer_sequence(std::move(steps));
    EXPECT_EQ(seq->normalize("a b"),
              "\xE2\x96\x81"
              "a\xE2\x96\x81"
              "b");
    EXPECT_EQ(seq->normalize(""), "");
    EXPECT_EQ(make_nfc_normalizer()->normalize("e\u0301"), "\u00e9");
}

TEST(BpeTextTransforms, Decoders) {
    // Llama 2 style tokenizer.json decoder.
    std::vector<std::unique_ptr<TokenDecoder>> steps;
    steps.push_back(make_replace_decoder("\xE2\x96\x81", " "));
    steps.push_back(make_byte_fallback_decoder());
    steps.push_back(make_fuse_decoder());
    steps.push_back(make_strip_decoder(" ", 1, 0));
    auto seq = make_decoder_sequence(std::move(steps));
    Strings tokens{"\xE2\x96\x81Hello", "<0xC3>", "<0xA9>",
                   "\xE2\x96\x81"
                   "ab"};
    seq->decode_chain(tokens, true);
    EXPECT_EQ(tokens, (Strings{"Hello\xC3\xA9 ab"}));
    // One token on its own keeps its space (Fuse/Strip look across tokens).
    std::string one = "\xE2\x96\x81Hello";
    seq->decode_token(one);
    EXPECT_EQ(one, " Hello");

    auto meta = make_metaspace_decoder("\xE2\x96\x81", true);
    Strings m{
        "\xE2\x96\x81"
        "a",
        "\xE2\x96\x81"
        "b"};
    meta->decode_chain(m, true);
    EXPECT_EQ(m, (Strings{"a", " b"}));

    auto bl = make_byte_level_decoder();
    Strings b{"\xC4\xA0hi", "<|x|>"};
    bl->decode_chain(b, true);
    EXPECT_EQ(b, (Strings{" hi", "<|x|>"}));
}

TEST(BpeTextTransforms, CleanUps) {
    EXPECT_EQ(clean_up_tokenization("Hello , world . I 'm sure it 's do n't ?"), "Hello, world. I'm sure it's don't?");
    EXPECT_EQ(llama_cpp_clean_spaces("Hello , world . I 'm here ' ok"), "Hello, world. I'm here'ok");
    EXPECT_EQ(llama_cpp_clean_spaces(" 't 'd 'll 're"), " 't 'd 'll're");
    EXPECT_EQ(llama_cpp_clean_spaces(""), "");
}

TEST(BpeTextTransforms, LeftmostLongestSplitter) {
    using Entry = SpecialTokenSplitter::Entry;
    const std::vector<Entry> entries = {
        {1, "<a", false, false, false},
        {2, "<ab>", false, false, false},
        {3, "b>", true, false, false},
        {4, "<s>", false, true, true},
    };
    SpecialTokenSplitter s(entries, SpecialTokenSplitter::Strategy::leftmost_longest);
    auto render = [](std::string_view text, const std::vector<TextFragment>& fs) {
        std::string out;
        for (const auto& f : fs) {
            if (f.is_token()) {
                out += '[';
                out += std::to_string(f.token);
                out += ']';
            } else {
                out += '{';
                out += text.substr(f.offset, f.length);
                out += '}';
            }
        }
        return out;
    };
    const std::string t1 = "x<ab>y<a b>";
    // Leftmost, then longest: "<ab>" beats "<a"; "b>" matches after the space.
    EXPECT_EQ(render(t1, s.split(t1, true)), "{x}[2]{y}[1]{ }[3]");
    // Without parse_special only the always-matched "b>" counts.
    EXPECT_EQ(render(t1, s.split(t1, false)), "{x<a}[3]{y<a }[3]");
    // lstrip/rstrip eat Unicode whitespace (here NBSP and a newline) beside the token.
    const std::string t2 = "a\u00a0 <s>\n b";
    EXPECT_EQ(render(t2, s.split(t2, true)), "{a}[4]{b}");
}

}  // namespace
}  // namespace pagoda
