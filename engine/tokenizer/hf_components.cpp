#include "tokenizer/hf_components.h"

#include <utility>
#include <vector>

namespace pagoda::hf {
namespace {

std::string type_of(const Json& j) {
    if (!j.is_object()) return {};
    auto it = j.find("type");
    return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

Status unsupported_type(const std::string& where, const std::string& type, const char* supported) {
    if (type.empty()) return invalid_format(where + " has no \"type\"");
    return unsupported(where + " type '" + type + "' is not supported (supported: " + supported + ")");
}

Status expect_array(const Json& obj, const char* key, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_array()) return invalid_format(where + "." + key + " must be an array");
    return Status::ok();
}

Result<SplitBehavior> read_behavior(const Json& j, const std::string& where) {
    std::string name = "Isolated";
    PAGODA_RETURN_IF_ERROR(read_string(j, "behavior", name, where));
    if (name == "Isolated") return SplitBehavior::isolated;
    if (name == "Removed") return SplitBehavior::removed;
    if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
    if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
    if (name == "Contiguous") return SplitBehavior::contiguous;
    return invalid_format(where + ".behavior '" + name + "' is not a split behaviour");
}

// Metaspace's prepend scheme, from prepend_scheme or the older add_prefix_space.
Result<PrependScheme> read_prepend_scheme(const Json& j, const std::string& where) {
    auto it = j.find("prepend_scheme");
    if (it != j.end() && !it->is_null()) {
        if (!it->is_string()) return invalid_format(where + ".prepend_scheme must be a string");
        const std::string s = it->get<std::string>();
        if (s == "always") return PrependScheme::always;
        if (s == "first") return PrependScheme::first;
        if (s == "never") return PrependScheme::never;
        return invalid_format(where + ".prepend_scheme '" + s + "' is not always, first or never");
    }
    bool add_prefix_space = true;
    PAGODA_RETURN_IF_ERROR(read_bool(j, "add_prefix_space", add_prefix_space, where));
    return add_prefix_space ? PrependScheme::always : PrependScheme::never;
}

Result<std::string> read_replacement(const Json& j, const std::string& where) {
    std::string replacement = "\xE2\x96\x81";
    PAGODA_RETURN_IF_ERROR(read_string(j, "replacement", replacement, where));
    if (replacement.empty()) return invalid_format(where + ".replacement is empty");
    return replacement;
}

Result<TokenId> resolve(const std::string& text, const std::map<std::string, TokenId, std::less<>>& token_ids,
                        const std::string& where) {
    auto it = token_ids.find(text);
    if (it == token_ids.end())
        return invalid_format(where + " names token '" + text + "', which is not in the vocabulary");
    return it->second;
}

Status merge_post(PostProcessing& into, const PostProcessing& from, const std::string& where) {
    if (from.prefix >= 0) {
        if (into.prefix >= 0) return unsupported(where + " adds more than one token in front of the text");
        into.prefix = from.prefix;
    }
    if (from.suffix >= 0) {
        if (into.suffix >= 0) return unsupported(where + " adds more than one token after the text");
        into.suffix = from.suffix;
    }
    return Status::ok();
}

}  // namespace

Status read_bool(const Json& obj, const char* key, bool& out, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_boolean()) return invalid_format(where + "." + key + " must be a boolean");
    out = it->get<bool>();
    return Status::ok();
}

Status read_string(const Json& obj, const char* key, std::string& out, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_string()) return invalid_format(where + "." + key + " must be a string");
    out = it->get<std::string>();
    return Status::ok();
}

Status read_size(const Json& obj, const char* key, size_t& out, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
        return invalid_format(where + "." + key + " must be a non-negative integer");
    }
    out = it->get<size_t>();
    return Status::ok();
}

Status read_pattern(const Json& obj, std::string& pattern, bool& is_regex, const std::string& where) {
    auto it = obj.find("pattern");
    if (it == obj.end() || !it->is_object()) return invalid_format(where + ".pattern must be an object");
    if (auto s = it->find("String"); s != it->end() && s->is_string()) {
        pattern = s->get<std::string>();
        is_regex = false;
        return Status::ok();
    }
    if (auto r = it->find("Regex"); r != it->end() && r->is_string()) {
        pattern = r->get<std::string>();
        is_regex = true;
        return Status::ok();
    }
    return invalid_format(where + ".pattern must hold a \"String\" or a \"Regex\"");
}

