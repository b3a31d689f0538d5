#include "tokenizer/jinja/number_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <system_error>

#include "tokenizer/jinja/text.h"

namespace pagoda::jinja {

std::string js_number_to_string(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    if (v == 0) return "0";  // also -0
    std::string out;
    if (v < 0) {
        out += '-';
        v = -v;
    }
    // Shortest digits that round-trip, as "d.ddde±x"; split into digits and exponent.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
    const size_t e_pos = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e_pos)) {
        if (c != '.') digits += c;
    }
    int exp10 = 0;
    std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp10);
    const int k = static_cast<int>(digits.size());
    const int n = exp10 + 1;  // the value is 0.digits × 10^n
    if (k <= n && n <= 21) {
        out += digits;
        out.append(static_cast<size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out += digits.substr(0, static_cast<size_t>(n));
        out += '.';
        out += digits.substr(static_cast<size_t>(n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(static_cast<size_t>(-n), '0');
        out += digits;
    } else {
        out += digits[0];
        if (k > 1) {
            out += '.';
            out += digits.substr(1);
        }
        out += 'e';
        out += (n - 1 >= 0) ? '+' : '-';
        out += std::to_string(std::abs(n - 1));
    }
    return out;
}

std::string float_to_string(double v) {
    if (v == 0 && std::signbit(v)) return "-0.0";
    if (std::isfinite(v) && std::floor(v) == v) {
        if (std::fabs(v) >= 1e21) return js_number_to_string(v);  // toFixed falls back here too
        char buf[400];                                            // an integral double below 1e21 has at most 21 digits
        auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed, 1);
        return std::string(buf, res.ptr);
    }
    return js_number_to_string(v);
}

namespace {

// Length of the longest prefix of s that is an ECMAScript StrUnsignedDecimalLiteral
// (digits, optional fraction, optional exponent), 0 when there is none.
size_t decimal_literal_length(std::string_view s) {
    size_t i = 0;
    size_t int_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
    size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
        size_t j = i + 1;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j, ++frac_digits;
        if (int_digits + frac_digits > 0) i = j;
    }
    if (int_digits + frac_digits == 0) return 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        const size_t exp_start = j;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
        if (j > exp_start) i = j;
    }
    return i;
}

// Correctly rounded and locale-independent (strtod would follow LC_NUMERIC).
double parse_decimal(std::string_view s) {
    double v = 0;
    auto res = std::from_chars(s.data(), s.data() + s.size(), v);
    if (res.ec == std::errc::result_out_of_range) {
        // Overflow gives infinity, underflow zero, as JavaScript does.
        const size_t e = s.find_first_of("eE");
        const bool negative_exp = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
        return negative_exp ? 0.0 : std::numeric_limits<double>::infinity();
    }
    return v;
}

}  // namespace

double js_string_to_number(std::string_view s) {
    s = text::trim(s);
    if (s.empty()) return 0;
    if (s.size() > 2 && s[0] == '0') {
        int base = 0;
        if (s[1] == 'x' || s[1] == 'X') base = 16;
        if (s[1] == 'o' || s[1] == 'O') base = 8;
        if (s[1] == 'b' || s[1] == 'B') base = 2;
        if (base != 0) {
            double v = 0;
            for (char c : s.substr(2)) {
                int d = -1;
                if (c >= '0' && c <= '9') d = c - '0';
                if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
                if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
                if (d < 0 || d >= base) return std::numeric_limits<double>::quiet_NaN();
                v = v * base + d;
            }
            return v;
        }
    }
    double sign = 1;
    std::string_view body = s;
    if (body[0] == '+' || body[0] == '-') {
        sign = body[0] == '-' ? -1 : 1;
        body.remove_prefix(1);
    }
    if (body == "Infinity") return sign * std::numeric_limits<double>::infinity();
    const size_t len = decimal_literal_length(body);
    if (len == 0 || len != body.size()) return std::numeric_limits<double>::quiet_NaN();
    return sign * parse_decimal(body);
}

std::optional<double> js_parse_int(std::string_view s) {
    s = text::trim_start(s);
    double sign = 1;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1 : 1;
        s.remove_prefix(1);
    }
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0) return std::nullopt;
    return sign * parse_decimal(s.substr(0, n));
}

std::optional<double> js_parse_float(std::string_view s) {
    s = text::trim_start(s);
    double sign = 1;
    std::string_view body = s;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        sign = body[0] == '-' ? -1 : 1;
        body.remove_prefix(1);
    }
    if (body.substr(0, 8) == "Infinity") return sign * std::numeric_limits<double>::infinity();
    const size_t len = decimal_literal_length(body);
    if (len == 0) return std::nullopt;
    return sign * parse_decimal(body.substr(0, len));
}

}  // namespace pagoda::jinja
