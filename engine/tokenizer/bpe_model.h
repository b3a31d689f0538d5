// The BPE model: encodes one pre-tokenized piece by starting from its characters and
// applying merges lowest rank first (ties: leftmost), as llama.cpp and Hugging Face do.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pagoda/status.h"
#include "pagoda/types.h"

namespace pagoda {

struct BpeOptions {
    bool ignore_merges = false;  // a piece that is a whole token is emitted as is (Llama 3)
    bool byte_fallback = false;  // characters without a token become <0xXX> tokens
    TokenId unk = -1;            // otherwise they become this token (none: dropped)
    bool fuse_unk = false;       // consecutive unknown characters share one unk token
};

class BpeModel {
public:
    // `tokens`: the model's vocabulary (text, id). `merges`: (left, right) by rank. A
    // merge whose parts or result are not tokens can never apply and is skipped.
    static Result<BpeModel> create(const std::vector<std::pair<std::string, TokenId>>& tokens,
                                   const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

    BpeModel() = default;

    // Appends the ids for one piece to `out`.
    void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;

    TokenId find(std::string_view text) const;
    size_t merge_count() const { return merges_.size(); }
    const BpeOptions& options() const { return options_; }

private:
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Merge {
        int32_t rank;
        TokenId result;
    };
    static uint64_t pair_key(TokenId left, TokenId right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    }

    std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> ids_;
    std::unordered_map<uint64_t, Merge> merges_;
    std::vector<TokenId> byte_tokens_;  // <0xXX> ids for byte fallback, -1 if absent
    BpeOptions options_;
};

}  // namespace pagoda
