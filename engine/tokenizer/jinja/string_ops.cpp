#include "tokenizer/jinja/string_ops.h"

#include "tokenizer/jinja/text.h"

namespace pagoda::jinja {

namespace {
bool is_ascii_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
}  // namespace

std::string title_case(std::string_view s) {
    std::string out(s);
    for (size_t i = 0; i < out.size(); ++i) {
        const bool starts_word = is_ascii_word(out[i]) && (i == 0 || !is_ascii_word(out[i - 1]));
        if (starts_word && out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 32);
    }
    return out;
}

std::string capitalize(std::string_view s) {
    if (s.empty()) return {};
    size_t i = 0;
    text::decode(s, i);
    return text::to_upper(s.substr(0, i)) + std::string(s.substr(i));
}

std::vector<std::string> str_split(std::string_view s, std::optional<std::string_view> sep, int64_t maxsplit) {
    std::vector<std::string> out;
    if (!sep) {
        std::string_view rest = text::trim_start(s);
        while (!rest.empty()) {
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
                out.emplace_back(rest);  // the remainder, trailing blanks included
                break;
            }
            size_t end = 0;
            while (end < rest.size() && text::space_at(rest, end) == 0) {
                size_t j = end;
                text::decode(rest, j);
                end = j;
            }
            out.emplace_back(rest.substr(0, end));
            rest = text::trim_start(rest.substr(end));
        }
        return out;
    }
    size_t start = 0;
    while (true) {
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) break;
        const size_t hit = s.find(*sep, start);
        if (hit == std::string_view::npos) break;
        out.emplace_back(s.substr(start, hit - start));
        start = hit + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
}

std::string str_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
    std::string out;
    if (count == 0) return std::string(s);
    int64_t remaining = count < 0 ? INT64_MAX : count;
    if (old.empty()) {
        // Between every character, and at both ends.
        size_t i = 0;
        while (true) {
            if (remaining > 0) {
                out.append(repl);
                --remaining;
            }
            if (i >= s.size()) break;
            const size_t start = i;
            text::decode(s, i);
            out.append(s.substr(start, i - start));
        }
        return out;
    }
    size_t start = 0;
    while (remaining > 0) {
        const size_t hit = s.find(old, start);
        if (hit == std::string_view::npos) break;
        out.append(s.substr(start, hit - start));
        out.append(repl);
        start = hit + old.size();
        --remaining;
    }
    out.append(s.substr(start));
    return out;
}

int64_t str_find(std::string_view s, std::string_view sub, bool reverse) {
    const size_t hit = reverse ? s.rfind(sub) : s.find(sub);
    if (hit == std::string_view::npos) return -1;
    return static_cast<int64_t>(text::code_point_count(s.substr(0, hit)));
}

std::vector<std::string_view> code_points(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        const size_t start = i;
        text::decode(s, i);
        out.push_back(s.substr(start, i - start));
    }
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace pagoda::jinja
