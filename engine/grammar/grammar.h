// Constrained decoding: a context-free grammar in GBNF (the text format of llama.cpp's
// grammars, which users of llama-server already write) that the sampled text must follow.
//
//   compile_gbnf()      text -> Grammar (immutable, shared by every sequence using it)
//   GrammarMatcher      where one sequence's output stands in the grammar (a value type:
//                       parallel samples copy it)
//   TokenFilter         which vocabulary tokens may come next (json_schema_grammar.h turns
//                       a JSON Schema into GBNF for OpenAI's response_format)
//
// Grammars come from API requests: untrusted. Compilation refuses (with a message naming
// the rule) undefined rules, left recursion, and sizes beyond the limits below; matching
// never grows without bound (too many live parse stacks is an error, not a hang).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/status.h"

namespace pagoda::grammar {

struct GrammarLimits {
    size_t max_text_bytes = 1 << 20;   // GBNF source
    size_t max_elements = 200'000;     // after expanding repetitions such as x{2,50}
    size_t max_stacks = 4096;          // live parse stacks while matching (ambiguity)
};

class Grammar;  // grammar_rules.h: rules of alternatives of sequences of elements

// GBNF: `name ::= alternatives`, alternatives separated by `|`, elements: "literal",
// [a-z] / [^"\\] character classes, `.` (any character), rule names, ( groups ), and the
// repetitions *, +, ?, {n}, {n,}, {n,m}; `#` comments. Escapes \n \r \t \\ \" \] \xHH
// \uHHHH \UHHHHHHHH. Characters are Unicode code points; the output is UTF-8.
Result<std::shared_ptr<const Grammar>> compile_gbnf(std::string_view text, std::string_view root_rule = "root",
                                                    const GrammarLimits& limits = {});

// What the grammar was compiled from (root rule and GBNF text): equal sources compile to
// equal grammars, so caches of generated output key on it.
const std::string& grammar_source(const Grammar& grammar);

class GrammarMatcher {
public:
    explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

    // Appends bytes (any split of UTF-8: a character may end in a later call). Returns
    // false and leaves the state unchanged when they cannot continue a sentence of the
    // grammar (or would need more than max_stacks parse stacks).
    bool accept(std::string_view bytes);
    // Same test without changing the state.
    bool can_accept(std::string_view bytes) const;
    // The text so far is a whole sentence of the root rule (end of output allowed).
    bool is_complete() const;
    // Some byte may follow (false: the output must end here).
    bool can_continue() const;
    // Equal keys <=> equal states (the parse stacks and any partial UTF-8 character):
    // what TokenFilter caches masks by.
    const std::string& state_key() const;

    // Implementation detail shared with TokenFilter (token_filter.cpp).
    struct State;
    const State& state() const { return *state_; }

private:
    std::shared_ptr<const Grammar> grammar_;
    std::shared_ptr<const State> state_;  // immutable: copies of the matcher share it
};

// The token pieces of a vocabulary (Tokenizer::token_to_piece, no special rendering) in a
// byte trie, so a mask walks shared prefixes once. Empty pieces are never allowed.
class TokenVocabulary {
public:
    explicit TokenVocabulary(std::vector<std::string> pieces);
    int32_t size() const;
    const std::string& piece(int32_t token) const;

    struct Trie;
    const Trie& trie() const { return *trie_; }

private:
    std::vector<std::string> pieces_;
    std::shared_ptr<const Trie> trie_;
};

// allowed[token] for one matcher state: the token's piece can be accepted next.
// Caches the last few masks by state_key (JSON output revisits states, e.g. every
// character inside a string). Not thread-safe: one per engine-thread user.
class TokenFilter {
public:
    TokenFilter(std::shared_ptr<const TokenVocabulary> vocabulary, size_t cache_entries = 32);
    // Bit i of word i/64 set <=> token i allowed. Valid until the next call.
    const std::vector<uint64_t>& allowed(const GrammarMatcher& matcher);
    static bool test(const std::vector<uint64_t>& bits, int32_t token) {
        return (bits[static_cast<size_t>(token) >> 6] >> (token & 63)) & 1u;
    }

private:
    struct Cache;
    std::shared_ptr<const TokenVocabulary> vocabulary_;
    std::shared_ptr<Cache> cache_;
};

}  // namespace pagoda::grammar
