// Grammar::to_string: the compiled rules as GBNF (helper rules included).
#include "grammar/grammar_rules.h"

#include <cstdio>

namespace pagoda::grammar {
namespace {

void append_char(std::string& out, uint32_t cp) {
    if (cp == '\n')
        out += "\\n";
    else if (cp == '\r')
        out += "\\r";
    else if (cp == '\t')
        out += "\\t";
    else if (cp == '\\' || cp == '"' || cp == ']' || cp == '[' || cp == '-' || cp == '^') {
        out += '\\';
        out += static_cast<char>(cp);
    } else if (cp >= 0x20 && cp < 0x7F)
        out += static_cast<char>(cp);
    else {
        char buf[16];
        snprintf(buf, sizeof buf, "\\U%08X", cp);
        out += buf;
    }
}

}  // namespace

std::string Grammar::to_string() const {
    std::string out;
    for (const Rule& r : rules) {
        out += r.name + " ::=";
        for (size_t a = 0; a < r.alternatives.size(); ++a) {
            if (a) out += " |";
            for (uint32_t p = r.alternatives[a]; elements[p].kind != ElementKind::end; ++p) {
                const Element& e = elements[p];
                out += ' ';
                if (e.kind == ElementKind::rule_ref) {
                    out += rules[e.rule].name;
                    continue;
                }
                out += '[';
                for (uint32_t i = e.range_begin; i < e.range_end; ++i) {
                    append_char(out, ranges[i].lo);
                    if (ranges[i].hi != ranges[i].lo) {
                        out += '-';
                        append_char(out, ranges[i].hi);
                    }
                }
                out += ']';
            }
        }
        out += '\n';
    }
    return out;
}

}  // namespace pagoda::grammar
