#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <utility>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

using Span = std::pair<size_t, size_t>;  // [begin, end) in the piece

constexpr const char* kWordChars = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char other_case(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : static_cast<char>(c + 32); }

// ---- PCRE2 plumbing --------------------------------------------------------------------

struct CompiledRegex {
    pcre2_code* code = nullptr;
    ~CompiledRegex() { pcre2_code_free(code); }
};

// Match data and a JIT stack per thread: tokenizers are shared between threads, and a
// larger JIT stack keeps long runs (1 MB of spaces) from failing with a stack-limit error.
struct MatchScratch {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    MatchScratch() {
        if (context != nullptr && jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
    }
    ~MatchScratch() {
        pcre2_match_context_free(context);
        pcre2_jit_stack_free(jit_stack);
        pcre2_match_data_free(data);
    }
};

MatchScratch& scratch() {
    thread_local MatchScratch s;
    return s;
}

Result<std::shared_ptr<CompiledRegex>> compile(std::string_view pattern, bool multiline) {
    const std::string rewritten = rewrite_pattern_for_pcre2(pattern);
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    uint32_t options = PCRE2_UTF | PCRE2_UCP;
    if (multiline) options |= PCRE2_MULTILINE;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(), options, &error,
                                     &error_offset, nullptr);
    if (code == nullptr) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof(message));
        return invalid_format("pre-tokenizer regex '" + std::string(pattern) + "' does not compile at offset " +
                              std::to_string(error_offset) + ": " + reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    auto compiled = std::make_shared<CompiledRegex>();
    compiled->code = code;
    return compiled;
}

// Appends the non-empty matches of `code` in text[begin, end) (valid UTF-8) to `out`.
void find_regex_matches(const CompiledRegex& regex, std::string_view text, size_t begin, size_t end,
                        std::vector<Span>& out) {
    MatchScratch& s = scratch();
    if (s.data == nullptr) return;
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + begin);
    const size_t length = end - begin;
    size_t offset = 0;
    while (offset <= length) {
        const int rc = pcre2_match(regex.code, subject, length, offset, PCRE2_NO_UTF_CHECK, s.data, s.context);
        // No match, or a resource limit: the rest of the text stays unmatched.
        if (rc < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.data);
        const size_t m_begin = ov[0];
        const size_t m_end = ov[1];
        if (m_end <= m_begin) {  // an empty match yields no piece; step over one character
            if (m_begin >= length) break;
            offset = m_begin + utf8::char_length(text, begin + m_begin);
            continue;
        }
        out.emplace_back(begin + m_begin, begin + m_end);
        offset = m_end;
    }
}

// Matches over a whole piece; invalid UTF-8 bytes are never inside a match.
void find_matches(const CompiledRegex& regex, std::string_view text, std::vector<Span>& out) {
    uint32_t cp = 0;
    size_t run_begin = 0;
    for (size_t pos = 0; pos < text.size();) {
        const size_t n = utf8::decode(text, pos, cp);
        if (n != 0) {
            pos += n;
            continue;
        }
        if (pos > run_begin) find_regex_matches(regex, text, run_begin, pos, out);
        ++pos;
        run_begin = pos;
    }
    if (text.size() > run_begin) find_regex_matches(regex, text, run_begin, text.size(), out);
}

