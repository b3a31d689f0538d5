#include "tokenizer/special_token_splitter.h"

#include <algorithm>
#include <utility>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"

namespace pagoda {
namespace {

// C-locale isspace, safe for bytes >= 0x80.
bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// End of text[begin, end) once trailing Unicode whitespace is dropped.
size_t trim_white_space_end(std::string_view text, size_t begin, size_t end) {
    while (end > begin) {
        size_t start = end - 1;  // back up to the lead byte of the last character
        while (start > begin && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
        uint32_t cp = 0;
        if (utf8::decode(text, start, cp) != end - start || !utf8::is_white_space(cp)) break;
        end = start;
    }
    return end;
}

// Start of text[begin, end) once leading Unicode whitespace is dropped.
size_t trim_white_space_begin(std::string_view text, size_t begin, size_t end) {
    while (begin < end) {
        uint32_t cp = 0;
        const size_t n = utf8::decode(text, begin, cp);
        if (n == 0 || begin + n > end || !utf8::is_white_space(cp)) break;
        begin += n;
    }
    return begin;
}

}  // namespace

SpecialTokenSplitter::SpecialTokenSplitter(std::vector<Entry> entries, Strategy strategy) : strategy_(strategy) {
    entries_.reserve(entries.size());
    for (auto& e : entries) {
        if (!e.text.empty() && e.id >= 0) entries_.push_back(std::move(e));
    }
    if (strategy_ == Strategy::leftmost_longest) {
        trie_all_.emplace_back();
        trie_always_.emplace_back();
        for (size_t i = 0; i < entries_.size(); ++i) {
            trie_insert(trie_all_, entries_[i].text, static_cast<int32_t>(i));
            if (entries_[i].always) trie_insert(trie_always_, entries_[i].text, static_cast<int32_t>(i));
        }
    }
}

void SpecialTokenSplitter::trie_insert(std::vector<TrieNode>& trie, std::string_view text, int32_t entry) {
    size_t node = 0;
    for (char ch : text) {
        const auto byte = static_cast<uint8_t>(ch);
        auto& children = trie[node].children;
        auto it = std::lower_bound(children.begin(), children.end(), byte,
                                   [](const std::pair<uint8_t, int32_t>& c, uint8_t b) { return c.first < b; });
        if (it != children.end() && it->first == byte) {
            node = static_cast<size_t>(it->second);
            continue;
        }
        const auto child = static_cast<int32_t>(trie.size());
        children.insert(it, {byte, child});
        trie.emplace_back();  // may reallocate: `children` is not used after this
        node = static_cast<size_t>(child);
    }
    // Two entries with the same text: the first one keeps it.
    if (trie[node].entry < 0) trie[node].entry = entry;
}

SpecialTokenSplitter SpecialTokenSplitter::from_vocab(const Vocab& vocab) {
    std::vector<Entry> entries;
    entries.reserve(vocab.special_tokens_by_length().size());
    for (TokenId id : vocab.special_tokens_by_length()) {
        Entry e;
        e.id = id;
        e.text = vocab.text(id);
        e.always = vocab.type(id) == TokenType::user_defined;
        entries.push_back(std::move(e));
    }
    return SpecialTokenSplitter(std::move(entries));
}

std::vector<TextFragment> SpecialTokenSplitter::split(std::string_view text, bool parse_special) const {
    return strategy_ == Strategy::leftmost_longest ? split_leftmost_longest(text, parse_special)
                                                   : split_longest_token_first(text, parse_special);
}

std::vector<TextFragment> SpecialTokenSplitter::split_leftmost_longest(std::string_view text,
                                                                       bool parse_special) const {
    std::vector<TextFragment> fragments;
    if (text.empty()) return fragments;
    const std::vector<TrieNode>& trie = parse_special ? trie_all_ : trie_always_;
    if (trie.empty() || trie[0].children.empty()) {
        fragments.push_back(TextFragment{-1, 0, text.size()});
        return fragments;
    }
    // Pass 1: matches, scanning left to right, longest at each position.
    std::vector<std::pair<size_t, int32_t>> matches;  // (offset, entry)
    for (size_t i = 0; i < text.size();) {
        size_t node = 0;
        int32_t best = -1;
        for (size_t j = i; j < text.size(); ++j) {
            const auto& children = trie[node].children;
            const auto byte = static_cast<uint8_t>(text[j]);
            auto it = std::lower_bound(children.begin(), children.end(), byte,
                                       [](const std::pair<uint8_t, int32_t>& c, uint8_t b) { return c.first < b; });
            if (it == children.end() || it->first != byte) break;
            node = static_cast<size_t>(it->second);
            if (trie[node].entry >= 0) best = trie[node].entry;
        }
        if (best < 0) {
            ++i;
            continue;
        }
        matches.emplace_back(i, best);
        i += entries_[static_cast<size_t>(best)].text.size();
    }
    // Pass 2: fragments, with lstrip/rstrip eating Unicode whitespace next to a token.
    size_t pos = 0;
    for (size_t m = 0; m < matches.size(); ++m) {
        const auto [offset, index] = matches[m];
        const Entry& e = entries_[static_cast<size_t>(index)];
        size_t left_end = offset;
        if (e.lstrip) left_end = trim_white_space_end(text, pos, left_end);
        if (left_end > pos) fragments.push_back(TextFragment{-1, pos, left_end - pos});
        fragments.push_back(TextFragment{e.id, 0, 0});
        pos = offset + e.text.size();
        if (e.rstrip) {
            const size_t limit = m + 1 < matches.size() ? matches[m + 1].first : text.size();
            pos = trim_white_space_begin(text, pos, limit);
        }
    }
    if (pos < text.size()) fragments.push_back(TextFragment{-1, pos, text.size() - pos});
    return fragments;
}

std::vector<TextFragment> SpecialTokenSplitter::split_longest_token_first(std::string_view text,
                                                                          bool parse_special) const {
    std::vector<TextFragment> fragments;
    if (text.empty()) return fragments;
    fragments.push_back(TextFragment{-1, 0, text.size()});

    std::vector<TextFragment> next;
    for (const Entry& e : entries_) {
        if (!parse_special && !e.always) continue;
        // Fragments are spans of `text`, so a token absent from it is absent from all of them.
        if (text.find(e.text) == std::string_view::npos) continue;

        next.clear();
        next.reserve(fragments.size() + 8);
        for (const TextFragment& f : fragments) {
            if (f.is_token()) {
                next.push_back(f);
                continue;
            }
            size_t base = f.offset;
            size_t len = f.length;
            while (len > 0) {
                const size_t end = base + len;
                const size_t match = text.substr(0, end).find(e.text, base);
                if (match == std::string_view::npos) {
                    next.push_back(TextFragment{-1, base, len});
                    break;
                }
                size_t left_len = match - base;
                if (e.lstrip) {
                    while (left_len > 0 && is_ascii_space(text[base + left_len - 1])) --left_len;
                }
                if (left_len > 0) next.push_back(TextFragment{-1, base, left_len});
                next.push_back(TextFragment{e.id, 0, 0});

                size_t right = match + e.text.size();
                if (right >= end) break;
                size_t right_len = end - right;
                if (e.rstrip) {
                    while (right_len > 0 && is_ascii_space(text[right])) {
                        ++right;
                        --right_len;
                    }
                }
                base = right;
                len = right_len;
            }
        }
        std::swap(fragments, next);
    }
    return fragments;
}

}  // namespace pagoda
