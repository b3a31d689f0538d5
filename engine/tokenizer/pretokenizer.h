// Pre-tokenizers: cut text into the pieces a BPE model encodes one by one. Regexes run on
// PCRE2 (UTF + UCP). Patterns are written in the Oniguruma dialect Hugging Face uses and
// are rewritten where PCRE2 differs: \s and \S mean Unicode White_Space, \w is
// Alphabetic/Mark/Nd/Pc, \h is a hex digit, and (?i:...) folds ASCII letters only (as
// llama.cpp's adapted patterns and tokenizers.js do). Invalid UTF-8 never reaches the
// regex engine: each invalid byte becomes a piece of its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/status.h"

namespace pagoda {

// How matches and the text between them become pieces (Hugging Face's Split behaviours).
enum class SplitBehavior { isolated, removed, merged_with_previous, merged_with_next, contiguous };

// Metaspace: when to put the replacement character in front of a piece.
enum class PrependScheme { always, first, never };

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Rewrites `pieces` in place (split further, transformed). `first_section` is true when
    // pieces[0] begins the whole input (not text after an added token).
    virtual void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const = 0;
};

// Oniguruma/HF pattern -> the PCRE2 pattern Pagoda compiles (exposed for tests).
std::string rewrite_pattern_for_pcre2(std::string_view pattern);

Result<std::unique_ptr<PreTokenizer>> make_regex_split(std::string_view pattern, SplitBehavior behavior,
                                                       bool invert = false);
// A literal string pattern (Split with {"String": ...}).
Result<std::unique_ptr<PreTokenizer>> make_literal_split(std::string_view text, SplitBehavior behavior,
                                                         bool invert = false);
// GPT-2 byte-level: optional prefix space, optional GPT-2 regex split, then every byte of
// every piece spelled in the byte-level alphabet.
Result<std::unique_ptr<PreTokenizer>> make_byte_level(bool add_prefix_space, bool use_regex);
// SentencePiece-style: spaces become `replacement`, which is prepended per `scheme`; with
// `split`, pieces are cut before each replacement character.
std::unique_ptr<PreTokenizer> make_metaspace(std::string replacement, PrependScheme scheme, bool split);
// Digits: runs of \p{Nd} (or single digits) isolated.
Result<std::unique_ptr<PreTokenizer>> make_digits(bool individual_digits);
std::unique_ptr<PreTokenizer> make_sequence(std::vector<std::unique_ptr<PreTokenizer>> steps);

// What llama.cpp does for a GGUF tokenizer.ggml.pre value: its regex list (each applied
// in turn, Isolated) and the flags it sets for that pre-tokenizer.
struct GgufPreType {
    std::vector<std::string> regexes;
    bool ignore_merges = false;  // a piece that is a whole token skips the merges
    bool add_bos = false;        // default for tokenizer.ggml.add_bos_token
    bool clean_spaces = true;    // decode() removes spaces before punctuation
};
// nullptr for names Pagoda does not know ("" and "default" are llama.cpp's default).
const GgufPreType* find_gguf_pre_type(std::string_view pre);
// Comma-separated list of the accepted tokenizer.ggml.pre values, for error messages.
std::string supported_gguf_pre_types();
// The regexes of `type`, then byte-level encoding (no prefix space).
Result<std::unique_ptr<PreTokenizer>> make_gguf_pre_tokenizer(const GgufPreType& type);

}  // namespace pagoda