// llama.cpp runs regexes that spell non-ASCII characters through std::wregex after
// replacing every non-ASCII whitespace character by U+000B, so ranges such as
// U+0800-U+4E00 in its DeepSeek patterns never match U+2028 or U+3000 while \s still
// does. Same here: match on that masked copy, then map offsets back.
void find_matches_masking_space(const CompiledRegex& regex, std::string_view text, std::vector<Span>& out) {
    std::string masked;
    std::vector<size_t> origin;  // origin[i]: offset in `text` of masked[i]; one extra entry for the end
    masked.reserve(text.size());
    origin.reserve(text.size() + 1);
    uint32_t cp = 0;
    for (size_t pos = 0; pos < text.size();) {
        const size_t n = utf8::decode(text, pos, cp);
        if (n > 1 && utf8::is_white_space(cp)) {
            masked += '\x0B';
            origin.push_back(pos);
            pos += n;
            continue;
        }
        const size_t len = n == 0 ? 1 : n;
        for (size_t i = 0; i < len; ++i) {
            masked += text[pos + i];
            origin.push_back(pos + i);
        }
        pos += len;
    }
    origin.push_back(text.size());
    std::vector<Span> masked_matches;
    find_matches(regex, masked, masked_matches);
    for (const Span& m : masked_matches) out.emplace_back(origin[m.first], origin[m.second]);
}

void find_literal_matches(std::string_view literal, std::string_view text, std::vector<Span>& out) {
    if (literal.empty()) return;
    for (size_t pos = text.find(literal); pos != std::string_view::npos; pos = text.find(literal, pos)) {
        out.emplace_back(pos, pos + literal.size());
        pos += literal.size();
    }
}

// Turns matches into pieces per `behavior` (Hugging Face's SplitDelimiterBehavior).
void emit_pieces(std::string_view text, const std::vector<Span>& matches, SplitBehavior behavior, bool invert,
                 std::vector<std::string>& out) {
    // Every span of the text, tagged matched or not (after invert).
    std::vector<std::pair<Span, bool>> spans;
    spans.reserve(matches.size() * 2 + 1);
    size_t prev = 0;
    for (const Span& m : matches) {
        if (m.first > prev) spans.push_back({{prev, m.first}, invert});
        spans.push_back({m, !invert});
        prev = m.second;
    }
    if (prev < text.size()) spans.push_back({{prev, text.size()}, invert});

    auto piece = [&](const Span& s) { return std::string(text.substr(s.first, s.second - s.first)); };
    switch (behavior) {
        case SplitBehavior::isolated:
            for (const auto& [s, matched] : spans) out.push_back(piece(s));
            break;
        case SplitBehavior::removed:
            for (const auto& [s, matched] : spans) {
                if (!matched) out.push_back(piece(s));
            }
            break;
        case SplitBehavior::merged_with_previous: {
            bool previous_open = false;  // the last piece may take a following match
            for (const auto& [s, matched] : spans) {
                if (matched && previous_open) {
                    out.back() += piece(s);
                    previous_open = false;
                } else {
                    out.push_back(piece(s));
                    previous_open = !matched;
                }
            }
            break;
        }
        case SplitBehavior::merged_with_next: {
            std::string pending;  // a match waiting for the next piece
            bool has_pending = false;
            for (const auto& [s, matched] : spans) {
                if (matched) {
                    if (has_pending) out.push_back(std::move(pending));
                    pending = piece(s);
                    has_pending = true;
                } else {
                    out.push_back(has_pending ? pending + piece(s) : piece(s));
                    pending.clear();
                    has_pending = false;
                }
            }
            if (has_pending) out.push_back(std::move(pending));
            break;
        }
        case SplitBehavior::contiguous: {
            bool last_matched = false;
            for (const auto& [s, matched] : spans) {
                if (matched && last_matched && !out.empty()) {
                    out.back() += piece(s);
                } else {
                    out.push_back(piece(s));
                }
                last_matched = matched;
            }
            break;
        }
    }
}

// ---- pre-tokenizers --------------------------------------------------------------------

class RegexSplit final : public PreTokenizer {
public:
    RegexSplit(std::shared_ptr<CompiledRegex> regex, std::string literal, SplitBehavior behavior, bool invert,
               bool mask_non_ascii_space = false)
        : regex_(std::move(regex)),
          literal_(std::move(literal)),
          behavior_(behavior),
          invert_(invert),
          mask_non_ascii_space_(mask_non_ascii_space) {}

