// The whitespace pass Hugging Face's template environment runs before tokenizing
// (see lexer.h). Keeps, for every output byte, the source offset it came from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::jinja {

struct MappedText {
    std::string text;
    std::vector<uint32_t> offsets;  // offsets[i]: source offset of text[i]; one extra for the end
};

MappedText preprocess_template(std::string_view source, bool trim_blocks, bool lstrip_blocks);

}  // namespace pagoda::jinja
