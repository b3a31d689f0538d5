// compile_gbnf: GBNF text -> Grammar (grammar_rules.h).
//
// One pass builds rules of alternatives of sequences ("IR"), rewriting groups and
// repetitions into helper rules as llama.cpp does (x* -> R ::= x R | ; x{2,4} -> x x (x (x)?)?),
// then the whole grammar is checked (every rule defined, root present, no left recursion)
// and flattened. The text is untrusted: every loop is bounded by the input or by
// GrammarLimits, element counts are checked before repetitions are copied, group nesting is
// bounded (the parser recurses on groups), and the graph checks are iterative.
#include <algorithm>
#include <unordered_map>

#include "grammar/gbnf_ir.h"
#include "grammar/grammar.h"
#include "grammar/grammar_rules.h"

namespace pagoda::grammar {
namespace {

constexpr int kMaxGroupDepth = 200;
constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint64_t kUnbounded = ~uint64_t{0};

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Sorted, merged, negation applied, surrogates (unencodable in UTF-8) removed.
std::vector<CodeRange> normalise_class(std::vector<CodeRange> in, bool negated) {
    std::sort(in.begin(), in.end(), [](const CodeRange& a, const CodeRange& b) { return a.lo < b.lo; });
    std::vector<CodeRange> merged;
    for (const CodeRange& r : in) {
        if (!merged.empty() && r.lo <= merged.back().hi + 1)
            merged.back().hi = std::max(merged.back().hi, r.hi);
        else
            merged.push_back(r);
    }
    if (negated) {
        std::vector<CodeRange> inv;
        uint32_t next = 0;
        for (const CodeRange& r : merged) {
            if (r.lo > next) inv.push_back({next, r.lo - 1});
            next = r.hi + 1;
        }
        if (next <= kMaxCodePoint) inv.push_back({next, kMaxCodePoint});
        merged = std::move(inv);
    }
    std::vector<CodeRange> out;
    for (const CodeRange& r : merged) {
        if (r.hi < 0xD800 || r.lo > 0xDFFF) {
            out.push_back(r);
            continue;
        }
        if (r.lo < 0xD800) out.push_back({r.lo, 0xD7FF});
        if (r.hi > 0xDFFF) out.push_back({0xE000, r.hi});
    }
    return out;
}

class Parser {
public:
    Parser(std::string_view src, const GrammarLimits& limits) : src_(src), limits_(limits) {}

    Status parse() {
        skip_space();
        while (pos_ < src_.size()) {
            PAGODA_RETURN_IF_ERROR(parse_rule());
            skip_space();
        }
        return Status::ok();
    }

    Result<std::shared_ptr<const Grammar>> finish(std::string_view root_name);

private:
    Status error(const std::string& what) const {
        size_t line =
            1 + static_cast<size_t>(std::count(src_.begin(), src_.begin() + std::min(pos_, src_.size()), '\n'));
        std::string msg = "GBNF offset " + std::to_string(pos_) + " (line " + std::to_string(line) + ")";
        if (!current_rule_.empty()) msg += ", rule '" + current_rule_ + "'";
        return invalid_argument(msg + ": " + what);
    }

    bool at_end() const { return pos_ >= src_.size(); }
    char peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }

    void skip_space() {
        while (pos_ < src_.size()) {
            char c = src_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                ++pos_;
            } else if (c == '#') {
                while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
            } else {
                break;
            }
        }
    }

    std::string_view parse_name() {
        size_t start = pos_;
        while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
        return src_.substr(start, pos_ - start);
    }

    // `name ::=` starts here: the previous rule ended (rules may span lines).
    bool at_rule_start() {
        size_t save = pos_;
        bool yes = !parse_name().empty();
        if (yes) {
            skip_space();
            yes = src_.substr(pos_, 3) == "::=";
        }
        pos_ = save;
        return yes;
    }

    Status count_elements(uint64_t n) {
        if (n > limits_.max_elements || elements_ + n > limits_.max_elements) {
            return error("grammar too large: more than " + std::to_string(limits_.max_elements) +
                         " elements after expanding repetitions");
        }
        elements_ += n;
        return Status::ok();
    }

    uint32_t rule_id(std::string_view name) {
        auto it = ids_.find(std::string(name));
        if (it != ids_.end()) return it->second;
        uint32_t id = static_cast<uint32_t>(rules_.size());
        rules_.push_back({std::string(name), {}, false, pos_});
        ids_.emplace(std::string(name), id);
        return id;
    }

