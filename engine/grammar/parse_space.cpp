// ParseSpace: hash-consed parse stacks and memoised byte steps (see parse_space.h).
#include "grammar/parse_space.h"

#include <algorithm>
#include <cstring>

namespace pagoda::grammar {
namespace {

// Length of the UTF-8 sequence a lead byte starts (0: not a lead byte, or one only an
// overlong encoding would use).
int utf8_length(uint32_t lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

}  // namespace

bool GrammarMatcher::State::complete() const {
    if (partial != 0) return false;
    for (const auto& s : stacks) {
        if (s.empty()) return true;
    }
    return false;
}

bool GrammarMatcher::State::can_continue() const {
    if (partial != 0) return true;
    for (const auto& s : stacks) {
        if (!s.empty()) return true;
    }
    return false;
}

ParseSpace::ParseSpace(const Grammar& grammar) : g_(grammar) {
    nodes_.push_back(0);  // the empty stack
    node_ids_.reserve(1024);
}

uint32_t ParseSpace::push(uint32_t parent, uint32_t pos) {
    uint64_t packed = (static_cast<uint64_t>(parent) << 32) | pos;
    auto [it, inserted] = node_ids_.try_emplace(packed, static_cast<uint32_t>(nodes_.size()));
    if (inserted) nodes_.push_back(packed);
    return it->second;
}

uint32_t ParseSpace::intern(std::vector<uint32_t>& stacks, uint32_t partial) {
    std::sort(stacks.begin(), stacks.end());
    stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
    key_scratch_.resize(4 + stacks.size() * 4);
    std::memcpy(key_scratch_.data(), &partial, 4);
    if (!stacks.empty()) std::memcpy(key_scratch_.data() + 4, stacks.data(), stacks.size() * 4);
    auto [it, inserted] = config_ids_.try_emplace(key_scratch_, static_cast<uint32_t>(configs_.size()));
    if (inserted) {
        configs_.push_back({stacks, partial});
        config_stacks_ += stacks.size();
        if (configs_.size() <= kDenseConfigs) dense_.resize(configs_.size() * 256, kUnknown);
    }
    return it->second;
}

void ParseSpace::push_alternatives(uint32_t base, uint32_t rule) {
    for (uint32_t alt : g_.rules[rule].alternatives) {
        work_.push_back(g_.elements[alt].kind == ElementKind::end ? base : push(base, alt));
    }
}

bool ParseSpace::expand(uint32_t stack) {
    work_.clear();
    work_.push_back(stack);
    while (!work_.empty()) {
        uint32_t s = work_.back();
        work_.pop_back();
        if (s >= seen_.size()) seen_.resize(std::max<size_t>(nodes_.size(), s + 1) * 2, 0);
        if (seen_[s] == generation_) continue;
        seen_[s] = generation_;
        if (budget_ == 0) return false;
        --budget_;
        if (s == kEmpty) {
            out_.push_back(s);
            continue;
        }
        uint32_t pos = pos_of(s);
        const Element& e = g_.elements[pos];
        if (e.kind == ElementKind::char_class) {
            out_.push_back(s);
            continue;
        }
        // Rule reference: continue after it in the parent (nothing to push when the
        // reference ends its alternative: tail position), then try each alternative.
        uint32_t base = parent_of(s);
        if (g_.elements[pos + 1].kind != ElementKind::end) base = push(base, pos + 1);
        push_alternatives(base, e.rule);
    }
    return true;
}

void ParseSpace::charge_closure() {
    uint64_t spent = closure_budget() - budget_;
    work_left_ = work_left_ > spent ? work_left_ - spent : 0;
}

uint32_t ParseSpace::finish_closure(uint32_t partial) {
    charge_closure();
    if (out_.empty()) return kDead;
    std::sort(out_.begin(), out_.end());
    out_.erase(std::unique(out_.begin(), out_.end()), out_.end());
    if (out_.size() > g_.limits.max_stacks) return kDead;
    std::vector<uint32_t> stacks = out_;
    return intern(stacks, partial);
}

uint32_t ParseSpace::initial() {
    out_.clear();
    ++generation_;
    budget_ = closure_budget();
    work_.clear();
    push_alternatives(kEmpty, g_.root);
    std::vector<uint32_t> starts = work_;
    for (uint32_t s : starts) {
        if (!expand(s)) {
            charge_closure();
            return kDead;
        }
    }
    return finish_closure(0);
}

uint32_t ParseSpace::advance(const std::vector<uint32_t>& stacks, uint32_t cp) {
    out_.clear();
    ++generation_;
    budget_ = closure_budget();
    for (uint32_t s : stacks) {
        if (s == kEmpty) continue;
        uint32_t pos = pos_of(s);
        if (!g_.matches(pos, cp)) continue;
        uint32_t base = parent_of(s);
        if (g_.elements[pos + 1].kind != ElementKind::end) base = push(base, pos + 1);
        if (!expand(base)) {
            charge_closure();
            return kDead;
        }
    }
    return finish_closure(0);
}

uint32_t ParseSpace::sparse_step(uint32_t config, uint8_t byte) {
    uint64_t key = (static_cast<uint64_t>(config) << 8) | byte;
    auto it = sparse_.find(key);
    if (it != sparse_.end()) return it->second;
    uint32_t t = compute_step(config, byte);
    sparse_.emplace(key, t);
    return t;
}

uint32_t ParseSpace::compute_step(uint32_t config, uint8_t byte) {
    uint64_t cost = configs_[config].stacks.size() + 1;
    if (work_left_ < cost) {
        exhausted_ = true;
        return kDead;
    }
    work_left_ -= cost;
    // Copies: interning may reallocate configs_.
    const std::vector<uint32_t> stacks = configs_[config].stacks;
    uint32_t partial = configs_[config].partial;
    uint32_t count = 0, bytes = 0;
    if (partial == 0) {
        if (byte < 0x80) return advance(stacks, byte);
        if (utf8_length(byte) == 0) return kDead;
        count = 1;
        bytes = byte;
    } else {
        if ((byte & 0xC0) != 0x80) return kDead;
        count = (partial >> 24) + 1;
        bytes = ((partial & 0xFFFFFFu) << 8) | byte;
    }
    uint32_t lead = (bytes >> (8 * (count - 1))) & 0xFF;
    int len = utf8_length(lead);
    uint32_t value = len == 2 ? (lead & 0x1F) : len == 3 ? (lead & 0x0F) : (lead & 0x07);
    for (uint32_t i = 1; i < count; ++i) value = (value << 6) | ((bytes >> (8 * (count - 1 - i))) & 0x3F);
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    static constexpr uint32_t kMax[5] = {0, 0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
    uint32_t remaining = static_cast<uint32_t>(len) - count;
    uint32_t lo = value << (6 * remaining);
    uint32_t hi = lo | ((1u << (6 * remaining)) - 1);
    lo = std::max(lo, kMin[len]);
    hi = std::min(hi, kMax[len]);
    if (lo > hi) return kDead;  // overlong or beyond U+10FFFF
    if (remaining == 0) {
        if (value >= 0xD800 && value <= 0xDFFF) return kDead;
        return advance(stacks, value);
    }
    // Keep the stacks whose next class some completion of this prefix could match
    // (surrogates are not in any class, so a surrogate-only prefix dies here).
    std::vector<uint32_t> kept;
    for (uint32_t s : stacks) {
        if (s != kEmpty && g_.intersects(pos_of(s), lo, hi)) kept.push_back(s);
    }
    if (kept.empty()) return kDead;
    return intern(kept, (count << 24) | bytes);
}

uint32_t ParseSpace::import(const GrammarMatcher::State& state) {
    std::vector<uint32_t> ids;
    ids.reserve(state.stacks.size());
    for (const auto& stack : state.stacks) {
        uint32_t id = kEmpty;
        for (uint32_t pos : stack) id = push(id, pos);
        ids.push_back(id);
    }
    if (ids.empty()) return kDead;
    return intern(ids, state.partial);
}

void ParseSpace::export_state(uint32_t config, GrammarMatcher::State& out) const {
    out.stacks.clear();
    out.partial = 0;
    out.key.clear();
    if (config != kDead) {
        const Config& c = configs_[config];
        out.partial = c.partial;
        for (uint32_t s : c.stacks) {
            std::vector<uint32_t> positions;
            for (uint32_t id = s; id != kEmpty; id = parent_of(id)) positions.push_back(pos_of(id));
            std::reverse(positions.begin(), positions.end());
            out.stacks.push_back(std::move(positions));
        }
        std::sort(out.stacks.begin(), out.stacks.end());
    }
    // Canonical key: partial, then each stack as its length and positions.
    size_t total = 4;
    for (const auto& s : out.stacks) total += 4 + 4 * s.size();
    out.key.resize(total);
    char* p = out.key.data();
    std::memcpy(p, &out.partial, 4);
    p += 4;
    for (const auto& s : out.stacks) {
        uint32_t n = static_cast<uint32_t>(s.size());
        std::memcpy(p, &n, 4);
        p += 4;
        if (n) std::memcpy(p, s.data(), 4 * s.size());
        p += 4 * s.size();
    }
}

}  // namespace pagoda::grammar
