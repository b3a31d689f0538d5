#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tokenizer/unicode_nfc_data.h"
#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

namespace ud = unicode_data;

// Hangul syllables decompose and compose arithmetically (Unicode 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

int combining_class(uint32_t cp) {
    if (cp < 0x300) return 0;
    const auto* end = ud::kCombiningClasses + ud::kCombiningClassCount;
    const auto* it = std::lower_bound(ud::kCombiningClasses, end, cp,
                                      [](const ud::CombiningClass& e, uint32_t v) { return e.code_point < v; });
    return (it != end && it->code_point == cp) ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
        return;
    }
    if (cp >= 0xC0) {
        const auto* end = ud::kDecompositions + ud::kDecompositionCount;
        const auto* it = std::lower_bound(ud::kDecompositions, end, cp,
                                          [](const ud::Decomposition& e, uint32_t v) { return e.code_point < v; });
        if (it != end && it->code_point == cp) {
            out.insert(out.end(), ud::kDecompositionData + it->offset,
                       ud::kDecompositionData + it->offset + it->length);
            return;
        }
    }
    out.push_back(cp);
}

bool compose_pair(uint32_t first, uint32_t second, uint32_t& composite) {
    if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount) {
        composite = kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
        return true;
    }
    if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
        second < kTBase + kTCount) {
        composite = first + (second - kTBase);
        return true;
    }
    const auto* end = ud::kCompositions + ud::kCompositionCount;
    const auto* it = std::lower_bound(ud::kCompositions, end, std::pair<uint32_t, uint32_t>(first, second),
                                      [](const ud::Composition& e, const std::pair<uint32_t, uint32_t>& v) {
                                          return e.first < v.first || (e.first == v.first && e.second < v.second);
                                      });
    if (it != end && it->first == first && it->second == second) {
        composite = it->composite;
        return true;
    }
    return false;
}

// NFC of one run of code points, appended to `out` as UTF-8.
void normalize_run(std::vector<uint32_t>& decomposed, std::string& out) {
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    for (size_t i = 0; i < decomposed.size();) {
        if (combining_class(decomposed[i]) == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < decomposed.size() && combining_class(decomposed[j]) != 0) ++j;
        std::stable_sort(decomposed.begin() + static_cast<std::ptrdiff_t>(i),
                         decomposed.begin() + static_cast<std::ptrdiff_t>(j),
                         [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
        i = j;
    }
    // Canonical composition.
    std::vector<uint32_t> composed;
    composed.reserve(decomposed.size());
    ptrdiff_t starter = -1;  // index in `composed` of the last starter
    int last_ccc = -1;       // class of the last character after it; -1: none yet
    for (uint32_t cp : decomposed) {
        const int ccc = combining_class(cp);
        if (starter >= 0) {
            const bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= ccc);
            uint32_t composite = 0;
            if (!blocked && compose_pair(composed[static_cast<size_t>(starter)], cp, composite)) {
                composed[static_cast<size_t>(starter)] = composite;
                continue;
            }
        }
        if (ccc == 0) {
            starter = static_cast<ptrdiff_t>(composed.size());
            last_ccc = -1;
        } else {
            last_ccc = ccc;
        }
        composed.push_back(cp);
    }
    for (uint32_t cp : composed) utf8::append(out, cp);
    decomposed.clear();
}

}  // namespace

std::string to_nfc(std::string_view text) {
    // Below U+0300 every character is already NFC and composes with nothing before it, and
    // no such character is encoded with a lead byte of 0xCC or more.
    if (std::none_of(text.begin(), text.end(), [](char c) { return static_cast<uint8_t>(c) >= 0xCC; })) {
        return std::string(text);
    }
    std::string out;
    out.reserve(text.size());
    std::vector<uint32_t> decomposed;
    uint32_t cp = 0;
    for (size_t pos = 0; pos < text.size();) {
        const size_t n = utf8::decode(text, pos, cp);
        if (n == 0) {  // an invalid byte: kept, and nothing composes across it
            normalize_run(decomposed, out);
            out += text[pos++];
            continue;
        }
        decompose(cp, decomposed);
        pos += n;
    }
    normalize_run(decomposed, out);
    return out;
}

}  // namespace pagoda
