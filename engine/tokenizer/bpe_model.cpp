#include "tokenizer/bpe_model.h"

#include <queue>

#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

// A run of the piece in the linked list of symbols being merged; merging extends the
// left symbol and empties the right one.
struct Symbol {
    int32_t prev;
    int32_t next;
    size_t offset;
    size_t n;
    TokenId id;  // -1: a character with no token
};

struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    TokenId left_id;
    TokenId right_id;
    TokenId result;
};

// Lowest rank first; on ties the leftmost pair.
struct CandidateOrder {
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

}  // namespace

Result<BpeModel> BpeModel::create(const std::vector<std::pair<std::string, TokenId>>& tokens,
                                  const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options) {
    if (tokens.empty()) return invalid_format("the BPE vocabulary is empty");
    BpeModel m;
    m.options_ = options;
    m.ids_.reserve(tokens.size());
    for (const auto& [text, id] : tokens) {
        if (id < 0) return invalid_format("BPE token '" + text + "' has a negative id");
        m.ids_.emplace(text, id);  // the first id of a repeated text wins
    }
    m.merges_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [left, right] = merges[rank];
        const TokenId l = m.find(left);
        const TokenId r = m.find(right);
        const TokenId result = m.find(left + right);
        if (l < 0 || r < 0 || result < 0) continue;
        m.merges_.emplace(pair_key(l, r), Merge{static_cast<int32_t>(rank), result});  // lowest rank kept
    }
    m.byte_tokens_.assign(256, -1);
    static const char* kHex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        const char name[6] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
        m.byte_tokens_[static_cast<size_t>(b)] = m.find(std::string_view(name, 6));
    }
    return m;
}

TokenId BpeModel::find(std::string_view text) const {
    auto it = ids_.find(text);
    return it == ids_.end() ? -1 : it->second;
}

void BpeModel::encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
    if (piece.empty()) return;
    if (options_.ignore_merges) {
        const TokenId whole = find(piece);
        if (whole >= 0) {
            out.push_back(whole);
            return;
        }
    }

    std::vector<Symbol> symbols;
    symbols.reserve(piece.size());
    for (size_t offset = 0; offset < piece.size();) {
        const size_t n = utf8::char_length(piece, offset);
        const auto index = static_cast<int32_t>(symbols.size());
        symbols.push_back(
            Symbol{index - 1, offset + n == piece.size() ? -1 : index + 1, offset, n, find(piece.substr(offset, n))});
        offset += n;
    }

    std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
    auto try_add = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const TokenId l = symbols[static_cast<size_t>(left)].id;
        const TokenId r = symbols[static_cast<size_t>(right)].id;
        if (l < 0 || r < 0) return;
        auto it = merges_.find(pair_key(l, r));
        if (it == merges_.end()) return;
        queue.push(Candidate{it->second.rank, left, right, l, r, it->second.result});
    };
    for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& left = symbols[static_cast<size_t>(c.left)];
        Symbol& right = symbols[static_cast<size_t>(c.right)];
        // Stale: one side was merged into something else since this pair was queued.
        if (left.n == 0 || right.n == 0 || left.next != c.right || left.id != c.left_id || right.id != c.right_id) {
            continue;
        }
        left.n += right.n;
        left.id = c.result;
        right.n = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = c.left;
        try_add(left.prev, c.left);
        try_add(c.left, left.next);
    }

    bool last_was_unk = false;
    for (int32_t i = 0; i != -1; i = symbols[static_cast<size_t>(i)].next) {
        const Symbol& s = symbols[static_cast<size_t>(i)];
        if (s.id >= 0) {
            out.push_back(s.id);
            last_was_unk = false;
            continue;
        }
        const std::string_view text = piece.substr(s.offset, s.n);
        if (options_.byte_fallback) {
            bool all_bytes = true;
            for (char ch : text) all_bytes = all_bytes && byte_tokens_[static_cast<uint8_t>(ch)] >= 0;
            if (all_bytes) {
                for (char ch : text) out.push_back(byte_tokens_[static_cast<uint8_t>(ch)]);
                last_was_unk = false;
                continue;
            }
        }
        if (options_.unk < 0) continue;  // nothing to stand for it: dropped
        if (!(options_.fuse_unk && last_was_unk)) out.push_back(options_.unk);
        last_was_unk = true;
    }
}

}  // namespace pagoda