    uint32_t new_helper_rule() {
        std::string name;
        do {
            name = current_rule_ + "_" + std::to_string(++helper_counter_);
        } while (ids_.count(name));
        uint32_t id = rule_id(name);
        rules_[id].defined = true;
        return id;
    }

    Status parse_rule() {
        size_t start = pos_;
        std::string_view name = parse_name();
        if (name.empty()) return error(std::string("expected a rule name, found '") + peek() + "'");
        current_rule_ = std::string(name);
        skip_space();
        if (src_.substr(pos_, 3) != "::=") return error("expected '::=' after rule name '" + current_rule_ + "'");
        pos_ += 3;
        uint32_t id = rule_id(name);
        if (rules_[id].defined) {
            pos_ = start;
            return error("rule '" + current_rule_ + "' is defined twice");
        }
        rules_[id].defined = true;
        std::vector<Seq> alts;
        PAGODA_RETURN_IF_ERROR(parse_alternatives(alts, 0));
        if (!at_end() && peek() == ')') return error("unmatched ')'");
        rules_[id].alts = std::move(alts);
        return Status::ok();
    }

    Status parse_alternatives(std::vector<Seq>& alts, int depth) {
        while (true) {
            Seq seq;
            PAGODA_RETURN_IF_ERROR(parse_sequence(seq, depth));
            PAGODA_RETURN_IF_ERROR(count_elements(1));  // the alternative's `end`
            alts.push_back(std::move(seq));
            skip_space();
            if (peek() != '|' || at_end()) return Status::ok();
            ++pos_;
        }
    }

    Status parse_sequence(Seq& out, int depth) {
        size_t last_start = SIZE_MAX;  // where the last symbol (what a repetition repeats) begins
        while (true) {
            skip_space();
            if (at_end()) return Status::ok();
            char c = peek();
            if (c == '|' || c == ')') return Status::ok();
            if (c == '"') {
                ++pos_;
                last_start = out.size();
                while (true) {
                    if (at_end()) return error("unterminated string literal");
                    if (peek() == '"') break;
                    uint32_t cp = 0;
                    PAGODA_RETURN_IF_ERROR(parse_char(cp));
                    PAGODA_RETURN_IF_ERROR(count_elements(1));
                    out.push_back({ElementKind::char_class, false, 0, {{cp, cp}}});
                }
                ++pos_;
            } else if (c == '[') {
                ++pos_;
                bool negated = false;
                if (peek() == '^' && !at_end()) {
                    negated = true;
                    ++pos_;
                }
                std::vector<CodeRange> ranges;
                while (true) {
                    if (at_end()) return error("unterminated character class");
                    if (peek() == ']') break;
                    uint32_t lo = 0, hi = 0;
                    PAGODA_RETURN_IF_ERROR(parse_char(lo));
                    hi = lo;
                    if (peek() == '-' && pos_ + 1 < src_.size() && src_[pos_ + 1] != ']') {
                        ++pos_;
                        PAGODA_RETURN_IF_ERROR(parse_char(hi));
                        if (hi < lo) return error("character range ends before it starts");
                    }
                    if (ranges.size() >= limits_.max_elements) return error("character class too large");
                    ranges.push_back({lo, hi});
                }
                ++pos_;
                PAGODA_RETURN_IF_ERROR(count_elements(1 + ranges.size() / 4));
                last_start = out.size();
                out.push_back({ElementKind::char_class, negated, 0, normalise_class(std::move(ranges), negated)});
            } else if (c == '.') {
                ++pos_;
                PAGODA_RETURN_IF_ERROR(count_elements(1));
                last_start = out.size();
                out.push_back({ElementKind::char_class, false, 0, normalise_class({{0, kMaxCodePoint}}, false)});
            } else if (c == '(') {
                if (depth >= kMaxGroupDepth)
                    return error("groups nested deeper than " + std::to_string(kMaxGroupDepth));
                ++pos_;
                uint32_t helper = new_helper_rule();
                std::vector<Seq> alts;
                PAGODA_RETURN_IF_ERROR(parse_alternatives(alts, depth + 1));
                if (peek() != ')' || at_end()) return error("expected ')' to close the group");
                ++pos_;
                rules_[helper].alts = std::move(alts);
                PAGODA_RETURN_IF_ERROR(count_elements(1));
                last_start = out.size();
                out.push_back({ElementKind::rule_ref, false, helper, {}});
            } else if (is_name_char(c)) {
                if (at_rule_start()) {
                    if (depth > 0) return error("expected ')' before the next rule");
                    return Status::ok();
                }
                std::string_view name = parse_name();
                PAGODA_RETURN_IF_ERROR(count_elements(1));
                last_start = out.size();
                out.push_back({ElementKind::rule_ref, false, rule_id(name), {}});
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (last_start == SIZE_MAX) return error(std::string("'") + c + "' does not follow an element");
                ++pos_;
                uint64_t min = 0, max = kUnbounded;
                if (c == '+') {
                    min = 1;
                } else if (c == '?') {
                    max = 1;
                } else if (c == '{') {
                    skip_space();
                    PAGODA_RETURN_IF_ERROR(parse_count(min));
                    skip_space();
                    if (peek() == ',') {
                        ++pos_;
                        skip_space();
                        if (peek() != '}') PAGODA_RETURN_IF_ERROR(parse_count(max));
                    } else {
                        max = min;
                    }
                    skip_space();
                    if (peek() != '}' || at_end()) return error("expected '}' to close the repetition count");
                    ++pos_;
                    if (max < min) return error("repetition {n,m} with m < n");
                }
                PAGODA_RETURN_IF_ERROR(repeat(out, last_start, min, max));
            } else {
                return error(std::string("unexpected character '") + c + "'");
            }
        }
    }

