// Text <-> token ids for a model. One interface for every tokenizer kind: SentencePiece
// ("llama" in GGUF), and byte-level BPE / tokenizer.json (the tokenizer issue).
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/status.h"
#include "pagoda/types.h"

namespace pagoda {

class GgufFile;

// As tokenizer.ggml.token_type numbers them.
enum class TokenType : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

struct SpecialTokens {
    TokenId bos = -1;
    TokenId eos = -1;
    TokenId unk = -1;
    TokenId pad = -1;
    bool add_bos = false;
    bool add_eos = false;
    // Every token that ends a generation: EOS plus the end-of-turn tokens chat models
    // emit instead (<|eot_id|>, <|im_end|>, <end_of_turn>, ...), found as llama.cpp finds them.
    std::vector<TokenId> eog;
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // "spm", "bpe", ...
    virtual std::string kind() const = 0;
    virtual int32_t vocab_size() const = 0;
    virtual const SpecialTokens& special() const = 0;
    virtual TokenType token_type(TokenId id) const = 0;

    // add_special: prepend BOS (and append EOS) when the vocabulary asks for it.
    // parse_special: text spelling a control/user-defined token becomes that token
    // (chat prompts); otherwise it is tokenized as plain text (user content).
    virtual std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const = 0;

    // The bytes one token stands for (may be part of a UTF-8 character). Control
    // tokens give "" unless render_special. Out-of-range ids give "".
    virtual std::string token_to_piece(TokenId id, bool render_special = false) const = 0;

    // Concatenated pieces, with the SentencePiece leading space of the first token
    // removed when the vocabulary adds one.
    virtual std::string decode(std::span<const TokenId> ids, bool render_special = false) const = 0;

    bool is_eog(TokenId id) const {
        const SpecialTokens& sp = special();
        return id == sp.eos || std::find(sp.eog.begin(), sp.eog.end(), id) != sp.eog.end();
    }
};

// Builds the tokenizer a GGUF file describes (tokenizer.ggml.*), or says why it cannot.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const GgufFile& gguf);

}  // namespace pagoda
