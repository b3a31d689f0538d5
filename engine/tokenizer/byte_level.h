// GPT-2's byte-level alphabet: every byte maps to one printable code point (printable
// Latin-1 bytes to themselves, the rest to U+0100.. in order), so byte-level BPE
// vocabularies can spell any byte sequence with ordinary UTF-8 token texts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pagoda::byte_level {

// The UTF-8 spelling of byte `b` in the byte-level alphabet (e.g. ' ' -> "Ġ").
std::string_view byte_to_text(uint8_t b);

// The byte a code point of the alphabet stands for, or -1.
int code_point_to_byte(uint32_t cp);

// Every byte of `bytes` spelled in the alphabet.
std::string encode(std::string_view bytes);

// Inverse of encode() for one token's text. A text with any character outside the
// alphabet is not byte-level (added tokens spell plain text) and is returned unchanged.
std::string decode(std::string_view text);

}  // namespace pagoda::byte_level
