#include "tokenizer/vocab.h"

#include <algorithm>
#include <cmath>

#include "tokenizer/special_token_texts.h"

namespace pagoda {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// "<0xAB>" -> 0xAB, anything else -> -1.
int parse_byte_token(std::string_view text) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
    const int hi = hex_digit(text[3]);
    const int lo = hex_digit(text[4]);
    if (hi < 0 || lo < 0) return -1;
    return hi * 16 + lo;
}

Status check_special_id(const char* name, TokenId id, size_t n_tokens) {
    if (id < -1 || (id >= 0 && static_cast<size_t>(id) >= n_tokens)) {
        return invalid_format(std::string("special token id ") + name + " = " + std::to_string(id) +
                              " is outside the vocabulary (" + std::to_string(n_tokens) + " tokens)");
    }
    return Status::ok();
}

}  // namespace

Result<Vocab> Vocab::create(VocabData data) {
    const size_t n = data.tokens.size();
    if (n == 0) return invalid_format("the vocabulary is empty");
    if (n > kMaxTokens) {
        return invalid_format("the vocabulary has " + std::to_string(n) + " tokens, more than the " +
                              std::to_string(kMaxTokens) + " Pagoda accepts");
    }
    if (!data.scores.empty() && data.scores.size() != n) {
        return invalid_format("the vocabulary has " + std::to_string(n) + " tokens but " +
                              std::to_string(data.scores.size()) + " scores");
    }
    if (!data.types.empty() && data.types.size() != n) {
        return invalid_format("the vocabulary has " + std::to_string(n) + " tokens but " +
                              std::to_string(data.types.size()) + " token types");
    }
    for (size_t i = 0; i < data.types.size(); ++i) {
        const auto t = static_cast<int32_t>(data.types[i]);
        if (t < 0 || t > static_cast<int32_t>(TokenType::byte)) {
            return invalid_format("token " + std::to_string(i) + " has unknown token type " + std::to_string(t));
        }
    }
    for (size_t i = 0; i < data.scores.size(); ++i) {
        // NaN would make the merge order depend on the priority queue's internals.
        if (std::isnan(data.scores[i])) return invalid_format("token " + std::to_string(i) + " has a NaN score");
    }
    PAGODA_RETURN_IF_ERROR(check_special_id("bos", data.special.bos, n));
    PAGODA_RETURN_IF_ERROR(check_special_id("eos", data.special.eos, n));
    PAGODA_RETURN_IF_ERROR(check_special_id("unk", data.special.unk, n));
    PAGODA_RETURN_IF_ERROR(check_special_id("pad", data.special.pad, n));
    if (data.special.add_bos && data.special.bos < 0) {
        return invalid_format("the vocabulary asks to add a BOS token but has no BOS token id");
    }
    if (data.special.add_eos && data.special.eos < 0) {
        return invalid_format("the vocabulary asks to add an EOS token but has no EOS token id");
    }

    Vocab v;
    v.model_ = std::move(data.model);
    v.pre_ = std::move(data.pre);
    v.texts_ = std::move(data.tokens);
    v.scores_ = std::move(data.scores);
    v.types_ = std::move(data.types);
    v.merges_ = std::move(data.merges);
    v.special_ = data.special;
    v.add_space_prefix_ = data.add_space_prefix;
    v.index_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        std::string& text = v.texts_[i];
        if (text.empty()) text = "[EMPTY_" + std::to_string(i) + "]";
        const auto id = static_cast<TokenId>(i);
        auto [it, inserted] = v.index_.emplace(text, id);
        if (!inserted && !data.allow_duplicate_texts) {
            return invalid_format("token text '" + text + "' appears twice in the vocabulary (ids " +
                                  std::to_string(it->second) + " and " + std::to_string(i) + ")");
        }
        v.max_token_length_ = std::max(v.max_token_length_, text.size());
    }

    static const char* kHex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        const char name[6] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
        TokenId id = v.find(std::string_view(name, 6));
        if (id < 0) {
            const char c = static_cast<char>(b);
            id = v.find(std::string_view(&c, 1));
        }
        v.byte_tokens_[static_cast<size_t>(b)] = id;
    }

    for (size_t i = 0; i < n; ++i) {
        if (v.is_special_kind(static_cast<TokenId>(i))) v.special_by_length_.push_back(static_cast<TokenId>(i));
    }
    v.collect_end_of_generation_tokens();
    std::stable_sort(v.special_by_length_.begin(), v.special_by_length_.end(),
                     [&v](TokenId a, TokenId b) { return v.text(a).size() > v.text(b).size(); });
    return v;
}

bool Vocab::is_special_kind(TokenId id) const {
    const TokenType t = type(id);
    return t == TokenType::control || t == TokenType::unknown || t == TokenType::user_defined;
}

TokenId Vocab::find(std::string_view text) const {
    auto it = index_.find(text);
    return it == index_.end() ? -1 : it->second;
}

int Vocab::byte_value(TokenId id) const {
    if (!contains(id)) return -1;
    return parse_byte_token(text(id));
}

// Chat models end a turn with their own token rather than EOS; llama.cpp treats these
// texts, when they are control tokens (special_token_texts.h), as end of generation, and
// so do we.
void Vocab::collect_end_of_generation_tokens() {
    std::vector<TokenId>& eog = special_.eog;
    if (special_.eos >= 0) eog.push_back(special_.eos);
    for (std::string_view text : kEndOfGenerationTexts) {
        const TokenId id = find(text);
        if (id >= 0 && type(id) == TokenType::control &&
            std::find(eog.begin(), eog.end(), id) == eog.end()) {
            eog.push_back(id);
        }
    }
}

}  // namespace pagoda
