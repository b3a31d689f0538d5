#include "tokenizer/jinja/text.h"

#include "tokenizer/utf8.h"

namespace pagoda::jinja::text {

char32_t decode(std::string_view s, size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len = 0;
    char32_t cp = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07;
    } else {
        ++i;
        return 0xFFFD;
    }
    if (i + len > s.size()) {
        ++i;
        return 0xFFFD;
    }
    for (int k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) {
            ++i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return 0xFFFD;
    }
    i += len;
    return cp;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogates cannot be UTF-8
    if (cp > 0x10FFFF) cp = 0xFFFD;
    utf8::append(out, static_cast<uint32_t>(cp));
}

bool is_valid_utf8(std::string_view s, size_t& bad_offset) {
    size_t i = 0;
    while (i < s.size()) {
        const size_t start = i;
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        if (decode(s, i) == 0xFFFD && i == start + 1) {
            // decode() signals malformed input by advancing exactly one byte; a real
            // U+FFFD is three bytes long.
            bad_offset = start;
            return false;
        }
    }
    return true;
}

bool is_space(char32_t cp) {
    switch (cp) {
        case 0x09:
        case 0x0A:
        case 0x0B:
        case 0x0C:
        case 0x0D:
        case 0x20:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000:
        case 0xFEFF: return true;
        default: return cp >= 0x2000 && cp <= 0x200A;
    }
}

size_t space_at(std::string_view s, size_t i) {
    if (i >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) return is_space(b) ? 1 : 0;
    size_t j = i;
    const char32_t cp = decode(s, j);
    return is_space(cp) ? j - i : 0;
}

size_t space_before(std::string_view s, size_t end) {
    if (end == 0) return 0;
    // A code point is at most 4 bytes: find its first byte, then check it ends at `end`.
    size_t start = end - 1;
    while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t j = start;
    const char32_t cp = decode(s, j);
    return (j == end && is_space(cp)) ? end - start : 0;
}

std::string_view trim_start(std::string_view s) {
    size_t i = 0;
    while (size_t n = space_at(s, i)) i += n;
    return s.substr(i);
}

std::string_view trim_end(std::string_view s) {
    size_t end = s.size();
    while (size_t n = space_before(s, end)) end -= n;
    return s.substr(0, end);
}

std::string_view trim(std::string_view s) { return trim_end(trim_start(s)); }

namespace {
bool contains_code_point(std::string_view chars, char32_t cp) {
    size_t i = 0;
    while (i < chars.size()) {
        if (decode(chars, i) == cp) return true;
    }
    return false;
}
}  // namespace

std::string_view strip_chars(std::string_view s, std::string_view chars, bool left, bool right) {
    size_t begin = 0;
    size_t end = s.size();
    if (left) {
        while (begin < end) {
            size_t j = begin;
            if (!contains_code_point(chars, decode(s, j))) break;
            begin = j;
        }
    }
    if (right) {
        while (end > begin) {
            size_t start = end - 1;
            while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
            size_t j = start;
            if (!contains_code_point(chars, decode(s, j))) break;
            end = start;
        }
    }
    return s.substr(begin, end - begin);
}

size_t code_point_count(std::string_view s) {
    size_t n = 0;
    size_t i = 0;
    while (i < s.size()) {
        decode(s, i);
        ++n;
    }
    return n;
}

