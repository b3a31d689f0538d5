// load_tokenizer(): reads tokenizer.ggml.* from a GGUF file into a VocabData, applying the
// defaults llama.cpp applies per tokenizer model, and builds the matching Tokenizer.
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "model/gguf_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/special_token_texts.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace pagoda {
namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr const char* kSupportedModels = "llama, gpt2";

std::string at(const GgufFile& gguf, std::string_view key) { return gguf.path() + ": " + std::string(key); }

Status read_optional_bool(const GgufFile& gguf, std::string_view key, bool& out) {
    const GgufValue* v = gguf.find(key);
    if (v == nullptr) return Status::ok();
    const std::optional<bool> b = v->as_bool();
    if (!b) return invalid_format(at(gguf, key) + " must be a bool, not " + gguf_value_type_name(v->type));
    out = *b;
    return Status::ok();
}

// An explicit special token id must name a token; a default that does not fit the
// vocabulary is dropped, as llama.cpp does.
Status read_special_id(const GgufFile& gguf, std::string_view key, size_t n_tokens, TokenId& id) {
    if (id >= 0 && static_cast<size_t>(id) >= n_tokens) id = -1;
    const GgufValue* v = gguf.find(key);
    if (v == nullptr) return Status::ok();
    const std::optional<int64_t> value = v->as_int();
    if (!value) return invalid_format(at(gguf, key) + " must be an integer, not " + gguf_value_type_name(v->type));
    if (*value < 0 || static_cast<uint64_t>(*value) >= n_tokens) {
        return invalid_format(at(gguf, key) + " = " + std::to_string(*value) + " is outside the vocabulary (" +
                              std::to_string(n_tokens) + " tokens)");
    }
    id = static_cast<TokenId>(*value);
    return Status::ok();
}

const GgufValue::Array* find_array(const GgufFile& gguf, std::string_view key, Status& status) {
    const GgufValue* v = gguf.find(key);
    if (v == nullptr) return nullptr;
    const GgufValue::Array* a = v->as_array();
    if (a == nullptr)
        status = invalid_format(at(gguf, key) + " must be an array, not " + gguf_value_type_name(v->type));
    return a;
}

Status read_tokens(const GgufFile& gguf, VocabData& data) {
    constexpr std::string_view key = "tokenizer.ggml.tokens";
    Status status;
    const GgufValue::Array* tokens = find_array(gguf, key, status);
    PAGODA_RETURN_IF_ERROR(status);
    if (tokens == nullptr) return invalid_format(gguf.path() + ": has no vocabulary (" + std::string(key) + ")");
    if (tokens->element_type != GgufValueType::STRING) {
        return invalid_format(at(gguf, key) + " must be an array of strings, not of " +
                              gguf_value_type_name(tokens->element_type));
    }
    if (tokens->items.empty()) return invalid_format(at(gguf, key) + ": the vocabulary is empty");
    if (tokens->items.size() > Vocab::kMaxTokens) {
        return invalid_format(at(gguf, key) + " has " + std::to_string(tokens->items.size()) +
                              " tokens, more than the " + std::to_string(Vocab::kMaxTokens) + " Pagoda accepts");
    }
    data.tokens.reserve(tokens->items.size());
    for (const GgufValue& item : tokens->items) {
        const std::string* s = item.as_string();
        if (s == nullptr) return invalid_format(at(gguf, key) + " holds a value that is not a string");
        data.tokens.push_back(*s);
    }
    return Status::ok();
}

