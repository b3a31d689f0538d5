// Small UTF-8 helpers for the tokenizers. Input text is untrusted, so decoding reports
// invalid sequences instead of assuming well-formed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pagoda::utf8 {

// Decodes the code point starting at text[pos]. Returns its length in bytes (1..4) and
// stores it in `cp`, or returns 0 when the bytes there are not valid UTF-8 (overlong
// forms, surrogates and values past U+10FFFF are invalid).
inline size_t decode(std::string_view text, size_t pos, uint32_t& cp) {
    const auto b0 = static_cast<uint8_t>(text[pos]);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    size_t n = 0;
    uint32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2;
        cp = b0 & 0x1F;
        min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3;
        cp = b0 & 0x0F;
        min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4;
        cp = b0 & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (pos + n > text.size()) return 0;
    for (size_t i = 1; i < n; ++i) {
        const auto b = static_cast<uint8_t>(text[pos + i]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

inline void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

inline bool is_valid(std::string_view text) {
    uint32_t cp = 0;
    for (size_t pos = 0; pos < text.size();) {
        const size_t n = decode(text, pos, cp);
        if (n == 0) return false;
        pos += n;
    }
    return true;
}

// Unicode White_Space (what \s means in Oniguruma, Rust and Python).
inline bool is_white_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

// Length of the character starting at text[pos] for splitting purposes: its UTF-8 length
// when valid, else 1 (an invalid byte stands alone).
inline size_t char_length(std::string_view text, size_t pos) {
    uint32_t cp = 0;
    const size_t n = decode(text, pos, cp);
    return n == 0 ? 1 : n;
}

}  // namespace pagoda::utf8
