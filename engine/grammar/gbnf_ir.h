// The parser's intermediate form (private to engine/grammar): rules of alternatives of
// element sequences, before they are checked and flattened into a Grammar.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grammar/grammar_rules.h"
#include "pagoda/status.h"

namespace pagoda::grammar {

struct IrElem {
    ElementKind kind = ElementKind::char_class;
    bool negated = false;
    uint32_t rule = 0;
    std::vector<CodeRange> ranges;  // normalised (see normalise_class)
};
using Seq = std::vector<IrElem>;

struct IrRule {
    std::string name;
    std::vector<Seq> alts;
    bool defined = false;
    size_t first_ref = 0;  // offset of the first reference (for "undefined rule" errors)
};

// Refuses left recursion (see gbnf_checks.cpp).
Status check_left_recursion(const std::vector<IrRule>& rules);

}  // namespace pagoda::grammar
