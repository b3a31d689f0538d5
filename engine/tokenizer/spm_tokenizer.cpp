#include "tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <queue>
#include <utility>

namespace pagoda {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// Length of the UTF-8 sequence a lead byte announces, as llama.cpp counts it (no
// validation: a stray continuation byte is a symbol of its own).
size_t utf8_len(char c) {
    static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kLen[static_cast<uint8_t>(c) >> 4];
}

std::string escape_spaces(std::string_view text, bool prefix_space) {
    std::string out;
    out.reserve(text.size() + text.size() / 4 + 3);
    if (prefix_space) out += kSpaceMark;
    for (char c : text) {
        if (c == ' ') {
            out += kSpaceMark;
        } else {
            out += c;
        }
    }
    return out;
}

std::string unescape_spaces(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
            out += ' ';
            i += kSpaceMark.size();
        } else {
            out += text[i++];
        }
    }
    return out;
}

// A run of text in the linked list of symbols being merged. Symbols stay contiguous in
// the text: merging extends the left one and empties the right one.
struct Symbol {
    int64_t prev;
    int64_t next;
    size_t offset;
    size_t n;
};

struct Bigram {
    int64_t left;
    int64_t right;
    float score;
    size_t size;
};

// Highest score first; on ties the leftmost pair, as llama.cpp orders its queue.
struct BigramOrder {
    bool operator()(const Bigram& l, const Bigram& r) const {
        return l.score < r.score || (l.score == r.score && l.left > r.left);
    }
};

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab vocab)
    : vocab_(std::move(vocab)), splitter_(SpecialTokenSplitter::from_vocab(vocab_)) {}

TokenType SpmTokenizer::token_type(TokenId id) const {
    return vocab_.contains(id) ? vocab_.type(id) : TokenType::undefined;
}

void SpmTokenizer::encode_escaped(std::string_view text, std::vector<TokenId>& out) const {
    if (text.empty()) return;

    std::vector<Symbol> symbols;
    symbols.reserve(text.size());
    for (size_t offset = 0; offset < text.size();) {
        const size_t n = std::min(utf8_len(text[offset]), text.size() - offset);
        const auto index = static_cast<int64_t>(symbols.size());
        symbols.push_back(Symbol{index - 1, offset + n == text.size() ? -1 : index + 1, offset, n});
        offset += n;
    }

    const size_t max_len = vocab_.max_token_length();
    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    auto try_add = [&](int64_t left, int64_t right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = symbols[static_cast<size_t>(left)];
        const size_t size = l.n + symbols[static_cast<size_t>(right)].n;
        // No token is longer than max_len: skipping the lookup keeps long runs linear.
        if (size > max_len) return;
        const TokenId id = vocab_.find(text.substr(l.offset, size));
        if (id < 0) return;
        queue.push(Bigram{left, right, vocab_.score(id), size});
    };

    for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int64_t>(i - 1), static_cast<int64_t>(i));

    while (!queue.empty()) {
        const Bigram bigram = queue.top();
        queue.pop();
        Symbol& left = symbols[static_cast<size_t>(bigram.left)];
        Symbol& right = symbols[static_cast<size_t>(bigram.right)];
        // Stale entry: one side was merged into something else since it was queued.
        if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;

        left.n += right.n;
        right.n = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = bigram.left;

        try_add(left.prev, bigram.left);
        try_add(bigram.left, left.next);
    }

    // Every merged symbol spells a token (it was only queued if it did); single characters
    // without a token fall back to one token per byte.
    const TokenId unk = vocab_.special().unk;
    for (int64_t i = 0; i != -1; i = symbols[static_cast<size_t>(i)].next) {
        const Symbol& s = symbols[static_cast<size_t>(i)];
        const std::string_view piece = text.substr(s.offset, s.n);
        const TokenId id = vocab_.find(piece);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        for (char c : piece) {
            TokenId byte_id = vocab_.byte_token(static_cast<uint8_t>(c));
            // llama.cpp would throw here; a vocabulary without byte tokens gets <unk>.
            if (byte_id < 0) byte_id = unk;
            if (byte_id >= 0) out.push_back(byte_id);
        }
    }
}

std::vector<TokenId> SpmTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<TokenId> out;
    const SpecialTokens& sp = vocab_.special();
    if (add_special && sp.add_bos && sp.bos >= 0) out.push_back(sp.bos);

    // A space is prepended to a text fragment at the start or right after a special token.
    bool prev_special = true;
    for (const TextFragment& f : splitter_.split(text, parse_special)) {
        if (f.is_token()) {
            out.push_back(f.token);
            prev_special = true;
            continue;
        }
        const std::string escaped =
            escape_spaces(text.substr(f.offset, f.length), vocab_.add_space_prefix() && prev_special);
        encode_escaped(escaped, out);
        prev_special = false;
    }

    if (add_special && sp.add_eos && sp.eos >= 0) out.push_back(sp.eos);
    return out;
}

std::string SpmTokenizer::token_to_piece(TokenId id, bool render_special) const {
    if (!vocab_.contains(id)) return {};
    switch (vocab_.type(id)) {
        case TokenType::control:
        case TokenType::unknown:
            return render_special ? vocab_.text(id) : std::string();
        case TokenType::user_defined:
            return vocab_.text(id);
        case TokenType::normal:
            return unescape_spaces(vocab_.text(id));
        case TokenType::byte: {
            const int b = vocab_.byte_value(id);
            return b < 0 ? std::string() : std::string(1, static_cast<char>(b));
        }
        case TokenType::undefined:
        case TokenType::unused:
            break;
    }
    return {};
}

std::string SpmTokenizer::decode(std::span<const TokenId> ids, bool render_special) const {
    std::string out;
    // As llama_detokenize(remove_special = false), which node-llama-cpp uses: only the
    // first token loses its leading space, even when that first token is a BOS.
    bool remove_space = vocab_.add_space_prefix();
    for (TokenId id : ids) {
        std::string piece = token_to_piece(id, render_special);
        if (remove_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
        remove_space = false;
        out += piece;
    }
    return out;
}

}  // namespace pagoda
