#include "tokenizer/hf_tokenizer_json.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/hf_components.h"

namespace pagoda {
namespace {

using hf::Json;

struct AddedToken {
    TokenId id = -1;
    std::string content;
    bool special = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
};

Result<std::string> read_whole_file(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return io_error(path + ": cannot read: " + ec.message());
    if (size > kMaxTokenizerJsonBytes) {
        return invalid_format(path + ": " + std::to_string(size) + " bytes is larger than a tokenizer file can be");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return io_error(path + ": cannot open");
    std::string text(static_cast<size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    if (static_cast<size_t>(in.gcount()) != size) return io_error(path + ": short read");
    return text;
}

Result<TokenId> read_id(const Json& j, const std::string& where) {
    if (!j.is_number_integer()) return invalid_format(where + " must be an integer token id");
    const int64_t id = j.get<int64_t>();
    if (id < 0 || static_cast<uint64_t>(id) >= Vocab::kMaxTokens) {
        return invalid_format(where + " = " + std::to_string(id) + " is not a usable token id");
    }
    return static_cast<TokenId>(id);
}

Status read_vocab(const Json& model, const std::string& name, std::vector<std::pair<std::string, TokenId>>& out) {
    auto it = model.find("vocab");
    if (it == model.end() || !it->is_object()) return invalid_format(name + ": model.vocab must be an object");
    if (it->size() > Vocab::kMaxTokens) return invalid_format(name + ": model.vocab has too many tokens");
    out.reserve(it->size());
    for (auto e = it->begin(); e != it->end(); ++e) {
        Result<TokenId> id = read_id(e.value(), name + ": model.vocab['" + e.key() + "']");
        if (!id) return id.status();
        out.emplace_back(e.key(), *id);
    }
    if (out.empty()) return invalid_format(name + ": model.vocab is empty");
    return Status::ok();
}

Status read_merges(const Json& model, const std::string& name, std::vector<std::pair<std::string, std::string>>& out) {
    auto it = model.find("merges");
    if (it == model.end() || it->is_null()) return Status::ok();
    if (!it->is_array()) return invalid_format(name + ": model.merges must be an array");
    out.reserve(it->size());
    for (size_t i = 0; i < it->size(); ++i) {
        const Json& m = (*it)[i];
        const std::string where = name + ": model.merges[" + std::to_string(i) + "]";
        if (m.is_string()) {  // "left right"
            const std::string s = m.get<std::string>();
            const size_t space = s.find(' ');
            if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
                return invalid_format(where + " '" + s + "' is not two tokens separated by one space");
            }
            out.emplace_back(s.substr(0, space), s.substr(space + 1));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["left", "right"]
            out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        } else {
            return invalid_format(where + " must be \"left right\" or [left, right]");
        }
    }
    return Status::ok();
}

Status read_added_tokens(const Json& root, const std::string& name, std::vector<AddedToken>& out) {
    auto it = root.find("added_tokens");
    if (it == root.end() || it->is_null()) return Status::ok();
    if (!it->is_array()) return invalid_format(name + ": added_tokens must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
        const Json& t = (*it)[i];
        const std::string where = name + ": added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object()) return invalid_format(where + " must be an object");
        AddedToken a;
        Result<TokenId> id = read_id(t.contains("id") ? t["id"] : Json(), where + ".id");
        if (!id) return id.status();
        a.id = *id;
        PAGODA_RETURN_IF_ERROR(hf::read_string(t, "content", a.content, where));
        if (a.content.empty()) return invalid_format(where + ".content is empty");
        PAGODA_RETURN_IF_ERROR(hf::read_bool(t, "special", a.special, where));
        PAGODA_RETURN_IF_ERROR(hf::read_bool(t, "lstrip", a.lstrip, where));
        PAGODA_RETURN_IF_ERROR(hf::read_bool(t, "rstrip", a.rstrip, where));
        a.normalized = !a.special;  // the default, as in tokenizers
        PAGODA_RETURN_IF_ERROR(hf::read_bool(t, "normalized", a.normalized, where));
        out.push_back(std::move(a));
    }
    return Status::ok();
}

// tokenizer_config.json's "bos_token" etc.: a string, an AddedToken object or null.
Status read_config_token(const Json& config, const char* key, std::string& out, bool& present,
                         const std::string& where) {
    present = false;
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return Status::ok();
    if (it->is_string()) {
        out = it->get<std::string>();
    } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
        out = (*it)["content"].get<std::string>();
    } else {
        return invalid_format(where + "." + key + " must be a string or an object with \"content\"");
    }
    present = true;
    return Status::ok();
}

Result<std::unique_ptr<Tokenizer>> build(const Json& root, const Json& config, const std::string& name) {
    if (!root.is_object()) return invalid_format(name + ": the top level is not a JSON object");
    auto model_it = root.find("model");
    if (model_it == root.end() || !model_it->is_object()) return invalid_format(name + ": has no \"model\" object");
    const Json& model = *model_it;
    std::string model_type = "BPE";
    PAGODA_RETURN_IF_ERROR(hf::read_string(model, "type", model_type, name + ": model"));
    if (model_type != "BPE") {
        return unsupported(name + ": model type '" + model_type + "' is not supported (supported: BPE)");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        std::string value;
        PAGODA_RETURN_IF_ERROR(hf::read_string(model, key, value, name + ": model"));
        if (!value.empty()) return unsupported(name + ": model." + key + " '" + value + "' is not supported");
    }
    if (auto d = model.find("dropout");
        d != model.end() && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0)) {
        return unsupported(name + ": BPE dropout is not supported");
    }

