// GrammarMatcher: a value holding an immutable State (parse stacks + partial UTF-8
// character). Each accept() builds a small ParseSpace from the state, steps it byte by byte
// and spells the result back out; copies of a matcher share the state.
#include "grammar/parse_space.h"

namespace pagoda::grammar {
namespace {

std::shared_ptr<const GrammarMatcher::State> initial_state(const std::shared_ptr<const Grammar>& grammar) {
    auto state = std::make_shared<GrammarMatcher::State>();
    state->grammar = grammar;
    if (grammar) {
        ParseSpace space(*grammar);
        space.export_state(space.initial(), *state);
    } else {
        state->key.assign(4, '\0');
    }
    return state;
}

// The state after `bytes`, or null when they are rejected.
std::shared_ptr<GrammarMatcher::State> advance(const GrammarMatcher::State& from, std::string_view bytes) {
    if (!from.grammar) return nullptr;
    ParseSpace space(*from.grammar);
    uint32_t config = space.import(from);
    for (char c : bytes) {
        if (config == ParseSpace::kDead) return nullptr;
        config = space.step(config, static_cast<uint8_t>(c));
    }
    if (config == ParseSpace::kDead) return nullptr;
    auto next = std::make_shared<GrammarMatcher::State>();
    next->grammar = from.grammar;
    space.export_state(config, *next);
    return next;
}

}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar)
    : grammar_(std::move(grammar)), state_(initial_state(grammar_)) {}

bool GrammarMatcher::accept(std::string_view bytes) {
    if (bytes.empty()) return !state_->stacks.empty();
    auto next = advance(*state_, bytes);
    if (!next) return false;
    state_ = std::move(next);
    return true;
}

bool GrammarMatcher::can_accept(std::string_view bytes) const {
    if (bytes.empty()) return !state_->stacks.empty();
    return advance(*state_, bytes) != nullptr;
}

bool GrammarMatcher::is_complete() const { return state_->complete(); }

bool GrammarMatcher::can_continue() const { return state_->can_continue(); }

const std::string& GrammarMatcher::state_key() const { return state_->key; }

}  // namespace pagoda::grammar
