// tokenizer.json component objects (normalizer, pre_tokenizer, decoder, post_processor)
// turned into Pagoda's pieces. Internal to hf_tokenizer_json.cpp; nlohmann-json stays out
// of every other header.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "pagoda/status.h"
#include "pagoda/types.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/text_transforms.h"

namespace pagoda::hf {

using Json = nlohmann::json;

// Sequences nest; deeper than this is refused (hostile files must not exhaust the stack).
inline constexpr int kMaxNesting = 16;

// A null/absent component gives a null pointer. `where` names the JSON path in errors.
Result<std::unique_ptr<Normalizer>> make_normalizer(const Json& j, const std::string& where, int depth = 0);
Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const Json& j, const std::string& where, int depth = 0);
Result<std::unique_ptr<TokenDecoder>> make_decoder(const Json& j, const std::string& where, int depth = 0);

// What a post_processor adds around a single sequence: at most one token on each side.
struct PostProcessing {
    TokenId prefix = -1;  // added at the start (BOS) when add_special
    TokenId suffix = -1;  // added at the end (EOS)
};
// `token_ids` resolves token texts (TemplateProcessing names, Bert/Roberta pairs).
Result<PostProcessing> read_post_processor(const Json& j, const std::string& where,
                                           const std::map<std::string, TokenId, std::less<>>& token_ids, int depth = 0);

// Small typed readers; a present value of the wrong type is an error naming `where.key`.
Status read_bool(const Json& obj, const char* key, bool& out, const std::string& where);
Status read_string(const Json& obj, const char* key, std::string& out, const std::string& where);
Status read_size(const Json& obj, const char* key, size_t& out, const std::string& where);
// {"String": s} or {"Regex": r}; `is_regex` says which.
Status read_pattern(const Json& obj, std::string& pattern, bool& is_regex, const std::string& where);

}  // namespace pagoda::hf
