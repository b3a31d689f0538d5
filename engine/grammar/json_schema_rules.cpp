#include "grammar/json_schema_rules.h"

#include <cstdint>
#include <cstdio>

namespace pagoda::grammar::json_schema_detail {
namespace {

// Whitespace is bounded (one space, or a newline and at most 20 indentation characters)
// so a small model cannot pad forever; digit runs are bounded for the same reason.
const std::vector<BuiltinRule> kBuiltins = {
    {"ws", R"(( " " | "\n" [ \t]{0,20} )?)", {}},
    {"char", R"([^\"\\\x00-\x1F] | "\\" ( [\"\\/bfnrt] | "u" [0-9a-fA-F]{4} ))", {}},
    {"string", R"("\"" char* "\"")", {"char"}},
    {"integer", R"("-"? ( "0" | [1-9] [0-9]{0,18} ))", {}},
    {"number", R"("-"? ( "0" | [1-9] [0-9]{0,18} ) ( "." [0-9]{1,20} )? ( [eE] [-+]? [0-9]{1,3} )?)", {}},
    {"boolean", R"("true" | "false")", {}},
    {"null", R"("null")", {}},
    {"value",
     R"(object | array | string | number | boolean | null)",
     {"object", "array", "string", "number", "boolean", "null"}},
    {"member", R"(string ws ":" ws value ws)", {"string", "ws", "value"}},
    {"object", R"("{" ws ( member ( "," ws member )* )? "}")", {"ws", "member"}},
    {"array", R"("[" ws ( value ws ( "," ws value ws )* )? "]")", {"ws", "value"}},
    // RFC 3339 full-date with the days of each month; 29 February only in leap years.
    {"leap-year",
     R"([0-9] [0-9] ( [02468] [48] | [13579] [26] | [2468] "0" ) | ( [02468] [048] | [13579] [26] ) "00")",
     {}},
    {"date",
     R"([0-9]{4} "-" ( ( "01" | "03" | "05" | "07" | "08" | "10" | "12" ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ))"
     R"( | ( "04" | "06" | "09" | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" ))"
     R"( | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) ))"
     R"( | leap-year "-02-29")",
     {"leap-year"}},
    // RFC 3339 full-time: the offset is required.
    {"time",
     R"(( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,9} )?)"
     R"( ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ))",
     {}},
    {"date-time", R"(date "T" time)", {"date", "time"}},
    {"uuid", R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})", {}},
    {"dec-octet", R"("25" [0-5] | "2" [0-4] [0-9] | "1" [0-9] [0-9] | [1-9] [0-9] | [0-9])", {}},
    {"ipv4", R"(dec-octet "." dec-octet "." dec-octet "." dec-octet)", {"dec-octet"}},
    {"date-string", R"("\"" date "\"")", {"date"}},
    {"time-string", R"("\"" time "\"")", {"time"}},
    {"date-time-string", R"("\"" date-time "\"")", {"date-time"}},
    {"uuid-string", R"("\"" uuid "\"")", {"uuid"}},
    {"ipv4-string", R"("\"" ipv4 "\"")", {"ipv4"}},
};

// Lengths in characters, for checking minLength/maxLength given with a format.
const std::vector<FormatRule> kFormats = {
    {"date", "date-string", 10, 10},           {"time", "time-string", 9, 24},  // 00:00:00Z .. 00:00:00.123456789+00:00
    {"date-time", "date-time-string", 20, 35}, {"uuid", "uuid-string", 36, 36}, {"ipv4", "ipv4-string", 7, 15},
};

// Decodes one UTF-8 character at `i`; invalid bytes decode as U+FFFD (one byte each).
uint32_t next_code_point(std::string_view s, size_t& i) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    uint8_t b = byte(i);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
        ++i;
        return 0xFFFD;
    }
    uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            ++i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    i += n;
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
    return cp;
}

// "[0-9]{n}" for n digits ("" for none).
std::string any_digits(size_t n) {
    if (n == 0) return "";
    return n == 1 ? "[0-9]" : "[0-9]{" + std::to_string(n) + "}";
}

std::string digit_class(char a, char b) {
    if (a == b) return std::string("\"") + a + "\"";
    return std::string("[") + a + "-" + b + "]";
}

std::string join_alternatives(const std::vector<std::string>& alts, bool group) {
    std::string out;
    for (const auto& a : alts) out += (out.empty() ? "" : " | ") + a;
    return group && alts.size() > 1 ? "( " + out + " )" : out;
}

std::string seq(std::string a, const std::string& b) {
    if (b.empty()) return a;
    if (a.empty()) return b;
    return a + " " + b;
}