Result<std::unique_ptr<Normalizer>> make_normalizer(const Json& j, const std::string& where, int depth) {
    if (j.is_null()) return std::unique_ptr<Normalizer>();
    if (depth > kMaxNesting) return invalid_format(where + " nests too deeply");
    const std::string type = type_of(j);
    if (type == "NFC") return make_nfc_normalizer();
    if (type == "Prepend") {
        std::string prepend;
        PAGODA_RETURN_IF_ERROR(read_string(j, "prepend", prepend, where));
        return make_prepend_normalizer(std::move(prepend));
    }
    if (type == "Replace") {
        std::string pattern, content;
        bool is_regex = false;
        PAGODA_RETURN_IF_ERROR(read_pattern(j, pattern, is_regex, where));
        PAGODA_RETURN_IF_ERROR(read_string(j, "content", content, where));
        if (is_regex) return unsupported(where + ": a Replace normalizer with a Regex pattern is not supported");
        return make_replace_normalizer(std::move(pattern), std::move(content));
    }
    if (type == "Sequence") {
        PAGODA_RETURN_IF_ERROR(expect_array(j, "normalizers", where));
        std::vector<std::unique_ptr<Normalizer>> steps;
        const Json& list = j["normalizers"];
        for (size_t i = 0; i < list.size(); ++i) {
            Result<std::unique_ptr<Normalizer>> step =
                make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]", depth + 1);
            if (!step) return step.status();
            if (*step) steps.push_back(std::move(step).value());
        }
        return make_normalizer_sequence(std::move(steps));
    }
    return unsupported_type(where, type, "NFC, Prepend, Replace, Sequence");
}

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const Json& j, const std::string& where, int depth) {
    if (j.is_null()) return std::unique_ptr<PreTokenizer>();
    if (depth > kMaxNesting) return invalid_format(where + " nests too deeply");
    const std::string type = type_of(j);
    if (type == "Split") {
        std::string pattern;
        bool is_regex = false;
        bool invert = false;
        PAGODA_RETURN_IF_ERROR(read_pattern(j, pattern, is_regex, where));
        PAGODA_RETURN_IF_ERROR(read_bool(j, "invert", invert, where));
        Result<SplitBehavior> behavior = read_behavior(j, where);
        if (!behavior) return behavior.status();
        Result<std::unique_ptr<PreTokenizer>> split =
            is_regex ? make_regex_split(pattern, *behavior, invert) : make_literal_split(pattern, *behavior, invert);
        if (!split) return invalid_format(where + ": " + split.status().message());
        return split;
    }
    if (type == "ByteLevel") {
        bool add_prefix_space = true;
        bool use_regex = true;
        PAGODA_RETURN_IF_ERROR(read_bool(j, "add_prefix_space", add_prefix_space, where));
        PAGODA_RETURN_IF_ERROR(read_bool(j, "use_regex", use_regex, where));
        return make_byte_level(add_prefix_space, use_regex);
    }
    if (type == "Metaspace") {
        Result<std::string> replacement = read_replacement(j, where);
        if (!replacement) return replacement.status();
        Result<PrependScheme> scheme = read_prepend_scheme(j, where);
        if (!scheme) return scheme.status();
        bool split = true;
        PAGODA_RETURN_IF_ERROR(read_bool(j, "split", split, where));
        return make_metaspace(std::move(replacement).value(), *scheme, split);
    }
    if (type == "Digits") {
        bool individual = false;
        PAGODA_RETURN_IF_ERROR(read_bool(j, "individual_digits", individual, where));
        return make_digits(individual);
    }
    if (type == "Whitespace") return make_regex_split("\\w+|[^\\w\\s]+", SplitBehavior::removed, /*invert=*/true);
    if (type == "WhitespaceSplit") return make_regex_split("\\s+", SplitBehavior::removed, false);
    if (type == "Sequence") {
        PAGODA_RETURN_IF_ERROR(expect_array(j, "pretokenizers", where));
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        const Json& list = j["pretokenizers"];
        for (size_t i = 0; i < list.size(); ++i) {
            Result<std::unique_ptr<PreTokenizer>> step =
                make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", depth + 1);
            if (!step) return step.status();
            if (*step) steps.push_back(std::move(step).value());
        }
        return make_sequence(std::move(steps));
    }
    return unsupported_type(where, type, "Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence");
}

