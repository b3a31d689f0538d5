// TokenVocabulary (pieces in a byte trie) and TokenFilter (which tokens a grammar state
// allows).
//
// The trie is stored in preorder: node i's subtree is [i, subtree_end), so the mask walk is a
// single forward scan that jumps over a subtree as soon as its prefix is rejected, keeping
// one parse configuration per depth. Steps are memoised in a ParseSpace kept across calls
// (same grammar), so a mask mostly costs one table lookup per visited trie node.
#include <algorithm>
#include <list>

#include "grammar/parse_space.h"

namespace pagoda::grammar {

struct TokenVocabulary::Trie {
    struct Node {
        uint32_t subtree_end = 0;  // preorder index after this node's subtree
        uint32_t token_begin = 0;  // tokens whose piece ends here: tokens[token_begin, token_end)
        uint32_t token_end = 0;
        uint32_t depth = 0;  // = length of the prefix; node 0 (root) has depth 0
        uint8_t byte = 0;
    };
    std::vector<Node> nodes;
    std::vector<int32_t> tokens;
    uint32_t max_depth = 0;
};

TokenVocabulary::TokenVocabulary(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {
    auto trie = std::make_shared<Trie>();
    std::vector<int32_t> order;
    order.reserve(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
        if (!pieces_[i].empty()) order.push_back(static_cast<int32_t>(i));
    }
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return pieces_[static_cast<size_t>(a)] < pieces_[static_cast<size_t>(b)] ||
               (pieces_[static_cast<size_t>(a)] == pieces_[static_cast<size_t>(b)] && a < b);
    });
    trie->nodes.push_back({});
    std::vector<uint32_t> path = {0};  // node index at each depth of the current prefix
    const std::string* prev = nullptr;
    for (int32_t t : order) {
        const std::string& p = pieces_[static_cast<size_t>(t)];
        size_t lcp = 0;
        if (prev) {
            size_t n = std::min(prev->size(), p.size());
            while (lcp < n && (*prev)[lcp] == p[lcp]) ++lcp;
        }
        while (path.size() > lcp + 1) {
            trie->nodes[path.back()].subtree_end = static_cast<uint32_t>(trie->nodes.size());
            path.pop_back();
        }
        for (size_t d = lcp; d < p.size(); ++d) {
            Trie::Node node;
            node.depth = static_cast<uint32_t>(d + 1);
            node.byte = static_cast<uint8_t>(p[d]);
            node.token_begin = node.token_end = static_cast<uint32_t>(trie->tokens.size());
            path.push_back(static_cast<uint32_t>(trie->nodes.size()));
            trie->nodes.push_back(node);
        }
        trie->tokens.push_back(t);
        trie->nodes[path.back()].token_end = static_cast<uint32_t>(trie->tokens.size());
        trie->max_depth = std::max(trie->max_depth, static_cast<uint32_t>(p.size()));
        prev = &p;
    }
    while (!path.empty()) {
        trie->nodes[path.back()].subtree_end = static_cast<uint32_t>(trie->nodes.size());
        path.pop_back();
    }
    trie_ = std::move(trie);
}

int32_t TokenVocabulary::size() const { return static_cast<int32_t>(pieces_.size()); }

const std::string& TokenVocabulary::piece(int32_t token) const { return pieces_[static_cast<size_t>(token)]; }

struct TokenFilter::Cache {
    struct Entry {
        std::shared_ptr<const Grammar> grammar;  // held so a freed grammar's address is never confused
        std::string key;
        std::vector<uint64_t> bits;
    };
    size_t capacity = 0;
    std::list<Entry> entries;       // most recently used first
    std::vector<uint64_t> scratch;  // the mask when capacity is 0

    std::shared_ptr<const Grammar> space_grammar;
    std::unique_ptr<ParseSpace> space;
    std::vector<uint32_t> depth_config;
};

TokenFilter::TokenFilter(std::shared_ptr<const TokenVocabulary> vocabulary, size_t cache_entries)
    : vocabulary_(std::move(vocabulary)), cache_(std::make_shared<Cache>()) {
    cache_->capacity = cache_entries;
}

namespace {

// Memoised configurations and nodes grow with every distinct state seen; start afresh past
// these sizes (tens of MB) rather than grow without bound over a long generation.
constexpr size_t kMaxConfigs = 100'000;
constexpr size_t kMaxConfigStacks = 4'000'000;
constexpr size_t kMaxNodes = 2'000'000;
// Work cap for one mask (stacks stepped + expanded; roughly a second). Only hostile grammars
// (ambiguous ones that also remember every byte) get near it; their mask then leaves out
// the tokens not decided yet: fewer tokens, never a wrong one.
constexpr uint64_t kMaskWorkBudget = 20'000'000;

}  // namespace

const std::vector<uint64_t>& TokenFilter::allowed(const GrammarMatcher& matcher) {
    Cache& c = *cache_;
    const GrammarMatcher::State& state = matcher.state();
    const size_t words = (static_cast<size_t>(vocabulary_->size()) + 63) / 64;

    for (auto it = c.entries.begin(); it != c.entries.end(); ++it) {
        if (it->grammar == state.grammar && it->key == state.key) {
            c.entries.splice(c.entries.begin(), c.entries, it);
            return c.entries.front().bits;
        }
    }

    std::vector<uint64_t> bits(words, 0);
    if (state.grammar && !state.stacks.empty()) {
        if (c.space_grammar != state.grammar || !c.space || c.space->num_configs() > kMaxConfigs ||
            c.space->num_config_stacks() > kMaxConfigStacks || c.space->num_nodes() > kMaxNodes) {
            c.space = std::make_unique<ParseSpace>(*state.grammar);
            c.space_grammar = state.grammar;
        }
        ParseSpace& space = *c.space;
        space.set_work_budget(kMaskWorkBudget);
        const TokenVocabulary::Trie& trie = vocabulary_->trie();
        c.depth_config.resize(static_cast<size_t>(trie.max_depth) + 1);
        uint32_t* cfg = c.depth_config.data();
        cfg[0] = space.import(state);
        if (cfg[0] != ParseSpace::kDead) {
            const auto* nodes = trie.nodes.data();
            const uint32_t n = static_cast<uint32_t>(trie.nodes.size());
            uint32_t i = 1;
            while (i < n) {
                const auto& node = nodes[i];
                uint32_t next = space.step(cfg[node.depth - 1], node.byte);
                if (next == ParseSpace::kDead) {
                    i = node.subtree_end;
                    continue;
                }
                cfg[node.depth] = next;
                for (uint32_t k = node.token_begin; k < node.token_end; ++k) {
                    uint32_t t = static_cast<uint32_t>(trie.tokens[k]);
                    bits[t >> 6] |= uint64_t{1} << (t & 63);
                }
                ++i;
            }
        }
    }

    bool partial_mask = c.space && c.space->exhausted();
    if (partial_mask) c.space.reset();  // its memo holds kDeads that only mean "out of budget"
    if (c.capacity == 0 || partial_mask) {
        c.scratch = std::move(bits);
        return c.scratch;
    }
    if (c.entries.size() >= c.capacity) c.entries.pop_back();
    c.entries.push_front({state.grammar, state.key, std::move(bits)});
    return c.entries.front().bits;
}

}  // namespace pagoda::grammar
