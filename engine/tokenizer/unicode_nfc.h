// Unicode NFC normalization (canonical decomposition, canonical ordering, canonical
// composition), for tokenizer.json "NFC" normalizers (Qwen). Invalid UTF-8 bytes are
// kept as they are and break composition around them.
#pragma once

#include <string>
#include <string_view>

namespace pagoda {

std::string to_nfc(std::string_view text);

}  // namespace pagoda