namespace {

// Ranges where upper and lower case alternate: even code point upper, odd lower
// (or the reverse when odd_upper).
struct PairRange {
    char32_t first, last;
    bool odd_upper;
};
constexpr PairRange kPairRanges[] = {
    {0x0100, 0x0137, false}, {0x0139, 0x0148, true},  {0x014A, 0x0177, false}, {0x0179, 0x017E, true},
    {0x01CD, 0x01DC, true},  {0x01DE, 0x01EF, false}, {0x01F8, 0x021F, false}, {0x0222, 0x0233, false},
    {0x0460, 0x0481, false}, {0x048A, 0x04BF, false}, {0x04C1, 0x04CE, true},  {0x04D0, 0x052F, false},
    {0x1E00, 0x1E95, false}, {0x1EA0, 0x1EFF, false},
};

// Ranges where lower = upper + delta.
struct OffsetRange {
    char32_t upper_first, upper_last;
    int32_t delta;
};
constexpr OffsetRange kOffsetRanges[] = {
    {0x0041, 0x005A, 32}, {0x00C0, 0x00D6, 32}, {0x00D8, 0x00DE, 32}, {0x0391, 0x03A1, 32}, {0x03A3, 0x03AB, 32},
    {0x0388, 0x038A, 37}, {0x0410, 0x042F, 32}, {0x0400, 0x040F, 80}, {0x0531, 0x0556, 48}, {0xFF21, 0xFF3A, 32},
};

struct SinglePair {
    char32_t upper, lower;
};
constexpr SinglePair kSinglePairs[] = {
    {0x0178, 0x00FF}, {0x0386, 0x03AC}, {0x038C, 0x03CC}, {0x038E, 0x03CD}, {0x038F, 0x03CE}, {0x04C0, 0x04CF},
};

// Latin digraphs come as upper, title and lower case: DŽ Dž dž, LJ Lj lj, NJ Nj nj, DZ Dz dz.
constexpr char32_t kDigraphs[] = {0x01C4, 0x01C7, 0x01CA, 0x01F1};

}  // namespace

char32_t lower_code_point(char32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    for (char32_t d : kDigraphs) {
        if (cp == d || cp == d + 1) return d + 2;
    }
    for (const auto& r : kOffsetRanges) {
        if (cp >= r.upper_first && cp <= r.upper_last) return cp + r.delta;
    }
    for (const auto& r : kPairRanges) {
        if (cp >= r.first && cp <= r.last) {
            const bool is_upper = ((cp & 1) != 0) == r.odd_upper;
            return is_upper ? cp + 1 : cp;
        }
    }
    for (const auto& p : kSinglePairs) {
        if (cp == p.upper) return p.lower;
    }
    return cp;
}

char32_t upper_code_point(char32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
    for (char32_t d : kDigraphs) {
        if (cp == d + 1 || cp == d + 2) return d;
    }
    if (cp == 0x00B5) return 0x039C;  // micro sign
    if (cp == 0x0131) return 'I';     // dotless i
    if (cp == 0x017F) return 'S';     // long s
    if (cp == 0x03C2) return 0x03A3;  // final sigma
    for (const auto& r : kOffsetRanges) {
        if (cp >= r.upper_first + r.delta && cp <= r.upper_last + r.delta) return cp - r.delta;
    }
    for (const auto& r : kPairRanges) {
        if (cp >= r.first && cp <= r.last) {
            const bool is_upper = ((cp & 1) != 0) == r.odd_upper;
            return is_upper ? cp : cp - 1;
        }
    }
    for (const auto& p : kSinglePairs) {
        if (cp == p.lower) return p.upper;
    }
    return cp;
}

namespace {
bool is_cased(char32_t cp) { return lower_code_point(cp) != cp || upper_code_point(cp) != cp; }
}  // namespace

std::string to_upper(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const char32_t cp = decode(s, i);
        if (cp == 0x00DF) {  // sharp s uppercases to two letters
            out += "SS";
            continue;
        }
        append_utf8(out, upper_code_point(cp));
    }
    return out;
}

std::string to_lower(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    char32_t prev = 0;
    while (i < s.size()) {
        const char32_t cp = decode(s, i);
        if (cp == 0x03A3) {
            // Final sigma: a capital sigma that ends a word lowercases to U+03C2.
            size_t j = i;
            const char32_t next = j < s.size() ? decode(s, j) : 0;
            append_utf8(out, (is_cased(prev) && !is_cased(next)) ? 0x03C2 : 0x03C3);
        } else if (cp == 0x0130) {  // capital I with dot: i + combining dot above
            out += 'i';
            append_utf8(out, 0x0307);
        } else {
            append_utf8(out, lower_code_point(cp));
        }
        prev = cp;
    }
    return out;
}

}  // namespace pagoda::jinja::text
