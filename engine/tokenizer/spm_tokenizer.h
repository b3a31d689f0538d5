// SentencePiece tokenizer as llama.cpp runs it for GGUF "llama" vocabularies: the text is
// cut at special tokens, each text fragment gets spaces replaced by U+2581 (and a
// leading one when add_space_prefix and the fragment starts the text or follows a special
// token), then adjacent symbols are merged greedily by token score; characters no token
// covers fall back to <0xXX> byte tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/special_token_splitter.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace pagoda {

class SpmTokenizer final : public Tokenizer {
public:
    explicit SpmTokenizer(Vocab vocab);

    std::string kind() const override { return "spm"; }
    int32_t vocab_size() const override { return vocab_.size(); }
    const SpecialTokens& special() const override { return vocab_.special(); }
    TokenType token_type(TokenId id) const override;

    std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const override;
    std::string token_to_piece(TokenId id, bool render_special = false) const override;
    // Pieces concatenated; with add_space_prefix the first token loses one leading space.
    // Matches llama_detokenize(remove_special = false) as node-llama-cpp calls it, so a
    // leading BOS (which renders as "" or "<s>") keeps the next token's space.
    std::string decode(std::span<const TokenId> ids, bool render_special = false) const override;

    const Vocab& vocab() const { return vocab_; }

    // Tokenizes one text fragment that holds no special tokens and whose spaces are
    // already U+2581; appends to `out`.
    void encode_escaped(std::string_view text, std::vector<TokenId>& out) const;

private:
    Vocab vocab_;
    SpecialTokenSplitter splitter_;
};

}  // namespace pagoda