    std::vector<std::pair<std::string, TokenId>> model_vocab;
    PAGODA_RETURN_IF_ERROR(read_vocab(model, name, model_vocab));
    std::vector<std::pair<std::string, std::string>> merges;
    PAGODA_RETURN_IF_ERROR(read_merges(model, name, merges));
    std::vector<AddedToken> added;
    PAGODA_RETURN_IF_ERROR(read_added_tokens(root, name, added));

    // Every id gets a text and a type; ids no one names are unused placeholders.
    TokenId max_id = 0;
    for (const auto& [text, id] : model_vocab) max_id = std::max(max_id, id);
    for (const AddedToken& a : added) max_id = std::max(max_id, a.id);
    const size_t n = static_cast<size_t>(max_id) + 1;
    VocabData data;
    data.model = "gpt2";
    data.allow_duplicate_texts = true;
    data.add_space_prefix = false;
    data.tokens.assign(n, std::string());
    data.types.assign(n, TokenType::unused);
    std::vector<bool> named(n, false);
    for (const auto& [text, id] : model_vocab) {
        const auto i = static_cast<size_t>(id);
        if (named[i]) return invalid_format(name + ": model.vocab gives id " + std::to_string(id) + " to two tokens");
        named[i] = true;
        data.tokens[i] = text;
        data.types[i] = TokenType::normal;
    }
    for (const AddedToken& a : added) {
        const auto i = static_cast<size_t>(a.id);
        if (named[i] && data.tokens[i] != a.content) {
            return invalid_format(name + ": added token '" + a.content + "' reuses id " + std::to_string(a.id) +
                                  " of '" + data.tokens[i] + "'");
        }
        named[i] = true;
        data.tokens[i] = a.content;
        data.types[i] = a.special ? TokenType::control : TokenType::user_defined;
    }
    for (size_t i = 0; i < n; ++i) {
        if (!named[i]) data.tokens[i] = "<pagoda_unused_" + std::to_string(i) + ">";
    }

    // Token texts -> ids for the post-processor and the config; added tokens win.
    std::map<std::string, TokenId, std::less<>> token_ids;
    for (const auto& [text, id] : model_vocab) token_ids.emplace(text, id);
    for (const AddedToken& a : added) token_ids[a.content] = a.id;
    auto id_of = [&](const std::string& text, const std::string& where) -> Result<TokenId> {
        auto it = token_ids.find(text);
        if (it == token_ids.end()) return invalid_format(where + " '" + text + "' is not in the vocabulary");
        return it->second;
    };

    BpeOptions options;
    PAGODA_RETURN_IF_ERROR(hf::read_bool(model, "ignore_merges", options.ignore_merges, name + ": model"));
    PAGODA_RETURN_IF_ERROR(hf::read_bool(model, "byte_fallback", options.byte_fallback, name + ": model"));
    PAGODA_RETURN_IF_ERROR(hf::read_bool(model, "fuse_unk", options.fuse_unk, name + ": model"));
    std::string unk_token;
    PAGODA_RETURN_IF_ERROR(hf::read_string(model, "unk_token", unk_token, name + ": model"));
    if (!unk_token.empty()) {
        Result<TokenId> unk = id_of(unk_token, name + ": model.unk_token");
        if (!unk) return unk.status();
        options.unk = *unk;
        data.special.unk = *unk;
    }

    // Special tokens: the post-processor's template, then tokenizer_config.json on top.
    Result<hf::PostProcessing> post = hf::read_post_processor(
        root.contains("post_processor") ? root["post_processor"] : Json(), name + ": post_processor", token_ids);
    if (!post) return post.status();
    data.special.bos = post->prefix;
    data.special.eos = post->suffix;
    data.special.add_bos = post->prefix >= 0;
    data.special.add_eos = post->suffix >= 0;
    bool clean_up = false;
    if (config.is_object()) {
        const std::string where = name + ": tokenizer_config.json";
        std::string text;
        bool present = false;
        PAGODA_RETURN_IF_ERROR(read_config_token(config, "bos_token", text, present, where));
        if (present) {
            Result<TokenId> id = id_of(text, where + ".bos_token");
            if (!id) return id.status();
            data.special.bos = *id;
        }
        PAGODA_RETURN_IF_ERROR(read_config_token(config, "eos_token", text, present, where));
        if (present) {
            Result<TokenId> id = id_of(text, where + ".eos_token");
            if (!id) return id.status();
            data.special.eos = *id;
        }
        PAGODA_RETURN_IF_ERROR(read_config_token(config, "pad_token", text, present, where));
        if (present) {
            Result<TokenId> id = id_of(text, where + ".pad_token");
            if (!id) return id.status();
            data.special.pad = *id;
        }
        PAGODA_RETURN_IF_ERROR(hf::read_bool(config, "add_bos_token", data.special.add_bos, where));
        PAGODA_RETURN_IF_ERROR(hf::read_bool(config, "add_eos_token", data.special.add_eos, where));
        PAGODA_RETURN_IF_ERROR(hf::read_bool(config, "clean_up_tokenization_spaces", clean_up, where));
    }
    // The template's token is the one added, whatever the config calls BOS.
    if (data.special.add_bos && post->prefix >= 0) data.special.bos = post->prefix;
    if (data.special.add_eos && post->suffix >= 0) data.special.eos = post->suffix;

