// Byte-level (and SentencePiece-style) BPE tokenizer: special tokens are cut out of the
// text, the rest is normalized (tokenizer.json only), pre-tokenized into pieces and each
// piece BPE-encoded. Built either from a GGUF "gpt2" vocabulary (llama.cpp behaviour) or
// from a Hugging Face tokenizer.json (Hugging Face behaviour); Config says which parts
// apply.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/bpe_model.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/special_token_splitter.h"
#include "tokenizer/text_transforms.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace pagoda {

class BpeTokenizer final : public Tokenizer {
public:
    enum class Cleanup { none, llama_cpp, hugging_face };

    struct Config {
        Vocab vocab;  // every id: texts, types (added tokens are control/user-defined), specials
        BpeModel model;
        std::unique_ptr<Normalizer> normalizer;       // null: none
        std::unique_ptr<PreTokenizer> pre_tokenizer;  // null: the text is one piece
        std::unique_ptr<TokenDecoder> decoder;        // null: token texts as they are
        SpecialTokenSplitter splitter;                // special tokens in the raw text
        SpecialTokenSplitter normalized_splitter;     // added tokens matched after normalizing
        // decode(): llama.cpp concatenates token_to_piece; Hugging Face runs the decoder
        // over the whole token list.
        bool hugging_face_decode = false;
        Cleanup cleanup = Cleanup::none;
    };

    explicit BpeTokenizer(Config config);

    std::string kind() const override { return "bpe"; }
    int32_t vocab_size() const override { return config_.vocab.size(); }
    const SpecialTokens& special() const override { return config_.vocab.special(); }
    TokenType token_type(TokenId id) const override;

    std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const override;
    std::string token_to_piece(TokenId id, bool render_special = false) const override;
    // Without render_special, control tokens are left out (Hugging Face's
    // skip_special_tokens); then the clean-up the vocabulary asks for, if any.
    std::string decode(std::span<const TokenId> ids, bool render_special = false) const override;

    const Vocab& vocab() const { return config_.vocab; }

private:
    void encode_text(std::string_view text, bool first_section, bool parse_special, std::vector<TokenId>& out) const;

    Config config_;
};

}  // namespace pagoda