Status read_scores(const GgufFile& gguf, VocabData& data) {
    constexpr std::string_view key = "tokenizer.ggml.scores";
    Status status;
    const GgufValue::Array* scores = find_array(gguf, key, status);
    PAGODA_RETURN_IF_ERROR(status);
    if (scores == nullptr) return Status::ok();
    if (scores->element_type != GgufValueType::FLOAT32 && scores->element_type != GgufValueType::INT32) {
        return invalid_format(at(gguf, key) + " must be an array of float32 or int32, not of " +
                              gguf_value_type_name(scores->element_type));
    }
    if (scores->items.size() != data.tokens.size()) {
        return invalid_format(at(gguf, key) + " has " + std::to_string(scores->items.size()) + " entries for " +
                              std::to_string(data.tokens.size()) + " tokens");
    }
    data.scores.reserve(scores->items.size());
    for (const GgufValue& item : scores->items) {
        const std::optional<double> f = item.as_float();
        const std::optional<int64_t> i = item.as_int();
        if (!f && !i) return invalid_format(at(gguf, key) + " holds a value that is not a number");
        data.scores.push_back(f ? static_cast<float>(*f) : static_cast<float>(*i));
    }
    return Status::ok();
}

Status read_token_types(const GgufFile& gguf, VocabData& data) {
    constexpr std::string_view key = "tokenizer.ggml.token_type";
    Status status;
    const GgufValue::Array* types = find_array(gguf, key, status);
    PAGODA_RETURN_IF_ERROR(status);
    if (types == nullptr) return Status::ok();
    if (types->items.size() != data.tokens.size()) {
        return invalid_format(at(gguf, key) + " has " + std::to_string(types->items.size()) + " entries for " +
                              std::to_string(data.tokens.size()) + " tokens");
    }
    data.types.reserve(types->items.size());
    for (size_t i = 0; i < types->items.size(); ++i) {
        const std::optional<int64_t> t = types->items[i].as_int();
        if (!t) {
            return invalid_format(at(gguf, key) + " must be an array of integers, not of " +
                                  gguf_value_type_name(types->element_type));
        }
        if (*t < 0 || *t > static_cast<int64_t>(TokenType::byte)) {
            return invalid_format(at(gguf, key) + ": token " + std::to_string(i) + " has unknown type " +
                                  std::to_string(*t));
        }
        data.types.push_back(static_cast<TokenType>(*t));
    }
    return Status::ok();
}

// llama.cpp recognizes some tokens by their text, whatever type the file gives them:
// end-of-generation and fill-in-the-middle tokens become control tokens (so they are
// parsed as special and hidden in output), a few gpt-oss tokens become user-defined.
void apply_llama_cpp_token_overrides(VocabData& data) {
    static constexpr std::string_view kUserDefined[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};
    if (data.types.empty()) data.types.assign(data.tokens.size(), TokenType::normal);
    auto find_text = [&](std::string_view text) -> long {
        for (size_t i = 0; i < data.tokens.size(); ++i) {
            if (data.tokens[i] == text) return static_cast<long>(i);
        }
        return -1;
    };
    std::unordered_set<std::string_view> control(std::begin(kEndOfGenerationTexts), std::end(kEndOfGenerationTexts));
    control.insert(std::begin(kFillInTheMiddleTexts), std::end(kFillInTheMiddleTexts));
    std::unordered_set<std::string_view> user(std::begin(kUserDefined), std::end(kUserDefined));
    for (size_t i = 0; i < data.tokens.size(); ++i) {
        if (control.count(data.tokens[i]) != 0) data.types[i] = TokenType::control;
        if (user.count(data.tokens[i]) != 0) data.types[i] = TokenType::user_defined;
    }
    // o200k_harmony / solar-open: "<|end|>" is not an end-of-generation token there.
    const long end = find_text("<|end|>");
    if (end >= 0 && ((find_text("<|return|>") >= 0 && find_text("<|call|>") >= 0) ||
                     (find_text("<|calls|>") >= 0 && find_text("<|flush|>") >= 0))) {
        data.types[static_cast<size_t>(end)] = TokenType::user_defined;
    }
    // Gemma 4: "</s>" stays a normal token.
    const long s_end = find_text("</s>");
    if (s_end >= 0 && find_text("<|tool_response>") >= 0) data.types[static_cast<size_t>(s_end)] = TokenType::normal;
}

