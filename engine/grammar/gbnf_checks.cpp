// Whole-grammar checks on the parser's intermediate form.
#include "grammar/gbnf_ir.h"

namespace pagoda::grammar {

// Left recursion would make the matcher expand rules forever without consuming input: a
// rule reaching itself through references that stand first in an alternative, or after
// elements that can all match nothing. Linear: nullable rules by a worklist, then an
// iterative DFS over the "can start with" graph.
Status check_left_recursion(const std::vector<IrRule>& rules) {
    const size_t n = rules.size();
    std::vector<char> nullable(n, 0);
    struct AltRef {
        uint32_t rule;
        uint32_t alt;
    };
    std::vector<std::vector<AltRef>> used_in(n);  // rule -> alternatives that reference it
    std::vector<std::vector<uint32_t>> remaining(n);
    std::vector<uint32_t> work;
    for (uint32_t r = 0; r < n; ++r) {
        remaining[r].resize(rules[r].alts.size());
        for (uint32_t a = 0; a < rules[r].alts.size(); ++a) {
            const Seq& seq = rules[r].alts[a];
            bool has_char = false;
            for (const IrElem& e : seq) has_char |= e.kind == ElementKind::char_class;
            if (has_char) {
                remaining[r][a] = UINT32_MAX;  // never nullable
                continue;
            }
            remaining[r][a] = static_cast<uint32_t>(seq.size());
            for (const IrElem& e : seq) used_in[e.rule].push_back({r, a});
            if (seq.empty() && !nullable[r]) {
                nullable[r] = 1;
                work.push_back(r);
            }
        }
    }
    while (!work.empty()) {
        uint32_t r = work.back();
        work.pop_back();
        for (const AltRef& ref : used_in[r]) {
            if (--remaining[ref.rule][ref.alt] == 0 && !nullable[ref.rule]) {
                nullable[ref.rule] = 1;
                work.push_back(ref.rule);
            }
        }
    }
    // Edges: rule -> rules it can start with.
    std::vector<std::vector<uint32_t>> edges(n);
    for (uint32_t r = 0; r < n; ++r) {
        for (const Seq& seq : rules[r].alts) {
            for (const IrElem& e : seq) {
                if (e.kind != ElementKind::rule_ref) break;
                edges[r].push_back(e.rule);
                if (!nullable[e.rule]) break;
            }
        }
    }
    std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the DFS path, 2 done
    struct Frame {
        uint32_t rule;
        size_t next;
    };
    std::vector<Frame> path;
    for (uint32_t start = 0; start < n; ++start) {
        if (color[start]) continue;
        path.push_back({start, 0});
        color[start] = 1;
        while (!path.empty()) {
            Frame& f = path.back();
            if (f.next == edges[f.rule].size()) {
                color[f.rule] = 2;
                path.pop_back();
                continue;
            }
            uint32_t to = edges[f.rule][f.next++];
            if (color[to] == 1) {
                std::string cycle;
                bool in = false;
                for (const Frame& p : path) {
                    in |= p.rule == to;
                    if (in) cycle += "'" + rules[p.rule].name + "' -> ";
                }
                cycle += "'" + rules[to].name + "'";
                return invalid_argument("GBNF: left recursion: " + cycle +
                                        " can repeat without matching a character (a rule that reaches itself "
                                        "first, or a repetition of something that can be empty)");
            }
            if (color[to] == 0) {
                color[to] = 1;
                path.push_back({to, 0});
            }
        }
    }
    return Status::ok();
}

}  // namespace pagoda::grammar
