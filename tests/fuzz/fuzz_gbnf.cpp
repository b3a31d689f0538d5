// libFuzzer target: compile arbitrary GBNF; when it compiles, drive a matcher and a
// TokenFilter with bytes from the input. Whatever the input, compilation and matching must
// return without crashing, hanging or allocating without bound, and three properties are
// checked (a failure traps):
//   - accept() in one call and byte by byte agree, and give equal state keys;
//   - can_accept() predicts accept();
//   - the TokenFilter mask equals trying each piece with can_accept() (brute force).
//
// Input: GBNF text, optionally followed by "\0" and sample bytes to match (otherwise the
// matcher is fed the text's own bytes, which often follow its literals).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar.h"

using namespace pagoda::grammar;

namespace {

std::vector<std::string> tiny_vocab(std::string_view sample) {
    std::vector<std::string> pieces = {"",     "a",    "b",  "ab", "\"",   "{",    "}",        " ",
                                       "\n",   "0",    "12", "x",  "\xC3", "\xA9", "\xC3\xA9", "\xF0\x9F\x98\x80",
                                       "\x80", "\xFF", "abc"};
    // Pieces cut from the sample, so tokens often continue real sentences.
    for (size_t i = 0; i + 1 < sample.size() && pieces.size() < 48; i += 2) {
        pieces.emplace_back(sample.substr(i, 1 + (i % 3)));
    }
    return pieces;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view source = input;
    std::string_view sample = input.substr(0, std::min<size_t>(input.size(), 48));
    if (const size_t nul = input.find('\0'); nul != std::string_view::npos) {
        source = input.substr(0, nul);
        sample = input.substr(nul + 1, 64);
    }

    GrammarLimits limits;
    limits.max_text_bytes = 16 << 10;
    limits.max_elements = 20'000;
    limits.max_stacks = 256;
    auto compiled = compile_gbnf(source, "root", limits);
    if (!compiled.is_ok()) return 0;
    std::shared_ptr<const Grammar> grammar = compiled.value();

    // Longest prefix of the sample the grammar accepts, fed byte by byte.
    GrammarMatcher stepwise(grammar);
    size_t accepted = 0;
    for (; accepted < sample.size(); ++accepted) {
        std::string_view byte = sample.substr(accepted, 1);
        bool predicted = stepwise.can_accept(byte);
        if (stepwise.accept(byte) != predicted) __builtin_trap();
        if (!predicted) break;
    }
    GrammarMatcher whole(grammar);
    if (!whole.accept(sample.substr(0, accepted))) __builtin_trap();
    if (whole.state_key() != stepwise.state_key()) __builtin_trap();
    if (whole.is_complete() != stepwise.is_complete() || whole.can_continue() != stepwise.can_continue()) {
        __builtin_trap();
    }
    if (accepted < sample.size() && whole.can_accept(sample.substr(0, accepted + 1).substr(accepted))) __builtin_trap();

    // Masks at a few points along the accepted prefix.
    auto vocab = std::make_shared<const TokenVocabulary>(tiny_vocab(sample));
    TokenFilter filter(vocab, 2);
    GrammarMatcher m(grammar);
    for (size_t at = 0;; at += 5) {
        const std::vector<uint64_t>& bits = filter.allowed(m);
        for (int32_t t = 0; t < vocab->size(); ++t) {
            bool expect = !vocab->piece(t).empty() && m.can_accept(vocab->piece(t));
            if (TokenFilter::test(bits, t) != expect) __builtin_trap();
        }
        if (at >= accepted) break;
        if (!m.accept(sample.substr(at, std::min<size_t>(5, accepted - at)))) __builtin_trap();
    }
    return 0;
}
