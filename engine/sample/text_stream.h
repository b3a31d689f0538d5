// Incremental detokenization of one sample with stop strings: tokens go in, text that is
// final comes out. Text is held back while it
//   - ends inside a UTF-8 character (a character split across tokens), or
//   - could be the start of a stop string (a stop string split across tokens),
// so a stop string is caught whatever the token boundaries and is never emitted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/types.h"

namespace pagoda {

class Tokenizer;

class TextStream {
public:
    // tokenizer may be null (no text, no stop strings).
    TextStream(const Tokenizer* tokenizer, std::vector<std::string> stops);

    // Appends the token's text. Returns the text that became final. When a stop string
    // completes, `stopped` is set, the text before it is returned and the rest dropped.
    std::string push(TokenId token, bool& stopped);
    // Same, for raw text (tests; tokens go through push(TokenId)).
    std::string push_text(std::string_view piece, bool& stopped);
    // The end of the sample: what is held back (an incomplete UTF-8 tail becomes U+FFFD).
    std::string flush();

    // Bytes at the end of s that could still grow into a complete UTF-8 character.
    static size_t incomplete_utf8_tail(std::string_view s);

private:
    const Tokenizer* tokenizer_;
    std::vector<std::string> stops_;
    std::string pending_;  // produced but not yet emitted
    bool stopped_ = false;
};

}  // namespace pagoda
