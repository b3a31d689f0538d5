// The compiled form of a GBNF grammar (compile_gbnf's output): rules -> alternatives ->
// sequences of elements, flattened into one element array so a parse position is a single
// index (what the matcher's parse stacks hold).
//
//   elements_:  [alt of rule 0 ... end][alt ... end][alt of rule 1 ... end] ...
//   rules_[r].alternatives: index of each alternative's first element
//
// Repetitions, groups and optionals are already rewritten into helper rules (named
// "<rule>_<n>"), so the matcher only knows three element kinds. Character classes are
// normalised: negation is applied at compile time (the ranges are the code points that
// match), surrogates are removed (UTF-8 cannot encode them), ranges are sorted and merged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grammar/grammar.h"

namespace pagoda::grammar {

struct CodeRange {
    uint32_t lo = 0;  // inclusive
    uint32_t hi = 0;  // inclusive
};

enum class ElementKind : uint8_t {
    end,         // closes an alternative
    char_class,  // one code point in ranges [range_begin, range_end) of Grammar::ranges
    rule_ref,    // any alternative of rule `rule`
};

struct Element {
    ElementKind kind = ElementKind::end;
    bool negated = false;      // char_class as written ([^...]); the ranges already reflect it
    uint32_t rule = 0;         // rule_ref
    uint32_t range_begin = 0;  // char_class
    uint32_t range_end = 0;
    uint64_t ascii[2] = {0, 0};  // char_class: bit c set <=> code point c < 128 matches (fast path)
};

struct Rule {
    std::string name;                    // as written, or "<origin>_<n>" for a helper rule
    std::vector<uint32_t> alternatives;  // first element of each alternative (may be an `end`)
};

class Grammar {
public:
    std::vector<Rule> rules;
    std::vector<Element> elements;
    std::vector<CodeRange> ranges;
    uint32_t root = 0;
    GrammarLimits limits;
    std::string source;  // "root=<root name>\n<GBNF text>": grammar_source()

    bool matches(uint32_t pos, uint32_t cp) const {
        const Element& e = elements[pos];
        if (cp < 128) return (e.ascii[cp >> 6] >> (cp & 63)) & 1u;
        return intersects(pos, cp, cp);
    }

    // Some code point in [lo, hi] matches the char_class at `pos`.
    bool intersects(uint32_t pos, uint32_t lo, uint32_t hi) const {
        const Element& e = elements[pos];
        uint32_t a = e.range_begin, b = e.range_end;
        while (a < b) {  // first range whose hi >= lo
            uint32_t mid = a + (b - a) / 2;
            if (ranges[mid].hi < lo)
                a = mid + 1;
            else
                b = mid;
        }
        return a < e.range_end && ranges[a].lo <= hi;
    }

    // Readable GBNF of the compiled rules (helper rules included), for tests and debugging.
    std::string to_string() const;
};

}  // namespace pagoda::grammar