Result<VocabData> read_common(const GgufFile& gguf, std::string model) {
    VocabData data;
    data.model = std::move(model);
    if (const std::string* pre = gguf.get_string("tokenizer.ggml.pre")) data.pre = *pre;
    PAGODA_RETURN_IF_ERROR(read_tokens(gguf, data));
    PAGODA_RETURN_IF_ERROR(read_scores(gguf, data));
    PAGODA_RETURN_IF_ERROR(read_token_types(gguf, data));
    return data;
}

Status read_specials(const GgufFile& gguf, VocabData& data) {
    const size_t n = data.tokens.size();
    SpecialTokens& sp = data.special;
    PAGODA_RETURN_IF_ERROR(read_special_id(gguf, "tokenizer.ggml.bos_token_id", n, sp.bos));
    PAGODA_RETURN_IF_ERROR(read_special_id(gguf, "tokenizer.ggml.eos_token_id", n, sp.eos));
    PAGODA_RETURN_IF_ERROR(read_special_id(gguf, "tokenizer.ggml.unknown_token_id", n, sp.unk));
    // Converted models often carry a padding id one past the vocabulary; llama.cpp ignores
    // it with a warning, and nothing here depends on it, so it is dropped instead of refused.
    {
        Status pad = read_special_id(gguf, "tokenizer.ggml.padding_token_id", n, sp.pad);
        if (!pad.is_ok()) {
            const GgufValue* v = gguf.find("tokenizer.ggml.padding_token_id");
            if (v == nullptr || !v->as_int()) return pad;
            sp.pad = -1;
        }
    }
    PAGODA_RETURN_IF_ERROR(read_optional_bool(gguf, "tokenizer.ggml.add_bos_token", sp.add_bos));
    PAGODA_RETURN_IF_ERROR(read_optional_bool(gguf, "tokenizer.ggml.add_eos_token", sp.add_eos));
    if (sp.add_bos && sp.bos < 0) {
        return invalid_format(gguf.path() + ": tokenizer.ggml.add_bos_token is true but there is no BOS token id");
    }
    if (sp.add_eos && sp.eos < 0) {
        return invalid_format(gguf.path() + ": tokenizer.ggml.add_eos_token is true but there is no EOS token id");
    }
    return Status::ok();
}

Result<std::unique_ptr<Tokenizer>> load_spm(const GgufFile& gguf) {
    Result<VocabData> read = read_common(gguf, "llama");
    if (!read) return read.status();
    VocabData data = std::move(read).value();
    // llama.cpp's defaults for SentencePiece vocabularies.
    data.special.bos = 1;
    data.special.eos = 2;
    data.special.unk = 0;
    data.special.pad = -1;
    data.special.add_bos = true;
    data.special.add_eos = false;
    data.add_space_prefix = true;
    PAGODA_RETURN_IF_ERROR(read_optional_bool(gguf, "tokenizer.ggml.add_space_prefix", data.add_space_prefix));
    PAGODA_RETURN_IF_ERROR(read_specials(gguf, data));
    apply_llama_cpp_token_overrides(data);

    Result<Vocab> vocab = Vocab::create(std::move(data));
    if (!vocab) return invalid_format(gguf.path() + ": " + vocab.status().message());
    return std::unique_ptr<Tokenizer>(std::make_unique<SpmTokenizer>(std::move(vocab).value()));
}

Status read_merges(const GgufFile& gguf, std::vector<std::pair<std::string, std::string>>& merges) {
    constexpr std::string_view key = "tokenizer.ggml.merges";
    Status status;
    const GgufValue::Array* array = find_array(gguf, key, status);
    PAGODA_RETURN_IF_ERROR(status);
    if (array == nullptr) return invalid_format(gguf.path() + ": a BPE vocabulary needs " + std::string(key));
    if (array->element_type != GgufValueType::STRING) {
        return invalid_format(at(gguf, key) + " must be an array of strings, not of " +
                              gguf_value_type_name(array->element_type));
    }
    merges.reserve(array->items.size());
    for (size_t i = 0; i < array->items.size(); ++i) {
        const std::string* merge = array->items[i].as_string();
        if (merge == nullptr) return invalid_format(at(gguf, key) + " holds a value that is not a string");
        // "left right"; the separator is searched from index 1 as llama.cpp does, so a
        // left part may itself start with a space.
        const size_t space = merge->find(' ', 1);
        if (space == std::string::npos) {
            return invalid_format(at(gguf, key) + ": merge " + std::to_string(i) + " '" + *merge +
                                  "' is not two tokens separated by a space");
        }
        merges.emplace_back(merge->substr(0, space), merge->substr(space + 1));
    }
    return Status::ok();
}

