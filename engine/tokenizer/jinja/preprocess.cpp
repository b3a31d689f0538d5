#include "tokenizer/jinja/preprocess.h"

#include "tokenizer/jinja/text.h"

namespace pagoda::jinja {

namespace {

// Builds a MappedText by copying selected ranges of another one.
class Builder {
public:
    explicit Builder(const MappedText& in) : in_(in) {
        out_.text.reserve(in.text.size());
        out_.offsets.reserve(in.offsets.size());
    }
    void copy(size_t begin, size_t end) {
        out_.text.append(in_.text, begin, end - begin);
        out_.offsets.insert(out_.offsets.end(), in_.offsets.begin() + static_cast<std::ptrdiff_t>(begin),
                            in_.offsets.begin() + static_cast<std::ptrdiff_t>(end));
    }
    MappedText finish() {
        out_.offsets.push_back(in_.offsets.back());
        return std::move(out_);
    }

private:
    const MappedText& in_;
    MappedText out_;
};

// A JavaScript line terminator ends at s[i) (so a `^` in multiline mode matches at i).
bool line_start(std::string_view s, size_t i) {
    if (i == 0) return true;
    const char c = s[i - 1];
    if (c == '\n' || c == '\r') return true;
    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9
    return i >= 3 && s[i - 3] == '\xE2' && s[i - 2] == '\x80' && (s[i - 1] == '\xA8' || s[i - 1] == '\xA9');
}

// lstrip_blocks: blanks (spaces and tabs) from the start of a line up to "{%", "{#"
// or "{-" are removed.
MappedText lstrip_blocks_pass(const MappedText& in) {
    const std::string_view s = in.text;
    Builder b(in);
    size_t copied = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (!line_start(s, i)) continue;
        size_t j = i;
        while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
        if (j == i || j + 1 >= s.size() || s[j] != '{') continue;
        const char n = s[j + 1];
        if (n != '%' && n != '#' && n != '-') continue;
        b.copy(copied, i);
        copied = j;
        i = j;  // the loop's ++i moves past the '{'
    }
    b.copy(copied, s.size());
    return b.finish();
}

// trim_blocks: the newline right after "%}", "#}" or "-}" is removed.
MappedText trim_blocks_pass(const MappedText& in) {
    const std::string_view s = in.text;
    Builder b(in);
    size_t copied = 0;
    for (size_t i = 0; i + 2 < s.size(); ++i) {
        if ((s[i] == '%' || s[i] == '#' || s[i] == '-') && s[i + 1] == '}' && s[i + 2] == '\n') {
            b.copy(copied, i + 2);
            copied = i + 3;
            i += 2;
        }
    }
    b.copy(copied, s.size());
    return b.finish();
}

size_t skip_spaces(std::string_view s, size_t i) {
    while (size_t n = text::space_at(s, i)) i += n;
    return i;
}

// Matches `{%-? \s* (end)?generation \s* -?%}` at s[i]; returns its end or 0.
size_t match_generation_tag(std::string_view s, size_t i, bool& strip_before, bool& strip_after) {
    if (s.compare(i, 2, "{%") != 0) return 0;
    size_t j = i + 2;
    strip_before = j < s.size() && s[j] == '-';
    if (strip_before) ++j;
    j = skip_spaces(s, j);
    if (s.compare(j, 3, "end") == 0 && s.compare(j + 3, 10, "generation") == 0) j += 3;
    if (s.compare(j, 10, "generation") != 0) return 0;
    j = skip_spaces(s, j + 10);
    strip_after = j < s.size() && s[j] == '-';
    if (strip_after) ++j;
    if (s.compare(j, 2, "%}") != 0) return 0;
    return j + 2;
}

// transformers' {% generation %} / {% endgeneration %} mark assistant spans for
// training masks; rendering drops the tags (and the blanks around them when asked to).
MappedText generation_pass(const MappedText& in) {
    const std::string_view s = in.text;
    if (s.find("generation") == std::string_view::npos) return in;
    Builder b(in);
    size_t copied = 0;
    size_t last_end = 0;  // where the previous match (trailing blanks included) ended
    size_t i = 0;
    while (i < s.size()) {
        const size_t tag = s.find("{%", i);
        if (tag == std::string_view::npos) break;
        bool strip_before = false, strip_after = false;
        const size_t tag_end = match_generation_tag(s, tag, strip_before, strip_after);
        if (tag_end == 0) {
            i = tag + 1;
            continue;
        }
        size_t ws_start = tag;
        while (ws_start > last_end) {
            const size_t n = text::space_before(s, ws_start);
            if (n == 0 || ws_start - n < last_end) break;
            ws_start -= n;
        }
        const size_t ws_end = skip_spaces(s, tag_end);
        b.copy(copied, strip_before ? ws_start : tag);
        copied = strip_after ? ws_end : tag_end;
        last_end = ws_end;
        i = ws_end;
    }
    b.copy(copied, s.size());
    return b.finish();
}

}  // namespace

MappedText preprocess_template(std::string_view source, bool trim_blocks, bool lstrip_blocks) {
    MappedText m;
    m.text.assign(source);
    m.offsets.resize(source.size() + 1);
    for (size_t i = 0; i <= source.size(); ++i) m.offsets[i] = static_cast<uint32_t>(i);
    if (!m.text.empty() && m.text.back() == '\n') {
        m.text.pop_back();
        m.offsets.erase(m.offsets.end() - 2);
    }
    if (lstrip_blocks) m = lstrip_blocks_pass(m);
    if (trim_blocks) m = trim_blocks_pass(m);
    return generation_pass(m);
}

}  // namespace pagoda::jinja