    void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
        std::vector<std::string> out;
        out.reserve(pieces.size() * 2);
        std::vector<Span> matches;
        for (const std::string& p : pieces) {
            if (p.empty()) continue;
            matches.clear();
            if (regex_ && mask_non_ascii_space_) {
                find_matches_masking_space(*regex_, p, matches);
            } else if (regex_) {
                find_matches(*regex_, p, matches);
            } else {
                find_literal_matches(literal_, p, matches);
            }
            emit_pieces(p, matches, behavior_, invert_, out);
        }
        pieces.swap(out);
    }

private:
    std::shared_ptr<CompiledRegex> regex_;  // null for a literal pattern
    std::string literal_;
    SplitBehavior behavior_;
    bool invert_;
    bool mask_non_ascii_space_;  // llama.cpp's std::wregex path (see find_matches_masking_space)
};

class ByteLevelPre final : public PreTokenizer {
public:
    ByteLevelPre(bool add_prefix_space, std::unique_ptr<PreTokenizer> split)
        : add_prefix_space_(add_prefix_space), split_(std::move(split)) {}

    void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
        if (add_prefix_space_) {
            for (std::string& p : pieces) {
                if (!p.empty() && p[0] != ' ') p.insert(p.begin(), ' ');
            }
        }
        if (split_) split_->pre_tokenize(pieces, first_section);
        for (std::string& p : pieces) p = byte_level::encode(p);
    }

private:
    bool add_prefix_space_;
    std::unique_ptr<PreTokenizer> split_;
};

class MetaspacePre final : public PreTokenizer {
public:
    MetaspacePre(std::string replacement, PrependScheme scheme, bool split)
        : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

    void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
        std::vector<std::string> out;
        for (size_t i = 0; i < pieces.size(); ++i) {
            std::string s;
            s.reserve(pieces[i].size() + replacement_.size());
            for (char c : pieces[i]) {
                if (c == ' ') {
                    s += replacement_;
                } else {
                    s += c;
                }
            }
            const bool prepend =
                scheme_ == PrependScheme::always || (scheme_ == PrependScheme::first && first_section && i == 0);
            if (prepend && s.compare(0, replacement_.size(), replacement_) != 0) s.insert(0, replacement_);
            if (!split_ || replacement_.empty()) {
                out.push_back(std::move(s));
                continue;
            }
            // Cut before every replacement character (MergedWithNext).
            size_t start = 0;
            for (size_t pos = s.find(replacement_, 1); pos != std::string::npos; pos = s.find(replacement_, pos + 1)) {
                if (pos > start) out.push_back(s.substr(start, pos - start));
                start = pos;
            }
            if (start < s.size()) out.push_back(s.substr(start));
        }
        pieces.swap(out);
    }

private:
    std::string replacement_;
    PrependScheme scheme_;
    bool split_;
};

class SequencePre final : public PreTokenizer {
public:
    explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
    void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
        for (const auto& step : steps_) step->pre_tokenize(pieces, first_section);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// GPT-2's pattern, used by ByteLevel(use_regex = true).
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

Result<std::unique_ptr<PreTokenizer>> make_split(std::string_view pattern, SplitBehavior behavior, bool invert,
                                                 bool multiline, bool mask_non_ascii_space = false) {
    Result<std::shared_ptr<CompiledRegex>> regex = compile(pattern, multiline);
    if (!regex) return regex.status();
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<RegexSplit>(std::move(regex).value(), std::string(), behavior, invert, mask_non_ascii_space));
}

// ---- llama.cpp's pre-tokenizer table ---------------------------------------------------

struct NamedPreType {
    std::vector<std::string_view> names;
    GgufPreType type;
};