Result<std::unique_ptr<TokenDecoder>> make_decoder(const Json& j, const std::string& where, int depth) {
    if (j.is_null()) return std::unique_ptr<TokenDecoder>();
    if (depth > kMaxNesting) return invalid_format(where + " nests too deeply");
    const std::string type = type_of(j);
    if (type == "ByteLevel") return make_byte_level_decoder();
    if (type == "ByteFallback") return make_byte_fallback_decoder();
    if (type == "Fuse") return make_fuse_decoder();
    if (type == "Metaspace") {
        Result<std::string> replacement = read_replacement(j, where);
        if (!replacement) return replacement.status();
        Result<PrependScheme> scheme = read_prepend_scheme(j, where);
        if (!scheme) return scheme.status();
        return make_metaspace_decoder(std::move(replacement).value(), *scheme != PrependScheme::never);
    }
    if (type == "Replace") {
        std::string pattern, content;
        bool is_regex = false;
        PAGODA_RETURN_IF_ERROR(read_pattern(j, pattern, is_regex, where));
        PAGODA_RETURN_IF_ERROR(read_string(j, "content", content, where));
        if (is_regex) return unsupported(where + ": a Replace decoder with a Regex pattern is not supported");
        return make_replace_decoder(std::move(pattern), std::move(content));
    }
    if (type == "Strip") {
        std::string content = " ";
        size_t start = 0, stop = 0;
        PAGODA_RETURN_IF_ERROR(read_string(j, "content", content, where));
        PAGODA_RETURN_IF_ERROR(read_size(j, "start", start, where));
        PAGODA_RETURN_IF_ERROR(read_size(j, "stop", stop, where));
        return make_strip_decoder(std::move(content), start, stop);
    }
    if (type == "Sequence") {
        PAGODA_RETURN_IF_ERROR(expect_array(j, "decoders", where));
        std::vector<std::unique_ptr<TokenDecoder>> steps;
        const Json& list = j["decoders"];
        for (size_t i = 0; i < list.size(); ++i) {
            Result<std::unique_ptr<TokenDecoder>> step =
                make_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]", depth + 1);
            if (!step) return step.status();
            if (*step) steps.push_back(std::move(step).value());
        }
        return make_decoder_sequence(std::move(steps));
    }
    return unsupported_type(where, type, "ByteLevel, ByteFallback, Fuse, Metaspace, Replace, Strip, Sequence");
}

Result<PostProcessing> read_post_processor(const Json& j, const std::string& where,
                                           const std::map<std::string, TokenId, std::less<>>& token_ids, int depth) {
    PostProcessing post;
    if (j.is_null()) return post;
    if (depth > kMaxNesting) return invalid_format(where + " nests too deeply");
    const std::string type = type_of(j);
    if (type == "ByteLevel") return post;  // only offsets change
    if (type == "TemplateProcessing") {
        PAGODA_RETURN_IF_ERROR(expect_array(j, "single", where));
        const Json& single = j["single"];
        const Json* specials =
            j.contains("special_tokens") && j["special_tokens"].is_object() ? &j["special_tokens"] : nullptr;
        bool seen_sequence = false;
        for (size_t i = 0; i < single.size(); ++i) {
            const std::string item_where = where + ".single[" + std::to_string(i) + "]";
            const Json& item = single[i];
            if (item.is_object() && item.contains("Sequence")) {
                seen_sequence = true;
                continue;
            }
            if (!item.is_object() || !item.contains("SpecialToken") || !item["SpecialToken"].is_object()) {
                return invalid_format(item_where + " is neither a Sequence nor a SpecialToken");
            }
            std::string name;
            PAGODA_RETURN_IF_ERROR(read_string(item["SpecialToken"], "id", name, item_where + ".SpecialToken"));
            TokenId id = -1;
            if (specials != nullptr && specials->contains(name)) {
                const Json& entry = (*specials)[name];
                if (!entry.is_object() || !entry.contains("ids") || !entry["ids"].is_array() ||
                    entry["ids"].size() != 1 || !entry["ids"][0].is_number_integer()) {
                    return unsupported(where + ".special_tokens['" + name + "'] must map to exactly one id");
                }
                id = entry["ids"][0].get<TokenId>();
            } else {
                Result<TokenId> r = resolve(name, token_ids, item_where);
                if (!r) return r.status();
                id = *r;
            }
            PostProcessing one;
            (seen_sequence ? one.suffix : one.prefix) = id;
            PAGODA_RETURN_IF_ERROR(merge_post(post, one, where));
        }
        return post;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        for (const char* key : {"cls", "sep"}) {
            auto it = j.find(key);
            if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[1].is_number_integer()) {
                return invalid_format(where + "." + key + " must be [token, id]");
            }
            (std::string(key) == "cls" ? post.prefix : post.suffix) = (*it)[1].get<TokenId>();
        }
        return post;
    }
    if (type == "Sequence") {
        PAGODA_RETURN_IF_ERROR(expect_array(j, "processors", where));
        const Json& list = j["processors"];
        for (size_t i = 0; i < list.size(); ++i) {
            Result<PostProcessing> one =
                read_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]", token_ids, depth + 1);
            if (!one) return one.status();
            PAGODA_RETURN_IF_ERROR(merge_post(post, *one, where));
        }
        return post;
    }
    return unsupported_type(where, type, "ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing, Sequence");
}

}  // namespace pagoda::hf
