#include "tokenizer/text_transforms.h"

#include <utility>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    if (from.empty()) return std::string(text);
    std::string out;
    out.reserve(text.size());
    size_t start = 0;
    for (size_t pos = text.find(from); pos != std::string_view::npos; pos = text.find(from, start)) {
        out.append(text.substr(start, pos - start));
        out.append(to);
        start = pos + from.size();
    }
    out.append(text.substr(start));
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// ---- normalizers -----------------------------------------------------------------------

class NfcNormalizer final : public Normalizer {
public:
    std::string normalize(std::string_view text) const override { return to_nfc(text); }
};

class PrependNormalizer final : public Normalizer {
public:
    explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
    std::string normalize(std::string_view text) const override {
        if (text.empty()) return {};
        return prefix_ + std::string(text);
    }

private:
    std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
public:
    ReplaceNormalizer(std::string pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    std::string normalize(std::string_view text) const override { return replace_all(text, pattern_, content_); }

private:
    std::string pattern_, content_;
};

class NormalizerSequence final : public Normalizer {
public:
    explicit NormalizerSequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
    std::string normalize(std::string_view text) const override {
        std::string s(text);
        for (const auto& step : steps_) s = step->normalize(s);
        return s;
    }

private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

// ---- decoders --------------------------------------------------------------------------

class ByteLevelDecoder final : public TokenDecoder {
public:
    void decode_chain(std::vector<std::string>& tokens, bool) const override {
        for (std::string& t : tokens) t = byte_level::decode(t);
    }
};

class ReplaceDecoder final : public TokenDecoder {
public:
    ReplaceDecoder(std::string pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void decode_chain(std::vector<std::string>& tokens, bool) const override {
        for (std::string& t : tokens) t = replace_all(t, pattern_, content_);
    }

private:
    std::string pattern_, content_;
};

class ByteFallbackDecoder final : public TokenDecoder {
public:
    void decode_chain(std::vector<std::string>& tokens, bool) const override {
        for (std::string& t : tokens) {
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
                const int hi = hex_value(t[3]);
                const int lo = hex_value(t[4]);
                if (hi >= 0 && lo >= 0) t = std::string(1, static_cast<char>(hi * 16 + lo));
            }
        }
    }
};

class FuseDecoder final : public TokenDecoder {
public:
    void decode_chain(std::vector<std::string>& tokens, bool) const override {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, std::move(all));
    }
    bool positional() const override { return true; }
};

class StripDecoder final : public TokenDecoder {
public:
    StripDecoder(std::string content, size_t start, size_t stop)
        : content_(std::move(content)), start_(start), stop_(stop) {}
    void decode_chain(std::vector<std::string>& tokens, bool) const override {
        if (content_.empty()) return;
        for (std::string& t : tokens) {
            size_t begin = 0;
            for (size_t i = 0; i < start_ && t.compare(begin, content_.size(), content_) == 0; ++i) {
                begin += content_.size();
            }
            size_t end = t.size();
            for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                               t.compare(end - content_.size(), content_.size(), content_) == 0;
                 ++i) {
                end -= content_.size();
            }
            t = t.substr(begin, end - begin);
        }
    }
    bool positional() const override { return true; }

private:
    std::string content_;
    size_t start_, stop_;
};

class MetaspaceDecoder final : public TokenDecoder {
public:
    MetaspaceDecoder(std::string replacement, bool strip_leading_space)
        : replacement_(std::move(replacement)), strip_(strip_leading_space) {}
    void decode_chain(std::vector<std::string>& tokens, bool starts_text) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            std::string t = replace_all(tokens[i], replacement_, " ");
            if (strip_ && starts_text && i == 0 && !t.empty() && t[0] == ' ') t.erase(0, 1);
            tokens[i] = std::move(t);
        }
    }

private:
    std::string replacement_;
    bool strip_;
};

class DecoderSequence final : public TokenDecoder {
public:
    explicit DecoderSequence(std::vector<std::unique_ptr<TokenDecoder>> steps) : steps_(std::move(steps)) {}
    void decode_chain(std::vector<std::string>& tokens, bool starts_text) const override {
        for (const auto& step : steps_) step->decode_chain(tokens, starts_text);
    }
    void decode_token(std::string& token) const override {
        for (const auto& step : steps_) step->decode_token(token);
    }
    bool positional() const override {
        for (const auto& step : steps_) {
            if (step->positional()) return true;
        }
        return false;
    }

private:
    std::vector<std::unique_ptr<TokenDecoder>> steps_;
};

}  // namespace