    BpeTokenizer::Config cfg;
    Result<std::unique_ptr<Normalizer>> normalizer =
        hf::make_normalizer(root.contains("normalizer") ? root["normalizer"] : Json(), name + ": normalizer");
    if (!normalizer) return normalizer.status();
    cfg.normalizer = std::move(normalizer).value();
    Result<std::unique_ptr<PreTokenizer>> pre = hf::make_pre_tokenizer(
        root.contains("pre_tokenizer") ? root["pre_tokenizer"] : Json(), name + ": pre_tokenizer");
    if (!pre) return pre.status();
    cfg.pre_tokenizer = std::move(pre).value();
    Result<std::unique_ptr<TokenDecoder>> decoder =
        hf::make_decoder(root.contains("decoder") ? root["decoder"] : Json(), name + ": decoder");
    if (!decoder) return decoder.status();
    cfg.decoder = std::move(decoder).value();

    // Added tokens: those with normalized = false are matched in the raw text, the others
    // in the normalized text (with their content normalized the same way).
    std::vector<SpecialTokenSplitter::Entry> raw_entries, normalized_entries;
    for (const AddedToken& a : added) {
        SpecialTokenSplitter::Entry e{a.id, a.content, !a.special, a.lstrip, a.rstrip};
        if (a.normalized && cfg.normalizer) {
            e.text = cfg.normalizer->normalize(a.content);
            normalized_entries.push_back(std::move(e));
        } else {
            raw_entries.push_back(std::move(e));
        }
    }
    cfg.splitter = SpecialTokenSplitter(std::move(raw_entries), SpecialTokenSplitter::Strategy::leftmost_longest);
    cfg.normalized_splitter =
        SpecialTokenSplitter(std::move(normalized_entries), SpecialTokenSplitter::Strategy::leftmost_longest);

    Result<Vocab> vocab = Vocab::create(std::move(data));
    if (!vocab) return invalid_format(name + ": " + vocab.status().message());
    Result<BpeModel> bpe = BpeModel::create(model_vocab, merges, options);
    if (!bpe) return invalid_format(name + ": " + bpe.status().message());
    cfg.vocab = std::move(vocab).value();
    cfg.model = std::move(bpe).value();
    cfg.hugging_face_decode = true;
    cfg.cleanup = clean_up ? BpeTokenizer::Cleanup::hugging_face : BpeTokenizer::Cleanup::none;
    return std::unique_ptr<Tokenizer>(std::make_unique<BpeTokenizer>(std::move(cfg)));
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> parse_hf_tokenizer(std::string_view tokenizer_json,
                                                      std::string_view tokenizer_config_json, const std::string& name) {
    if (tokenizer_json.size() > kMaxTokenizerJsonBytes) return invalid_format(name + ": too large");
    // nlohmann-json reports errors by exception; none may leave the engine.
    try {
        const Json root = Json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
        if (root.is_discarded()) return invalid_format(name + ": not valid JSON");
        Json config;
        if (!tokenizer_config_json.empty()) {
            config = Json::parse(tokenizer_config_json, nullptr, false);
            if (config.is_discarded() || !config.is_object()) {
                return invalid_format(name + ": tokenizer_config.json is not a JSON object");
            }
        }
        return build(root, config, name);
    } catch (const std::exception& e) {
        return invalid_format(name + ": " + e.what());
    }
}

Result<std::unique_ptr<Tokenizer>> load_hf_tokenizer(const std::string& tokenizer_json_path) {
    Result<std::string> json = read_whole_file(tokenizer_json_path);
    if (!json) return json.status();
    std::string config;
    const auto config_path = std::filesystem::path(tokenizer_json_path).parent_path() / "tokenizer_config.json";
    std::error_code ec;
    if (std::filesystem::is_regular_file(config_path, ec)) {
        Result<std::string> c = read_whole_file(config_path.string());
        if (!c) return c.status();
        config = std::move(c).value();
    }
    return parse_hf_tokenizer(*json, config, tokenizer_json_path);
}

}  // namespace pagoda