    Status parse_count(uint64_t& value) {
        if (peek() < '0' || peek() > '9' || at_end()) return error("expected a number in the repetition count");
        value = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            value = value * 10 + static_cast<uint64_t>(peek() - '0');
            if (value > limits_.max_elements) return error("repetition count too large (over the element limit)");
            ++pos_;
        }
        return Status::ok();
    }

    // Replaces out[start..] (the symbol x) by min copies of x and (max - min) nested optional
    // copies, or a helper loop rule R ::= x R | (empty) when max is unbounded.
    Status repeat(Seq& out, size_t start, uint64_t min, uint64_t max) {
        Seq x(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
        out.resize(start);
        uint64_t k = x.size();
        uint64_t optional = max == kUnbounded ? 1 : max - min;
        // Checked before anything is copied: min * k plus one helper rule per optional copy
        // (x, the reference, two ends).
        if (min > limits_.max_elements || optional > limits_.max_elements) return count_elements(kUnbounded / 2);
        PAGODA_RETURN_IF_ERROR(count_elements(min * k));
        PAGODA_RETURN_IF_ERROR(count_elements(optional * (k + 4)));
        for (uint64_t i = 0; i < min; ++i) out.insert(out.end(), x.begin(), x.end());
        if (max == kUnbounded) {
            uint32_t r = new_helper_rule();
            Seq loop = x;
            loop.push_back({ElementKind::rule_ref, false, r, {}});
            rules_[r].alts = {std::move(loop), Seq{}};
            out.push_back({ElementKind::rule_ref, false, r, {}});
        } else if (optional > 0) {
            // Innermost first: R_k ::= x | ; R_i ::= x R_{i+1} |
            uint32_t inner = 0;
            bool have_inner = false;
            for (uint64_t i = 0; i < optional; ++i) {
                uint32_t r = new_helper_rule();
                Seq alt = x;
                if (have_inner) alt.push_back({ElementKind::rule_ref, false, inner, {}});
                rules_[r].alts = {std::move(alt), Seq{}};
                inner = r;
                have_inner = true;
            }
            out.push_back({ElementKind::rule_ref, false, inner, {}});
        }
        return Status::ok();
    }

    Status parse_hex(int digits, uint32_t& cp) {
        cp = 0;
        for (int i = 0; i < digits; ++i) {
            char h = peek();
            uint32_t v;
            if (at_end()) return error("escape ends early");
            if (h >= '0' && h <= '9')
                v = static_cast<uint32_t>(h - '0');
            else if (h >= 'a' && h <= 'f')
                v = static_cast<uint32_t>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
                v = static_cast<uint32_t>(h - 'A' + 10);
            else
                return error("expected a hex digit in escape");
            cp = cp * 16 + v;
            ++pos_;
        }
        if (cp > kMaxCodePoint) return error("escaped code point beyond U+10FFFF");
        // UTF-8 cannot encode them: a literal with one could never be produced.
        if (cp >= 0xD800 && cp <= 0xDFFF) return error("escaped code point is a UTF-16 surrogate, not a character");
        return Status::ok();
    }

    // One character of a literal or class: an escape or a UTF-8 encoded code point.
    Status parse_char(uint32_t& cp) {
        unsigned char c = static_cast<unsigned char>(peek());
        if (c == '\\') {
            ++pos_;
            if (at_end()) return error("escape at end of text");
            char e = peek();
            ++pos_;
            switch (e) {
                case 'x':
                    return parse_hex(2, cp);
                case 'u':
                    return parse_hex(4, cp);
                case 'U':
                    return parse_hex(8, cp);
                case 'n':
                    cp = '\n';
                    return Status::ok();
                case 'r':
                    cp = '\r';
                    return Status::ok();
                case 't':
                    cp = '\t';
                    return Status::ok();
                case '\\':
                case '"':
                case '[':
                case ']':
                case '-':
                case '^':
                    cp = static_cast<unsigned char>(e);
                    return Status::ok();
                default:
                    --pos_;
                    return error(std::string("unknown escape '\\") + e + "'");
            }
        }
        int len = c < 0x80                   ? 1
                  : (c >= 0xC2 && c <= 0xDF) ? 2
                  : (c >= 0xE0 && c <= 0xEF) ? 3
                  : (c >= 0xF0 && c <= 0xF4) ? 4
                                             : 0;
        if (len == 0 || pos_ + static_cast<size_t>(len) > src_.size()) return error("invalid UTF-8");
        cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (int i = 1; i < len; ++i) {
            unsigned char t = static_cast<unsigned char>(src_[pos_ + static_cast<size_t>(i)]);
            if ((t & 0xC0) != 0x80) return error("invalid UTF-8");
            cp = (cp << 6) | (t & 0x3Fu);
        }
        static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) return error("invalid UTF-8");
        pos_ += static_cast<size_t>(len);
        return Status::ok();
    }

    std::string_view src_;
    const GrammarLimits& limits_;
    size_t pos_ = 0;
    std::vector<IrRule> rules_;
    std::unordered_map<std::string, uint32_t> ids_;
    std::string current_rule_;
    uint64_t elements_ = 0;
    uint64_t helper_counter_ = 0;
};

