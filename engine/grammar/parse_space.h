// The matching machinery shared by GrammarMatcher and TokenFilter (private to engine/grammar).
//
// A parse stack is a list of grammar positions (element indices); its top is the next
// element to match, and the empty stack means the root rule is finished. Stacks are
// hash-consed into a tree of (position, parent) nodes, so equal stacks have equal ids and a
// step only creates the few nodes that change at the top. A configuration is a sorted set
// of stack ids plus a partial UTF-8 character; step(config, byte) is memoised, so walking
// the token trie turns into a lazily built DFA (inside a JSON string nearly every byte leads
// back to the same configuration, and a mask costs about one table lookup per trie node).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/grammar_rules.h"

namespace pagoda::grammar {

// The matcher's value: the stacks spelled out (sorted, each bottom -> top), independent of
// any ParseSpace, so it can be shared between matcher copies and threads.
struct GrammarMatcher::State {
    std::shared_ptr<const Grammar> grammar;
    std::vector<std::vector<uint32_t>> stacks;
    uint32_t partial = 0;  // see ParseSpace: 0, or (byte count << 24) | the bytes so far
    std::string key;

    bool complete() const;
    bool can_continue() const;
};

class ParseSpace {
public:
    static constexpr uint32_t kDead = 0xFFFFFFFFu;

    explicit ParseSpace(const Grammar& grammar);

    uint32_t initial();
    uint32_t import(const GrammarMatcher::State& state);
    void export_state(uint32_t config, GrammarMatcher::State& out) const;

    // The configuration after one more byte, or kDead.
    uint32_t step(uint32_t config, uint8_t byte) {
        if (config < kDenseConfigs) {
            uint32_t t = dense_[static_cast<size_t>(config) * 256 + byte];
            if (t != kUnknown) return t;
            t = compute_step(config, byte);
            dense_[static_cast<size_t>(config) * 256 + byte] = t;
            return t;
        }
        return sparse_step(config, byte);
    }

    // Caps the work (stacks stepped and expanded) of the steps still to compute. Once spent,
    // step() answers kDead for anything not memoised yet and exhausted() turns true: the
    // caller must then drop this ParseSpace (its memo now holds false kDeads).
    void set_work_budget(uint64_t units) { work_left_ = units; }
    bool exhausted() const { return exhausted_; }

    size_t num_configs() const { return configs_.size(); }
    // Stack ids held by all configurations (the bulk of the memory besides nodes).
    size_t num_config_stacks() const { return config_stacks_; }
    size_t num_nodes() const { return nodes_.size(); }

private:
    static constexpr uint32_t kUnknown = 0xFFFFFFFEu;
    static constexpr uint32_t kEmpty = 0;  // the empty stack's id
    // The first configurations found (the hot ones: a JSON string's loop is found at once)
    // get a dense 256-entry row of transitions; the rest, which only grammars that remember
    // every byte produce (e.g. palindromes), a hash map, so memory stays ~100 bytes each.
    static constexpr uint32_t kDenseConfigs = 4096;

    struct Config {
        std::vector<uint32_t> stacks;  // sorted stack ids
        uint32_t partial = 0;
    };

    uint32_t pos_of(uint32_t stack) const { return static_cast<uint32_t>(nodes_[stack]); }
    uint32_t parent_of(uint32_t stack) const { return static_cast<uint32_t>(nodes_[stack] >> 32); }
    uint32_t push(uint32_t parent, uint32_t pos);
    uint32_t intern(std::vector<uint32_t>& stacks, uint32_t partial);
    uint32_t compute_step(uint32_t config, uint8_t byte);
    uint32_t sparse_step(uint32_t config, uint8_t byte);
    uint32_t advance(const std::vector<uint32_t>& stacks, uint32_t cp);
    // Appends to out_ the closure of `stack`: every stack reachable by expanding rule
    // references on top, whose top is a character class (or that is empty). False: budget
    // (limits.max_stacks) exceeded.
    bool expand(uint32_t stack);
    void push_alternatives(uint32_t base, uint32_t rule);
    uint32_t finish_closure(uint32_t partial);
    void charge_closure();
    size_t closure_budget() const { return g_.limits.max_stacks * 16 + g_.elements.size(); }

    const Grammar& g_;
    std::vector<uint64_t> nodes_;  // id -> (parent << 32) | pos; id 0 = empty stack
    std::unordered_map<uint64_t, uint32_t> node_ids_;
    std::vector<Config> configs_;
    std::unordered_map<std::string, uint32_t> config_ids_;
    std::vector<uint32_t> dense_;                    // [config * 256 + byte] -> config, kDead or kUnknown
    std::unordered_map<uint64_t, uint32_t> sparse_;  // (config << 8 | byte) -> config or kDead

    // Scratch for one closure.
    std::vector<uint32_t> out_;
    std::vector<uint32_t> work_;
    std::vector<uint32_t> seen_;  // node id -> generation it was expanded in
    uint32_t generation_ = 0;
    size_t budget_ = 0;
    uint64_t work_left_ = ~uint64_t{0};
    bool exhausted_ = false;
    size_t config_stacks_ = 0;
    std::string key_scratch_;
};

}  // namespace pagoda::grammar
