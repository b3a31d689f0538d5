// A tiny hand-written SentencePiece vocabulary shared by the SPM unit tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tokenizer/vocab.h"

namespace pagoda::test {

inline const std::string kSp = "\xE2\x96\x81";  // U+2581

// ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then the pieces below.
inline VocabData tiny_spm_vocab_data() {
    VocabData d;
    d.model = "llama";
    d.tokens = {"<unk>", "<s>", "</s>"};
    d.types = {TokenType::unknown, TokenType::control, TokenType::control};
    d.scores = {0, 0, 0};
    static const char* kHex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        d.tokens.push_back(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">");
        d.types.push_back(TokenType::byte);
        d.scores.push_back(0);
    }
    const std::vector<std::pair<std::string, float>> pieces = {
        {kSp, -1.0f},            // 259
        {"a", -2.0f},            // 260
        {"b", -2.0f},            // 261
        {"c", -2.0f},            // 262
        {"ab", -3.0f},           // 263
        {"bc", -1.5f},           // 264: beats "ab", so "abc" -> a + bc
        {kSp + "a", -4.0f},      // 265
        {"aa", -0.5f},           // 266
        {"aaaa", -0.25f},        // 267
        {kSp + "ab", -5.0f},     // 268
        {"\xC3\xA9", -2.0f},     // 269: é
        {"<tool>", 0.0f},        // 270: user-defined
        {"<ctl>", 0.0f},         // 271: control
        {"hello", -6.0f},        // 272
        {kSp + "hello", -1.0f},  // 273
        {"he", -7.0f},           // 274
        {"ll", -7.0f},           // 275
        {"llo", -7.5f},          // 276
        {"hell", -8.0f},         // 277
        {"o", -2.0f},            // 278
        {"h", -2.0f},            // 279
        {"e", -2.0f},            // 280
        {"l", -2.0f},            // 281
        {"x", -2.0f},            // 282
        {"xx", -3.0f},           // 283
    };
    for (const auto& [text, score] : pieces) {
        d.tokens.push_back(text);
        d.scores.push_back(score);
        d.types.push_back(TokenType::normal);
    }
    d.types[270] = TokenType::user_defined;
    d.types[271] = TokenType::control;
    d.special.unk = 0;
    d.special.bos = 1;
    d.special.eos = 2;
    d.special.add_bos = true;
    d.add_space_prefix = true;
    return d;
}

inline Vocab tiny_spm_vocab() {
    Result<Vocab> v = Vocab::create(tiny_spm_vocab_data());
    return std::move(v).value();
}

}  // namespace pagoda::test