Result<std::shared_ptr<const Grammar>> Parser::finish(std::string_view root_name) {
    for (const IrRule& r : rules_) {
        if (!r.defined) {
            return invalid_argument("GBNF: undefined rule '" + r.name + "' (referenced at offset " +
                                    std::to_string(r.first_ref) + ")");
        }
    }
    auto root = ids_.find(std::string(root_name));
    if (root == ids_.end()) return invalid_argument("GBNF: missing root rule '" + std::string(root_name) + "'");
    PAGODA_RETURN_IF_ERROR(check_left_recursion(rules_));

    auto g = std::make_shared<Grammar>();
    g->limits = limits_;
    g->root = root->second;
    g->source = "root=" + std::string(root_name) + "\n" + std::string(src_);
    g->rules.resize(rules_.size());
    g->elements.reserve(static_cast<size_t>(elements_) + rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
        g->rules[r].name = rules_[r].name;
        for (const Seq& seq : rules_[r].alts) {
            g->rules[r].alternatives.push_back(static_cast<uint32_t>(g->elements.size()));
            for (const IrElem& ir : seq) {
                Element e;
                e.kind = ir.kind;
                e.negated = ir.negated;
                e.rule = ir.rule;
                if (ir.kind == ElementKind::char_class) {
                    e.range_begin = static_cast<uint32_t>(g->ranges.size());
                    for (const CodeRange& cr : ir.ranges) {
                        g->ranges.push_back(cr);
                        for (uint32_t c = cr.lo; c <= std::min<uint32_t>(cr.hi, 127); ++c)
                            e.ascii[c >> 6] |= uint64_t{1} << (c & 63);
                    }
                    e.range_end = static_cast<uint32_t>(g->ranges.size());
                }
                g->elements.push_back(e);
            }
            g->elements.push_back(Element{});  // end
        }
    }
    return std::shared_ptr<const Grammar>(std::move(g));
}

}  // namespace

const std::string& grammar_source(const Grammar& grammar) { return grammar.source; }

Result<std::shared_ptr<const Grammar>> compile_gbnf(std::string_view text, std::string_view root_rule,
                                                    const GrammarLimits& limits) {
    if (text.size() > limits.max_text_bytes) {
        return invalid_argument("GBNF: grammar text of " + std::to_string(text.size()) +
                                " bytes exceeds the limit of " + std::to_string(limits.max_text_bytes));
    }
    Parser parser(text, limits);
    PAGODA_RETURN_IF_ERROR(parser.parse());
    return parser.finish(root_rule);
}

}  // namespace pagoda::grammar
