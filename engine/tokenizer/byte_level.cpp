#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace pagoda::byte_level {
namespace {

struct Alphabet {
    std::array<std::string, 256> text;   // byte -> UTF-8 spelling
    std::array<int16_t, 324> byte_of{};  // code point (< 324) -> byte, -1 if none

    Alphabet() {
        byte_of.fill(-1);
        uint32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            // Printable ASCII and Latin-1 (minus the soft hyphen) stand for themselves.
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
            utf8::append(text[static_cast<size_t>(b)], cp);
            byte_of[cp] = static_cast<int16_t>(b);
        }
    }
};

const Alphabet& alphabet() {
    static const Alphabet a;
    return a;
}

}  // namespace

std::string_view byte_to_text(uint8_t b) { return alphabet().text[b]; }

int code_point_to_byte(uint32_t cp) {
    const Alphabet& a = alphabet();
    return cp < a.byte_of.size() ? a.byte_of[cp] : -1;
}

std::string encode(std::string_view bytes) {
    const Alphabet& a = alphabet();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += a.text[static_cast<uint8_t>(c)];
    return out;
}

std::string decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    uint32_t cp = 0;
    for (size_t pos = 0; pos < text.size();) {
        const size_t n = utf8::decode(text, pos, cp);
        const int b = n == 0 ? -1 : code_point_to_byte(cp);
        // As Hugging Face's ByteLevel decoder: a token with a character outside the
        // alphabet is not byte-level text, so it is kept verbatim.
        if (b < 0) return std::string(text);
        out += static_cast<char>(b);
        pos += n;
    }
    return out;
}

}  // namespace pagoda::byte_level
