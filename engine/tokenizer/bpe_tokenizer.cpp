#include "tokenizer/bpe_tokenizer.h"

#include <utility>

namespace pagoda {

BpeTokenizer::BpeTokenizer(Config config) : config_(std::move(config)) {}

TokenType BpeTokenizer::token_type(TokenId id) const {
    return config_.vocab.contains(id) ? config_.vocab.type(id) : TokenType::undefined;
}

void BpeTokenizer::encode_text(std::string_view text, bool first_section, bool parse_special,
                               std::vector<TokenId>& out) const {
    std::vector<std::string> pieces;
    auto encode_section = [&](std::string_view section, bool first) {
        pieces.assign(1, std::string(section));
        if (config_.pre_tokenizer) config_.pre_tokenizer->pre_tokenize(pieces, first);
        for (const std::string& p : pieces) config_.model.encode_piece(p, out);
    };

    if (!config_.normalizer) {
        encode_section(text, first_section);
        return;
    }
    const std::string normalized = config_.normalizer->normalize(text);
    for (const TextFragment& f : config_.normalized_splitter.split(normalized, parse_special)) {
        if (f.is_token()) {
            out.push_back(f.token);
        } else {
            encode_section(std::string_view(normalized).substr(f.offset, f.length), first_section && f.offset == 0);
        }
    }
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<TokenId> out;
    const SpecialTokens& sp = config_.vocab.special();
    if (add_special && sp.add_bos && sp.bos >= 0) out.push_back(sp.bos);
    for (const TextFragment& f : config_.splitter.split(text, parse_special)) {
        if (f.is_token()) {
            out.push_back(f.token);
        } else {
            // Only text at the very start is the "first section" (Metaspace prepend_scheme first).
            encode_text(text.substr(f.offset, f.length), f.offset == 0, parse_special, out);
        }
    }
    if (add_special && sp.add_eos && sp.eos >= 0) out.push_back(sp.eos);
    return out;
}

std::string BpeTokenizer::token_to_piece(TokenId id, bool render_special) const {
    const Vocab& v = config_.vocab;
    if (!v.contains(id)) return {};
    switch (v.type(id)) {
        case TokenType::control:
        case TokenType::unknown:
            return render_special ? v.text(id) : std::string();
        case TokenType::user_defined:
            return v.text(id);
        case TokenType::byte: {
            const int b = v.byte_value(id);
            return b < 0 ? std::string() : std::string(1, static_cast<char>(b));
        }
        case TokenType::normal: {
            std::string piece = v.text(id);
            if (config_.decoder) config_.decoder->decode_token(piece);
            return piece;
        }
        case TokenType::undefined:
        case TokenType::unused:
            break;
    }
    return {};
}

std::string BpeTokenizer::decode(std::span<const TokenId> ids, bool render_special) const {
    std::string text;
    if (!config_.hugging_face_decode) {
        bool remove_space = config_.vocab.add_space_prefix();  // llama.cpp: first token only
        for (TokenId id : ids) {
            std::string piece = token_to_piece(id, render_special);
            if (remove_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
            remove_space = false;
            text += piece;
        }
    } else {
        const Vocab& v = config_.vocab;
        std::vector<std::string> tokens;
        tokens.reserve(ids.size());
        for (TokenId id : ids) {
            if (!v.contains(id)) continue;
            const TokenType t = v.type(id);
            if (!render_special && (t == TokenType::control || t == TokenType::unknown)) continue;
            tokens.push_back(v.text(id));
        }
        if (config_.decoder) config_.decoder->decode_chain(tokens, true);
        for (const std::string& t : tokens) text += t;
    }
    switch (config_.cleanup) {
        case Cleanup::none:
            break;
        case Cleanup::llama_cpp:
            text = llama_cpp_clean_spaces(text);
            break;
        case Cleanup::hugging_face:
            text = clean_up_tokenization(text);
            break;
    }
    return text;
}

}  // namespace pagoda