void TokenDecoder::decode_token(std::string& token) const {
    if (positional()) return;
    std::vector<std::string> one(1, std::move(token));
    decode_chain(one, false);
    token = one.empty() ? std::string() : std::move(one[0]);
}

std::unique_ptr<Normalizer> make_nfc_normalizer() { return std::make_unique<NfcNormalizer>(); }
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prefix) {
    return std::make_unique<PrependNormalizer>(std::move(prefix));
}
std::unique_ptr<Normalizer> make_replace_normalizer(std::string pattern, std::string content) {
    return std::make_unique<ReplaceNormalizer>(std::move(pattern), std::move(content));
}
std::unique_ptr<Normalizer> make_normalizer_sequence(std::vector<std::unique_ptr<Normalizer>> steps) {
    return std::make_unique<NormalizerSequence>(std::move(steps));
}

std::unique_ptr<TokenDecoder> make_byte_level_decoder() { return std::make_unique<ByteLevelDecoder>(); }
std::unique_ptr<TokenDecoder> make_replace_decoder(std::string pattern, std::string content) {
    return std::make_unique<ReplaceDecoder>(std::move(pattern), std::move(content));
}
std::unique_ptr<TokenDecoder> make_byte_fallback_decoder() { return std::make_unique<ByteFallbackDecoder>(); }
std::unique_ptr<TokenDecoder> make_fuse_decoder() { return std::make_unique<FuseDecoder>(); }
std::unique_ptr<TokenDecoder> make_strip_decoder(std::string content, size_t start, size_t stop) {
    return std::make_unique<StripDecoder>(std::move(content), start, stop);
}
std::unique_ptr<TokenDecoder> make_metaspace_decoder(std::string replacement, bool strip_leading_space) {
    return std::make_unique<MetaspaceDecoder>(std::move(replacement), strip_leading_space);
}
std::unique_ptr<TokenDecoder> make_decoder_sequence(std::vector<std::unique_ptr<TokenDecoder>> steps) {
    return std::make_unique<DecoderSequence>(std::move(steps));
}

std::string clean_up_tokenization(std::string_view text) {
    static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    std::string s(text);
    for (const auto& [from, to] : kRules) s = replace_all(s, from, to);
    return s;
}

std::string llama_cpp_clean_spaces(std::string_view input) {
    // A literal port of llama.cpp's three in-place passes, so edge cases agree.
    std::string text(input);
    int32_t total = static_cast<int32_t>(text.size());

    // Pass 1: " ?", " !", " .", " ," lose the space.
    const int32_t total1 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < total1; ++i) {
        const char x = text[static_cast<size_t>(i)];
        if (text[static_cast<size_t>(i - 1)] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
        text[static_cast<size_t>(total++)] = x;
    }
    // Pass 2: " ' " -> "'".
    const int32_t total2 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < total2; ++i) {
        const char x = text[static_cast<size_t>(i)];
        if (x == '\'' && i + 1 < total2 && text[static_cast<size_t>(i - 1)] == ' ' &&
            text[static_cast<size_t>(i + 1)] == ' ') {
            --total;
            text[static_cast<size_t>(++i)] = '\0';
        }
        text[static_cast<size_t>(total++)] = x;
    }
    // Pass 3: " 's", " 'm", " 're", " 've" lose the space.
    const int32_t total3 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < total3; ++i) {
        const char x = text[static_cast<size_t>(i)];
        if (text[static_cast<size_t>(i - 1)] == ' ' && x == '\'' && i + 1 < total3) {
            const char x1 = text[static_cast<size_t>(i + 1)];
            if (x1 == 't' || x1 == 'd') {
                // kept
            } else if (x1 == 's' || x1 == 'm') {
                --total;
            } else if (i + 2 < total3) {
                const char x2 = text[static_cast<size_t>(i + 2)];
                if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
            }
        }
        text[static_cast<size_t>(total++)] = x;
    }
    text.resize(static_cast<size_t>(total));
    return text;
}

}  // namespace pagoda