const std::vector<NamedPreType>& gguf_pre_types() {
    static const std::vector<NamedPreType> table = [] {
        const std::string llama3 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
            "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
        const std::string qwen2 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
            "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
        std::vector<NamedPreType> t;
        t.push_back({{"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
                     GgufPreType{{llama3}, true, true, true}});
        t.push_back({{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2"}, GgufPreType{{qwen2}, false, false, false}});
        t.push_back({{"gpt2", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
                      "mellum", "modern-bert", "mpt", "olmo", "jais", "trillion", "exaone4"},
                     GgufPreType{{kGpt2Pattern}, false, false, true}});
        t.push_back({{"deepseek-llm"},
                     GgufPreType{{"[\r\n]",
                                  "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-"
                                  "\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-"
                                  "\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556"
                                  "\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b"
                                  "\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d"
                                  "\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
                                  "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4"
                                  "\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128"
                                  "\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184"
                                  "\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b"
                                  "\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17"
                                  "\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
                                  "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2"
                                  "\U000118a0-\U000118df\U0001e900-\U0001e943]+",
                                  "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+", "\\s+$",
                                  "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+", "\\p{N}+"},
                                 false,
                                 false,
                                 false}});
        t.push_back({{"deepseek-coder"},
                     GgufPreType{{"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
                                  "\\p{N}"},
                                 false,
                                 false,
                                 false}});
        t.push_back({{"", "default"},
                     GgufPreType{{"[\\p{P}\\$\\+<=>\\^~\\|]+",
                                  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
                                  "\\p{N}+", "[0-9][0-9][0-9]"},
                                 false,
                                 false,
                                 true}});
        return t;
    }();
    return table;
}

}  // namespace

std::string rewrite_pattern_for_pcre2(std::string_view p) {
    std::string out;
    out.reserve(p.size() + 32);
    bool in_class = false;
    bool fold = false;  // inside (?i:...): ASCII letters match either case
    std::vector<bool> fold_stack;
    for (size_t i = 0; i < p.size();) {
        const char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            const char n = p[i + 1];
            // \p{..}, \P{..}, \x{..}: copied whole.
            if ((n == 'p' || n == 'P' || n == 'x') && i + 2 < p.size() && p[i + 2] == '{') {
                size_t close = p.find('}', i + 3);
                close = close == std::string_view::npos ? p.size() : close + 1;
                out.append(p.substr(i, close - i));
                i = close;
                continue;
            }
            switch (n) {
                case 's':
                    out += "\\p{White_Space}";
                    break;
                case 'S':
                    out += "\\P{White_Space}";
                    break;
                case 'd':
                    out += "\\p{Nd}";
                    break;
                case 'D':
                    out += "\\P{Nd}";
                    break;
                case 'h':
                    out += in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]";
                    break;
                case 'H':
                    if (in_class) {
                        out += "\\H";  // no class-inside complement; rare enough to leave
                    } else {
                        out += "[^0-9A-Fa-f]";
                    }
                    break;
                case 'w':
                    out += in_class ? std::string(kWordChars) : "[" + std::string(kWordChars) + "]";
                    break;
                case 'W':
                    if (in_class) {
                        out += "\\W";
                    } else {
                        out += "[^" + std::string(kWordChars) + "]";
                    }
                    break;
                default:
                    out.append(p.substr(i, 2));
                    break;
            }
            i += 2;
            continue;
        }
        if (in_class) {
            if (c == ']') {
                in_class = false;
                out += c;
                ++i;
                continue;
            }
            if (fold && is_ascii_letter(c)) {
                // A range a-z also gets A-Z; a single letter gets its other case.
                if (i + 2 < p.size() && p[i + 1] == '-' && is_ascii_letter(p[i + 2])) {
                    out.append(p.substr(i, 3));
                    out += other_case(c);
                    out += '-';
                    out += other_case(p[i + 2]);
                    i += 3;
                    continue;
                }
                out += c;
                out += other_case(c);
                ++i;
                continue;
            }
            out += c;
            ++i;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out += c;
            ++i;
            if (i < p.size() && p[i] == '^') out += p[i++];
            if (i < p.size() && p[i] == ']') {  // a leading ']' is a literal
                out += "\\]";
                ++i;
            }
            continue;
        }
        if (c == '(') {
            fold_stack.push_back(fold);
            if (p.substr(i, 4) == "(?i:") {
                fold = true;
                out += "(?:";
                i += 4;
                continue;
            }
            out += c;
            ++i;
            continue;
        }
        if (c == ')') {
            if (!fold_stack.empty()) {
                fold = fold_stack.back();
                fold_stack.pop_back();
            }
            out += c;
            ++i;
            continue;
        }
        if (fold && is_ascii_letter(c)) {
            out += '[';
            out += c;
            out += other_case(c);
            out += ']';
            ++i;
            continue;
        }
        out += c;
        ++i;
    }
    return out;
}

Result<std::unique_ptr<PreTokenizer>> make_regex_split(std::string_view pattern, SplitBehavior behavior, bool invert) {
    // Oniguruma (Ruby syntax) anchors ^ and $ at line boundaries.
    return make_split(pattern, behavior, invert, /*multiline=*/true);
}

Result<std::unique_ptr<PreTokenizer>> make_literal_split(std::string_view text, SplitBehavior behavior, bool invert) {
    if (text.empty()) return invalid_format("a Split pre-tokenizer has an empty string pattern");
    return std::unique_ptr<PreTokenizer>(std::make_unique<RegexSplit>(nullptr, std::string(text), behavior, invert));
}

Result<std::unique_ptr<PreTokenizer>> make_byte_level(bool add_prefix_space, bool use_regex) {
    std::unique_ptr<PreTokenizer> split;
    if (use_regex) {
        Result<std::unique_ptr<PreTokenizer>> r = make_split(kGpt2Pattern, SplitBehavior::isolated, false, true);
        if (!r) return r.status();
        split = std::move(r).value();
    }
    return std::unique_ptr<PreTokenizer>(std::make_unique<ByteLevelPre>(add_prefix_space, std::move(split)));
}

std::unique_ptr<PreTokenizer> make_metaspace(std::string replacement, PrependScheme scheme, bool split) {
    return std::make_unique<MetaspacePre>(std::move(replacement), scheme, split);
}

Result<std::unique_ptr<PreTokenizer>> make_digits(bool individual_digits) {
    // Rust's char::is_numeric: the whole N category.
    return make_split("\\p{N}", individual_digits ? SplitBehavior::isolated : SplitBehavior::contiguous, false, true);
}

std::unique_ptr<PreTokenizer> make_sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) {
    return std::make_unique<SequencePre>(std::move(steps));
}

