// Cuts raw text at the spellings of special tokens (control, unknown, user-defined),
// before the text itself is tokenized. Two strategies:
//  - longest_token_first, llama.cpp's tokenizer_st_partition: tokens are tried longest
//    first; each one splits every remaining text fragment at all its leftmost
//    non-overlapping occurrences.
//  - leftmost_longest, Hugging Face's added-token matching: scanning left to right, the
//    longest token starting at each position wins.
// Entries not marked `always` (control and unknown tokens) are only matched when
// parse_special; user-defined tokens always are (as Hugging Face does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pagoda/types.h"

namespace pagoda {

class Vocab;

// A piece of the input: a matched special token, or a span of text still to tokenize.
struct TextFragment {
    TokenId token = -1;  // >= 0: this fragment is that token
    size_t offset = 0;   // text span [offset, offset + length) when token < 0
    size_t length = 0;

    bool is_token() const { return token >= 0; }
};

class SpecialTokenSplitter {
public:
    struct Entry {
        TokenId id = -1;
        std::string text;
        bool always = false;  // matched even without parse_special (user-defined tokens)
        bool lstrip = false;  // swallow whitespace on the left
        bool rstrip = false;  // swallow whitespace on the right
    };

    enum class Strategy { longest_token_first, leftmost_longest };

    SpecialTokenSplitter() = default;
    // longest_token_first tries entries in the order given; empty texts are ignored.
    explicit SpecialTokenSplitter(std::vector<Entry> entries, Strategy strategy = Strategy::longest_token_first);
    // The control, unknown and user-defined tokens of `vocab`, longest first.
    static SpecialTokenSplitter from_vocab(const Vocab& vocab);

    // Fragments in text order; text spans are never empty.
    std::vector<TextFragment> split(std::string_view text, bool parse_special) const;

    const std::vector<Entry>& entries() const { return entries_; }

private:
    // Byte trie over entry texts for leftmost_longest.
    struct TrieNode {
        std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
        int32_t entry = -1;
    };
    static void trie_insert(std::vector<TrieNode>& trie, std::string_view text, int32_t entry);
    std::vector<TextFragment> split_longest_token_first(std::string_view text, bool parse_special) const;
    std::vector<TextFragment> split_leftmost_longest(std::string_view text, bool parse_special) const;

    std::vector<Entry> entries_;
    Strategy strategy_ = Strategy::longest_token_first;
    std::vector<TrieNode> trie_all_;     // every entry
    std::vector<TrieNode> trie_always_;  // entries matched without parse_special
};

}  // namespace pagoda
