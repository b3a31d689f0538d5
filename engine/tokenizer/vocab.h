// A tokenizer vocabulary: token texts, scores and types, the special ids and the flags
// that steer encoding. Built from plain data (VocabData) so it does not care whether the
// data came from a GGUF file, a tokenizer.json or a test; Vocab::create() checks it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pagoda/status.h"
#include "pagoda/types.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

// Everything needed to build a Vocab, as plain values.
struct VocabData {
    std::string model = "llama";      // tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (byte-level BPE)
    std::string pre;                  // tokenizer.ggml.pre (BPE pre-tokenizer name)
    std::vector<std::string> tokens;  // by id; an empty text is renamed "[EMPTY_<id>]" as llama.cpp does
    std::vector<float> scores;        // empty, or one per token (SentencePiece merge priority)
    std::vector<TokenType> types;     // empty (all normal), or one per token
    std::vector<std::string> merges;  // BPE merges "left right", by rank
    SpecialTokens special;            // -1 = none
    bool add_space_prefix = true;     // SentencePiece: prepend a space to the first text fragment
    // tokenizer.json may spell one text twice (an added token repeating a vocabulary entry);
    // find() then answers the first id. GGUF vocabularies must not (llama.cpp refuses them).
    bool allow_duplicate_texts = false;
};

class Vocab {
public:
    // More than this many tokens is taken as a hostile file, not a vocabulary.
    static constexpr size_t kMaxTokens = size_t{1} << 24;

    // Validates `data` (sizes agree, ids in range, no duplicate texts) and indexes it.
    static Result<Vocab> create(VocabData data);

    Vocab() = default;

    int32_t size() const { return static_cast<int32_t>(texts_.size()); }
    bool contains(TokenId id) const { return id >= 0 && id < size(); }

    // Per-token data; `id` must be valid (contains(id)).
    const std::string& text(TokenId id) const { return texts_[static_cast<size_t>(id)]; }
    float score(TokenId id) const { return scores_.empty() ? 0.0f : scores_[static_cast<size_t>(id)]; }
    TokenType type(TokenId id) const { return types_.empty() ? TokenType::normal : types_[static_cast<size_t>(id)]; }
    // Control, unknown and user-defined tokens: matched in raw text before tokenizing.
    bool is_special_kind(TokenId id) const;

    // Id of the token spelled exactly `text`, or -1.
    TokenId find(std::string_view text) const;
    // SentencePiece byte fallback: the "<0xXX>" token, else the token spelling the single
    // byte, else -1.
    TokenId byte_token(uint8_t byte) const { return byte_tokens_[byte]; }
    // The byte a BYTE-type token "<0xXX>" stands for, or -1 when it is not one.
    int byte_value(TokenId id) const;

    const SpecialTokens& special() const { return special_; }
    bool add_space_prefix() const { return add_space_prefix_; }
    size_t max_token_length() const { return max_token_length_; }
    const std::string& model() const { return model_; }
    const std::string& pre() const { return pre_; }
    const std::vector<std::string>& merges() const { return merges_; }

    // Control, unknown and user-defined token ids, longest text first (ties by id), the
    // order llama.cpp splits them out of raw text.
    const std::vector<TokenId>& special_tokens_by_length() const { return special_by_length_; }

private:
    void collect_end_of_generation_tokens();
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    std::string model_;
    std::string pre_;
    std::vector<std::string> texts_;
    std::vector<float> scores_;
    std::vector<TokenType> types_;
    std::vector<std::string> merges_;
    SpecialTokens special_;
    bool add_space_prefix_ = true;
    size_t max_token_length_ = 0;
    std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> index_;
    std::vector<TokenId> byte_tokens_ = std::vector<TokenId>(256, -1);
    std::vector<TokenId> special_by_length_;
};

}  // namespace pagoda