Result<std::unique_ptr<Tokenizer>> load_bpe(const GgufFile& gguf) {
    Result<VocabData> read = read_common(gguf, "gpt2");
    if (!read) return read.status();
    VocabData data = std::move(read).value();
    const GgufPreType* pre = find_gguf_pre_type(data.pre);
    if (pre == nullptr) {
        return unsupported(gguf.path() + ": tokenizer.ggml.pre is '" + data.pre +
                           "', which Pagoda does not support (supported: " + supported_gguf_pre_types() + ")");
    }
    std::vector<std::pair<std::string, std::string>> merges;
    PAGODA_RETURN_IF_ERROR(read_merges(gguf, merges));

    // llama.cpp's defaults for BPE vocabularies.
    data.special.bos = 11;
    data.special.eos = 11;
    data.special.unk = -1;
    data.special.pad = -1;
    data.special.add_bos = pre->add_bos;
    data.special.add_eos = false;
    // Encoding ignores it for BPE, but llama.cpp's detokenize still drops the first
    // token's leading space when a file sets it.
    data.add_space_prefix = false;
    PAGODA_RETURN_IF_ERROR(read_optional_bool(gguf, "tokenizer.ggml.add_space_prefix", data.add_space_prefix));
    PAGODA_RETURN_IF_ERROR(read_specials(gguf, data));
    apply_llama_cpp_token_overrides(data);

    std::vector<std::pair<std::string, TokenId>> model_tokens;
    model_tokens.reserve(data.tokens.size());
    for (size_t i = 0; i < data.tokens.size(); ++i) model_tokens.emplace_back(data.tokens[i], static_cast<TokenId>(i));

    Result<Vocab> vocab = Vocab::create(std::move(data));
    if (!vocab) return invalid_format(gguf.path() + ": " + vocab.status().message());
    BpeOptions options;
    options.ignore_merges = pre->ignore_merges;
    Result<BpeModel> model = BpeModel::create(model_tokens, merges, options);
    if (!model) return invalid_format(gguf.path() + ": " + model.status().message());
    Result<std::unique_ptr<PreTokenizer>> pre_tokenizer = make_gguf_pre_tokenizer(*pre);
    if (!pre_tokenizer) return pre_tokenizer.status();

    BpeTokenizer::Config config;
    config.vocab = std::move(vocab).value();
    config.model = std::move(model).value();
    config.pre_tokenizer = std::move(pre_tokenizer).value();
    config.decoder = make_byte_level_decoder();
    config.splitter = SpecialTokenSplitter::from_vocab(config.vocab);
    config.cleanup = pre->clean_spaces ? BpeTokenizer::Cleanup::llama_cpp : BpeTokenizer::Cleanup::none;
    return std::unique_ptr<Tokenizer>(std::make_unique<BpeTokenizer>(std::move(config)));
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const GgufFile& gguf) {
    const GgufValue* model_value = gguf.find(kModelKey);
    if (model_value == nullptr) {
        return not_found(gguf.path() + ": has no tokenizer (" + std::string(kModelKey) + " is missing)");
    }
    const std::string* model = model_value->as_string();
    if (model == nullptr) {
        return invalid_format(at(gguf, kModelKey) + " must be a string, not " +
                              gguf_value_type_name(model_value->type));
    }
    if (*model == "llama") return load_spm(gguf);
    if (*model == "gpt2") return load_bpe(gguf);
    return unsupported(at(gguf, kModelKey) + " is '" + *model +
                       "', which Pagoda does not support (supported: " + kSupportedModels + ")");
}

}  // namespace pagoda
