// Hugging Face tokenizer.json loading: a BPE model with the normalizers, pre-tokenizers,
// post-processors and decoders Llama 3, Qwen 2/3, Mistral-style and GPT-2 tokenizers use,
// plus added tokens. tokenizer_config.json (when given) supplies bos/eos tokens,
// add_bos_token/add_eos_token and clean_up_tokenization_spaces, as transformers reads them.
// Unsupported component types are refused with the list of supported ones.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pagoda/status.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

// Files larger than this are refused before being read.
inline constexpr size_t kMaxTokenizerJsonBytes = size_t{512} << 20;

// Reads `tokenizer_json_path`, and tokenizer_config.json from the same folder when it exists.
Result<std::unique_ptr<Tokenizer>> load_hf_tokenizer(const std::string& tokenizer_json_path);

// Builds a tokenizer from file contents; `tokenizer_config_json` may be empty. `name`
// prefixes error messages.
Result<std::unique_ptr<Tokenizer>> parse_hf_tokenizer(std::string_view tokenizer_json,
                                                      std::string_view tokenizer_config_json,
                                                      const std::string& name = "tokenizer.json");

}  // namespace pagoda