const GgufPreType* find_gguf_pre_type(std::string_view pre) {
    for (const NamedPreType& t : gguf_pre_types()) {
        for (std::string_view name : t.names) {
            if (name == pre) return &t.type;
        }
    }
    return nullptr;
}

std::string supported_gguf_pre_types() {
    std::string out;
    for (const NamedPreType& t : gguf_pre_types()) {
        for (std::string_view name : t.names) {
            if (name.empty()) continue;
            if (!out.empty()) out += ", ";
            out += name;
        }
    }
    return out;
}

Result<std::unique_ptr<PreTokenizer>> make_gguf_pre_tokenizer(const GgufPreType& type) {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const std::string& regex : type.regexes) {
        // llama.cpp runs these on each segment without multiline anchors; patterns spelling
        // non-ASCII characters go through its std::wregex path (whitespace masked).
        const bool non_ascii =
            std::any_of(regex.begin(), regex.end(), [](char c) { return static_cast<uint8_t>(c) >= 0x80; });
        Result<std::unique_ptr<PreTokenizer>> split =
            make_split(regex, SplitBehavior::isolated, false, false, non_ascii);
        if (!split) return split.status();
        steps.push_back(std::move(split).value());
    }
    Result<std::unique_ptr<PreTokenizer>> bytes = make_byte_level(false, false);
    if (!bytes) return bytes.status();
    steps.push_back(std::move(bytes).value());
    return make_sequence(std::move(steps));
}

}  // namespace pagoda
