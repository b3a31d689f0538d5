// libFuzzer target: load arbitrary bytes as a Hugging Face tokenizer.json and, when they
// load, encode and decode a few fixed texts and a slice of the input itself. Whatever the
// input, loading must return a tokenizer or a Status, and encode/decode must return,
// without crashing, hanging, leaking or allocating without bound.
//
// Input: tokenizer.json text, optionally followed by "\0" and tokenizer_config.json text
// (so the fuzzer can vary the bos/eos/add_bos settings as well).
//
// Seeds: the real Llama 3 / Qwen 3 tokenizer.json files (9-11 MB) are larger than the cap
// below, so seed with cut-down copies of them (first N vocab entries and the merges among
// them) plus small hand-written files; see tests/data/tokenizer_json/.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/hf_tokenizer_json.h"

namespace {

// Real tokenizer.json files are 2-12 MB, but every code path is reachable with a small
// vocabulary; larger inputs only slow the fuzzer down.
constexpr size_t kMaxInputBytes = size_t{4} << 20;
// Bounds the work per input: a text of n bytes costs at most ~n^2 merges in BPE.
constexpr size_t kMaxSelfFragmentBytes = 512;

void exercise(const pagoda::Tokenizer& tok, std::string_view text) {
    for (const bool parse_special : {false, true}) {
        for (const bool add_special : {false, true}) {
            const std::vector<pagoda::TokenId> ids = tok.encode(text, add_special, parse_special);
            for (const pagoda::TokenId id : ids) {
                // Every id the tokenizer hands out must be one it can describe.
                if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
                (void)tok.token_type(id);
                (void)tok.token_to_piece(id, true);
            }
            (void)tok.decode(std::span<const pagoda::TokenId>(ids), false);
            (void)tok.decode(std::span<const pagoda::TokenId>(ids), true);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > kMaxInputBytes) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view tokenizer_json = input;
    std::string_view config_json;
    if (const size_t nul = input.find('\0'); nul != std::string_view::npos) {
        tokenizer_json = input.substr(0, nul);
        config_json = input.substr(nul + 1);
    }

    auto loaded = pagoda::parse_hf_tokenizer(tokenizer_json, config_json, "fuzz.json");
    if (!loaded.is_ok()) return 0;
    const pagoda::Tokenizer& tok = *loaded.value();
    (void)tok.kind();
    (void)tok.special();

    static const char* const kTexts[] = {
        "",
        " ",
        "Hello world! It's 2024, don't   panic.\n\n\tx",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|im_start|>user\n你好，世界 😶\u200d🌫\ufe0f e\xcc\x81<|im_end|>\n<s></s><unk>",
        "1234567890 \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 \xc3\xa9\xff\xfe invalid utf-8 \xe4\xbd",
    };
    for (const char* text : kTexts) exercise(tok, text);
    exercise(tok, input.substr(0, kMaxSelfFragmentBytes));
    // Out-of-range and boundary ids must be handled, not trusted.
    const pagoda::TokenId odd_ids[] = {-1, 0, tok.vocab_size() - 1, tok.vocab_size(), 1 << 30};
    (void)tok.decode(std::span<const pagoda::TokenId>(odd_ids), true);
    for (const pagoda::TokenId id : odd_ids) (void)tok.token_to_piece(id, true);
    return 0;
}
