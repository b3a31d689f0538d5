// Hugging Face tokenizer.json normalizers (text -> text before pre-tokenizing) and
// decoders (token texts -> output text), the kinds Pagoda supports.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual std::string normalize(std::string_view text) const = 0;
};

std::unique_ptr<Normalizer> make_nfc_normalizer();
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prefix);                        // non-empty text only
std::unique_ptr<Normalizer> make_replace_normalizer(std::string pattern, std::string content);  // literal
std::unique_ptr<Normalizer> make_normalizer_sequence(std::vector<std::unique_ptr<Normalizer>> steps);

class TokenDecoder {
public:
    virtual ~TokenDecoder() = default;
    // Transforms the list of token texts in place (Hugging Face's decode_chain).
    // `starts_text`: tokens[0] is the first token of the output.
    virtual void decode_chain(std::vector<std::string>& tokens, bool starts_text) const = 0;
    // True for steps that look across tokens (Fuse, Strip): decode_token skips them.
    virtual bool positional() const { return false; }
    // One token on its own, not at the start of the text (token_to_piece).
    virtual void decode_token(std::string& token) const;
};

std::unique_ptr<TokenDecoder> make_byte_level_decoder();
std::unique_ptr<TokenDecoder> make_replace_decoder(std::string pattern, std::string content);  // literal
std::unique_ptr<TokenDecoder> make_byte_fallback_decoder();                                    // "<0xXX>" -> that byte
std::unique_ptr<TokenDecoder> make_fuse_decoder();
std::unique_ptr<TokenDecoder> make_strip_decoder(std::string content, size_t start, size_t stop);
// Replacement -> space; the first token of the text loses a leading space when
// `strip_leading_space` (prepend scheme other than "never").
std::unique_ptr<TokenDecoder> make_metaspace_decoder(std::string replacement, bool strip_leading_space);
std::unique_ptr<TokenDecoder> make_decoder_sequence(std::vector<std::unique_ptr<TokenDecoder>> steps);

// Hugging Face's clean_up_tokenization: drops the space before . ? ! , and English
// contractions ("do n't" -> "don't").
std::string clean_up_tokenization(std::string_view text);

// llama.cpp's clean_spaces passes for BPE vocabularies (detokenize).
std::string llama_cpp_clean_spaces(std::string_view text);

}  // namespace pagoda
