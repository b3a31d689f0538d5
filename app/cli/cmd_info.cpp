// `pagoda info PATH`: what a GGUF file holds. Works on any valid GGUF, including
// architectures Pagoda cannot run (it says so) and vocabulary-only files.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>

#include "args.h"
#include "commands.h"
#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/model_config.h"
#include "model/model_weights.h"

namespace pagoda::cli {

namespace {

std::string human_bytes(uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    char buf[64];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
    else
        std::snprintf(buf, sizeof buf, "%.2f %s (%" PRIu64 " bytes)", v, units[u], n);
    return buf;
}

std::string human_count(uint64_t n) {
    char buf[64];
    if (n >= 1000000000ull)
        std::snprintf(buf, sizeof buf, "%.2fB (%" PRIu64 ")", n / 1e9, n);
    else if (n >= 1000000ull)
        std::snprintf(buf, sizeof buf, "%.2fM (%" PRIu64 ")", n / 1e6, n);
    else if (n >= 1000ull)
        std::snprintf(buf, sizeof buf, "%.2fK (%" PRIu64 ")", n / 1e3, n);
    else
        std::snprintf(buf, sizeof buf, "%" PRIu64, n);
    return buf;
}

// A metadata value as text, for files whose architecture we cannot parse fully.
std::string value_text(const GgufFile& gguf, const std::string& key) {
    const GgufValue* v = gguf.find(key);
    if (!v) return "-";
    if (auto i = v->as_int()) return std::to_string(*i);
    if (auto f = v->as_float()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", *f);
        return buf;
    }
    if (const std::string* s = v->as_string()) return *s;
    if (const auto* a = v->as_array()) return "array of " + std::to_string(a->items.size());
    return "?";
}

}  // namespace

int run_info(int argc, char** argv) {
    Args args("pagoda info PATH", "Describes a GGUF model file: architecture, dimensions, tensor types, tokenizer.");
    args.positional("PATH", "GGUF file");
    if (!args.parse(argc, argv)) return args.exit_code();
    if (args.positionals().size() != 1) {
        std::fprintf(stderr, "error: expected one GGUF file\n\n%s", args.help().c_str());
        return 2;
    }
    const std::string path = args.positionals()[0];
    auto opened = GgufFile::open(path);
    if (!opened) {
        std::fprintf(stderr, "pagoda info: %s\n", opened.status().to_string().c_str());
        return 1;
    }
    const GgufFile& gguf = *opened.value();

    std::printf("file:            %s\n", path.c_str());
    std::printf("file size:       %s\n", human_bytes(gguf.file_size()).c_str());
    std::printf("gguf version:    %u\n", gguf.version());
    if (const std::string* name = gguf.get_string("general.name")) std::printf("name:            %s\n", name->c_str());

    const std::string* arch = gguf.get_string("general.architecture");
    auto config = parse_model_config(gguf);
    Status runnable = config ? ModelWeights::validate(gguf, config.value()) : config.status();
    std::printf("architecture:    %s", arch ? arch->c_str() : "(none)");
    if (gguf.tensors().empty()) {
        std::printf(" (vocabulary only: no tensors)");
    } else if (!runnable) {
        std::printf(" (not runnable: %s)", runnable.message().c_str());
    }
    std::printf("\n");

    if (config) {
        const ModelConfig& c = config.value();
        std::printf("embedding:       %d\n", c.n_embd);
        std::printf("layers:          %d\n", c.n_layers);
        std::printf("ffn:             %d\n", c.n_ff);
        std::printf("heads:           %d\n", c.n_heads);
        std::printf("kv heads:        %d\n", c.n_kv_heads);
        std::printf("head dim:        %d\n", c.head_dim);
        std::printf("context length:  %d\n", c.n_ctx_train);
        std::printf("rope:            %s, base %g", c.rope_neox ? "neox" : "normal", c.rope_freq_base);
        if (c.rope_freq_scale != 1.0f)
            std::printf(", %s scaling x%g", c.rope_scaling_type.c_str(), 1.0 / c.rope_freq_scale);
        if (gguf.find_tensor("rope_freqs.weight")) std::printf(", frequency factors (rope_freqs)");
        std::printf("\n");
        std::printf("vocab size:      %d\n", c.n_vocab);
        std::printf("tied embeddings: %s\n", gguf.find_tensor("output.weight") ? "no" : "yes");
    } else if (arch) {
        // Whatever the usual keys say, without judging them.
        const std::string p = *arch + ".";
        std::printf("embedding:       %s\n", value_text(gguf, p + "embedding_length").c_str());
        std::printf("layers:          %s\n", value_text(gguf, p + "block_count").c_str());
        std::printf("ffn:             %s\n", value_text(gguf, p + "feed_forward_length").c_str());
        std::printf("heads:           %s\n", value_text(gguf, p + "attention.head_count").c_str());
        std::printf("kv heads:        %s\n", value_text(gguf, p + "attention.head_count_kv").c_str());
        std::printf("context length:  %s\n", value_text(gguf, p + "context_length").c_str());
        std::printf("rope base:       %s\n", value_text(gguf, p + "rope.freq_base").c_str());
        if (const GgufTensorInfo* e = gguf.find_tensor("token_embd.weight"); e && e->dims.size() == 2)
            std::printf("vocab size:      %" PRId64 "\n", e->dims[1]);
    }
    if (const auto* tokens = gguf.get_array("tokenizer.ggml.tokens"))
        std::printf("tokenizer vocab: %zu tokens\n", tokens->items.size());

    uint64_t params = 0;
    std::map<std::string, int> type_counts;
    std::map<std::string, uint64_t> type_bytes;
    for (const GgufTensorInfo& t : gguf.tensors()) {
        params += static_cast<uint64_t>(t.n_elements());
        const char* name = ggml_type_name(t.type);
        type_counts[name] += 1;
        type_bytes[name] += t.n_bytes;
    }
    std::printf("tensors:         %zu\n", gguf.tensors().size());
    std::printf("parameters:      %s\n", human_count(params).c_str());
    std::printf("tensor types:    ");
    // Most common first, as "q4_K: 121, q6_K: 25, f32: 45" reads best largest-first.
    std::multimap<int, std::string, std::greater<>> by_count;
    for (const auto& [name, count] : type_counts) by_count.emplace(count, name);
    bool first = true;
    for (const auto& [count, name] : by_count) {
        std::printf("%s%s: %d", first ? "" : ", ", name.c_str(), count);
        first = false;
    }
    std::printf("%s\n", first ? "(none)" : "");

    const std::string* tk = gguf.get_string("tokenizer.ggml.model");
    std::printf("tokenizer:       %s\n", tk ? tk->c_str() : "(none)");
    if (const std::string* pre = gguf.get_string("tokenizer.ggml.pre"))
        std::printf("pre-tokenizer:   %s\n", pre->c_str());
    if (auto id = gguf.get_int("tokenizer.ggml.bos_token_id")) std::printf("bos token:       %" PRId64 "\n", *id);
    if (auto id = gguf.get_int("tokenizer.ggml.eos_token_id")) std::printf("eos token:       %" PRId64 "\n", *id);
    std::printf("chat template:   %s\n", gguf.find("tokenizer.chat_template") ? "yes" : "no");
    return 0;
}

}  // namespace pagoda::cli