// Digit strings of equal length from a to b (a <= b): the classic split into the part
// sharing a's first digit, whole middle digits, and the part sharing b's first digit.
std::vector<std::string> same_length_range(const std::string& a, const std::string& b) {
    size_t n = a.size();
    if (n == 0) return {""};
    if (a == b) return {"\"" + a + "\""};
    std::string zeros(n - 1, '0'), nines(n - 1, '9');
    if (a[0] == b[0])
        return {seq(digit_class(a[0], a[0]), join_alternatives(same_length_range(a.substr(1), b.substr(1)), true))};
    std::vector<std::string> alts;
    char first = a[0], last = b[0];
    if (a.substr(1) != zeros) {
        alts.push_back(seq(digit_class(a[0], a[0]), join_alternatives(same_length_range(a.substr(1), nines), true)));
        ++first;
    }
    bool b_full = b.substr(1) == nines;
    if (!b_full) --last;
    if (first <= last) alts.push_back(seq(digit_class(first, last), any_digits(n - 1)));
    if (!b_full)
        alts.push_back(seq(digit_class(b[0], b[0]), join_alternatives(same_length_range(zeros, b.substr(1)), true)));
    return alts;
}

std::string to_decimal(unsigned __int128 v) {
    std::string s;
    do {
        s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
        v /= 10;
    } while (v);
    return s;
}

// Non-negative integers in [lo, hi]; no hi: up to 19 digits.
std::vector<std::string> magnitude_range(unsigned __int128 lo, std::optional<unsigned __int128> hi) {
    std::vector<std::string> alts;
    const size_t max_digits = 19;
    size_t lo_len = to_decimal(lo).size();
    size_t hi_len = hi ? to_decimal(*hi).size() : max_digits;
    unsigned __int128 pow = 1;
    for (size_t i = 1; i < lo_len; ++i) pow *= 10;  // 10^(lo_len-1)
    for (size_t len = lo_len; len <= hi_len; ++len, pow *= 10) {
        if (!hi && len > lo_len) {
            // Every longer number up to the digit cap.
            std::string rest = len == max_digits
                                   ? any_digits(max_digits - 1)
                                   : "[0-9]{" + std::to_string(len - 1) + "," + std::to_string(max_digits - 1) + "}";
            alts.push_back(seq("[1-9]", rest));
            break;
        }
        unsigned __int128 from = len == lo_len ? lo : pow;
        unsigned __int128 to = (hi && len == hi_len) ? *hi : pow * 10 - 1;
        for (auto& a : same_length_range(to_decimal(from), to_decimal(to))) alts.push_back(std::move(a));
    }
    return alts;
}

}  // namespace

std::string integer_range_gbnf(std::optional<__int128> lo, std::optional<__int128> hi) {
    std::vector<std::string> alts;
    if (!lo || *lo < 0) {  // negative values: "-" and magnitudes in [max(1, -hi), -lo]
        unsigned __int128 mag_lo = hi && *hi < 0 ? static_cast<unsigned __int128>(-*hi) : 1;
        std::optional<unsigned __int128> mag_hi;
        if (lo) mag_hi = static_cast<unsigned __int128>(-*lo);
        alts.push_back("\"-\" " + join_alternatives(magnitude_range(mag_lo, mag_hi), true));
    }
    if (!hi || *hi >= 0) {
        std::optional<unsigned __int128> mag_hi;
        if (hi) mag_hi = static_cast<unsigned __int128>(*hi);
        for (auto& a : magnitude_range(lo && *lo > 0 ? static_cast<unsigned __int128>(*lo) : 0, mag_hi))
            alts.push_back(std::move(a));
    }
    return join_alternatives(alts, false);
}

std::string gbnf_literal(std::string_view utf8) {
    std::string out = "\"";
    char buf[16];
    for (size_t i = 0; i < utf8.size();) {
        uint32_t cp = next_code_point(utf8, i);
        if (cp == '"') {
            out += "\\\"";
        } else if (cp == '\\') {
            out += "\\\\";
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp < 0x20 || cp == 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(cp));
            out += buf;
        } else if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp <= 0xFFFF) {
            std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(cp));
            out += buf;
        } else {
            std::snprintf(buf, sizeof buf, "\\U%08X", static_cast<unsigned>(cp));
            out += buf;
        }
    }
    out += '"';
    return out;
}

std::string compact_json(const nlohmann::ordered_json& value) {
    // `replace`: a value built in code may hold invalid UTF-8; never throw for it.
    return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

size_t utf8_length(std::string_view utf8) {
    size_t n = 0;
    for (size_t i = 0; i < utf8.size(); ++n) next_code_point(utf8, i);
    return n;
}

const BuiltinRule* find_builtin(std::string_view name) {
    for (const auto& rule : kBuiltins)
        if (rule.name == name) return &rule;
    return nullptr;
}

const std::vector<BuiltinRule>& builtin_rules() { return kBuiltins; }

const FormatRule* find_format(std::string_view format) {
    for (const auto& f : kFormats)
        if (f.format == format) return &f;
    return nullptr;
}

}  // namespace pagoda::grammar::json_schema_detail
