// `pagoda generate`: one prompt, one continuation, streamed to stdout as it is decoded.
// Only the generated text (or ids, with --ids) goes to stdout; load time, device choice
// and speed go to stderr, so the output can be piped or compared byte for byte.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "args.h"
#include "backend_factory.h"
#include "commands.h"
#include "kv/block_allocator.h"
#include "model/ggml_type.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "sched/sequence_runner.h"

namespace pagoda::cli {

namespace {

constexpr int32_t kDefaultMaxCtx = 4096;
constexpr int64_t kMaxCtxSize = 1 << 20;
constexpr int32_t kBlockSize = 16;

// Holds back the bytes of a UTF-8 character split across tokens, so every write to
// stdout is complete UTF-8 (bytes that can never become valid are passed through).
class Utf8Stream {
public:
    explicit Utf8Stream(std::FILE* out) : out_(out) {}

    void push(const std::string& piece) {
        pending_ += piece;
        const size_t cut = complete_prefix(pending_);
        if (cut == 0) return;
        std::fwrite(pending_.data(), 1, cut, out_);
        std::fflush(out_);
        pending_.erase(0, cut);
    }
    void finish() {
        if (pending_.empty()) return;
        std::fwrite(pending_.data(), 1, pending_.size(), out_);
        std::fflush(out_);
        pending_.clear();
    }

    // Length of the longest prefix that does not end inside a multi-byte character.
    static size_t complete_prefix(const std::string& s) {
        const size_t n = s.size();
        // The last lead byte among the final 4 bytes decides.
        for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
            const auto c = static_cast<unsigned char>(s[n - back]);
            if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
            size_t need = 1;
            if ((c & 0xE0) == 0xC0)
                need = 2;
            else if ((c & 0xF0) == 0xE0)
                need = 3;
            else if ((c & 0xF8) == 0xF0)
                need = 4;
            return need > back ? n - back : n;
        }
        return n;  // only continuation bytes: invalid, nothing to wait for
    }

private:
    std::FILE* out_;
    std::string pending_;
};

bool parse_ids(const std::string& text, std::vector<TokenId>& ids) {
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        char* end = nullptr;
        const long long v = std::strtoll(word.c_str(), &end, 10);
        if (*end != '\0' || v < 0 || v > INT32_MAX) return false;
        ids.push_back(static_cast<TokenId>(v));
    }
    return true;
}

Status write_logits(const std::string& path, std::span<const float> logits) {
    std::vector<float> le(logits.begin(), logits.end());
    if constexpr (std::endian::native == std::endian::big) {
        for (float& f : le) {
            uint32_t u;
            std::memcpy(&u, &f, 4);
            u = __builtin_bswap32(u);
            std::memcpy(&f, &u, 4);
        }
    }
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return io_error("cannot open '" + path + "' for writing: " + std::strerror(errno));
    const size_t written = std::fwrite(le.data(), sizeof(float), le.size(), f);
    const bool closed = std::fclose(f) == 0;
    if (written != le.size() || !closed) return io_error("writing '" + path + "' failed");
    return Status::ok();
}

int fail(const Status& s) {
    std::fprintf(stderr, "pagoda generate: %s\n", s.to_string().c_str());
    return 1;
}

}  // namespace

int run_generate(int argc, char** argv) {
    // Args only knows long options; -n is llama.cpp's spelling, so accept it too.
    std::vector<std::string> storage(argv, argv + argc);
    std::vector<char*> args_v;
    for (auto& a : storage) {
        if (a == "-n") a = "--n-predict";
        args_v.push_back(a.data());
    }

    Args args("pagoda generate --model PATH (--prompt TEXT | --prompt-ids IDS) [options]",
              "Continues a prompt with a GGUF model and streams the generated text to stdout.\n"
              "Logs (load time, device, speed) go to stderr.");
    args.option("--model", "PATH", "GGUF model file");
    args.option("--prompt", "TEXT", "prompt text; BOS is added when the vocabulary asks for it (see --no-bos)");
    args.option("--prompt-ids", "IDS",
                "parity testing: space-separated token ids used exactly as given instead of --prompt "
                "(nothing is added, not even BOS)");
    args.option("--n-predict", "N", "tokens to generate (also -n N); -1 until EOS or the context is full", "128");
    args.option("--temp", "T", "temperature; 0 = greedy", "0.8");
    args.option("--top-k", "K", "keep the K most likely tokens; 0 = off", "40");
    args.option("--top-p", "P", "keep the most likely tokens up to probability mass P; 1 = off", "0.95");
    args.option("--min-p", "P", "drop tokens less likely than P times the most likely one; 0 = off", "0.05");
    args.option("--seed", "S", "sampling seed (default: random, printed to stderr)");
    args.option("--threads", "N", "CPU threads; 0 = number of physical cores", "0");
    args.option("--ctx-size", "N", "KV cache size in tokens (default: min(model context length, 4096))");
    args.option("--prefill-chunk", "N", "prompt tokens per forward step", "512");
    args.option("--kv-type", "TYPE", "KV cache encoding: f16, f32 or q8_0", "f16");
    args.option("--device", "DEV", "auto, cpu or cuda[:N]", "auto");
    args.flag("--no-bos", "do not add BOS to --prompt");
    args.flag("--ids", "parity testing: print the generated token ids, space-separated, instead of text");
    args.option("--logits-out", "FILE",
                "parity testing: write the logits of the last prompt position as raw little-endian float32 "
                "(vocab_size values)");
    if (!args.parse(static_cast<int>(args_v.size()), args_v.data())) return args.exit_code();

    auto usage = [&](const std::string& msg) {
        std::fprintf(stderr, "error: %s (see 'pagoda generate --help')\n", msg.c_str());
        return 2;
    };
    if (!args.has("--model")) return usage("--model is required");
    if (args.has("--prompt") == args.has("--prompt-ids")) return usage("give exactly one of --prompt and --prompt-ids");

    bool ok = true;
    long long n_predict = args.get_int("--n-predict", ok);
    const double temp = args.get_double("--temp", ok);
    const long long top_k = args.get_int("--top-k", ok);
    const double top_p = args.get_double("--top-p", ok);
    const double min_p = args.get_double("--min-p", ok);
    const long long threads = args.get_int("--threads", ok);
    const long long prefill_chunk = args.get_int("--prefill-chunk", ok);
    long long ctx_size = args.has("--ctx-size") ? args.get_int("--ctx-size", ok) : 0;
    uint64_t seed = 0;
    if (args.has("--seed")) {
        seed = static_cast<uint64_t>(args.get_int("--seed", ok));
    } else {
        seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    }
    if (!ok) return 2;
    if (n_predict < -1) return usage("-n must be -1 or more");
    if (n_predict == -1 || n_predict > INT32_MAX) n_predict = INT32_MAX;
    if (!(temp >= 0)) return usage("--temp must be 0 or more");
    if (!(top_p >= 0 && top_p <= 1) || !(min_p >= 0 && min_p <= 1))
        return usage("--top-p and --min-p must be in [0, 1]");
    if (top_k < 0 || top_k > INT32_MAX) return usage("--top-k must be 0 or more");
    if (threads < 0 || threads > 1024) return usage("--threads must be between 0 and 1024");
    if (prefill_chunk < 1 || prefill_chunk > 65536) return usage("--prefill-chunk must be between 1 and 65536");
    if (args.has("--ctx-size") && (ctx_size < 1 || ctx_size > kMaxCtxSize))
        return usage("--ctx-size must be between 1 and " + std::to_string(kMaxCtxSize));
    const auto kv_type = ggml_type_from_name(args.get("--kv-type").c_str());
    if (!kv_type || (*kv_type != GgmlType::F16 && *kv_type != GgmlType::F32 && *kv_type != GgmlType::Q8_0))
        return usage("--kv-type must be f16, f32 or q8_0");

    std::vector<TokenId> prompt;
    if (args.has("--prompt-ids")) {
        if (!parse_ids(args.get("--prompt-ids"), prompt))
            return usage("--prompt-ids expects space-separated token ids");
    }

    // Device, then model.
    auto device = create_backend(args.get("--device"), static_cast<int>(threads));
    if (!device) return fail(device.status());
    Backend& backend = *device->backend;
    std::fprintf(stderr, "pagoda: device %s (%s)\n", backend.name().c_str(), device->reason.c_str());

    const auto load_start = std::chrono::steady_clock::now();
    auto loaded = Model::load(args.get("--model"), backend);
    if (!loaded) return fail(loaded.status());
    Model& model = *loaded.value();
    const ModelConfig& cfg = model.config();
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    std::fprintf(stderr, "pagoda: loaded %s (%s, %d layers, embedding %d, vocab %d) in %.2f s\n",
                 args.get("--model").c_str(), cfg.arch_name.c_str(), cfg.n_layers, cfg.n_embd, cfg.n_vocab, load_s);

    const Tokenizer* tok = model.tokenizer();
    const bool print_ids = args.has("--ids");
    if (!tok && (args.has("--prompt") || !print_ids))
        return fail(Status::error(model.tokenizer_status().code(), "tokenizer: " + model.tokenizer_status().message() +
                                                                       " (--prompt-ids with --ids works without one)"));
    if (args.has("--prompt")) prompt = tok->encode(args.get("--prompt"), !args.has("--no-bos"), true);
    if (prompt.empty()) return fail(invalid_argument("the prompt has no tokens"));

    if (ctx_size == 0) ctx_size = std::min(cfg.n_ctx_train, kDefaultMaxCtx);
    if (ctx_size > cfg.n_ctx_train)
        std::fprintf(stderr, "pagoda: warning: --ctx-size %lld exceeds the model's context length %d\n", ctx_size,
                     cfg.n_ctx_train);
    const auto n_blocks = static_cast<int32_t>((ctx_size + kBlockSize - 1) / kBlockSize);
    Transformer& transformer = model.transformer();
    if (Status s = transformer.init_kv_cache(transformer.kv_cache_config(n_blocks, *kv_type, kBlockSize)); !s)
        return fail(s);
    BlockAllocator blocks(n_blocks);

    SamplerParams sp;
    sp.temperature = static_cast<float>(temp);
    sp.top_k = static_cast<int32_t>(top_k);
    sp.top_p = static_cast<float>(top_p);
    sp.min_p = static_cast<float>(min_p);
    sp.seed = seed;
    Sampler sampler(sp);
    if (temp > 0) std::fprintf(stderr, "pagoda: seed %llu\n", static_cast<unsigned long long>(seed));

    RunOptions options;
    options.max_new_tokens = static_cast<int32_t>(n_predict);
    options.prefill_chunk = static_cast<int32_t>(prefill_chunk);
    const auto eos_meta = model.gguf().get_int("tokenizer.ggml.eos_token_id");
    options.is_end_of_generation = [tok, eos_meta](TokenId t) {
        return tok ? tok->is_eog(t) : (eos_meta && t == *eos_meta);
    };

    Utf8Stream text_out(stdout);
    Status logits_status;
    bool first_id = true;
    RunCallbacks callbacks;
    if (args.has("--logits-out")) {
        const std::string path = args.get("--logits-out");
        callbacks.on_prompt_logits = [&, path](std::span<const float> logits) {
            logits_status = write_logits(path, logits);
        };
    }
    callbacks.on_token = [&](TokenId t) {
        if (!logits_status) return false;  // --logits-out failed: stop before printing anything
        if (print_ids) {
            std::fprintf(stdout, first_id ? "%d" : " %d", t);
            std::fflush(stdout);
            first_id = false;
        } else {
            text_out.push(tok->token_to_piece(t));
        }
        return true;
    };

    SequenceRunner runner(transformer, blocks);
    auto stats = runner.run(prompt, sampler, options, callbacks);
    text_out.finish();
    if (print_ids && (stats.is_ok() || !first_id)) {
        std::fputc('\n', stdout);
        std::fflush(stdout);
    }
    if (!stats) return fail(stats.status());
    if (!logits_status) return fail(logits_status);

    const RunStats& st = stats.value();
    auto rate = [](int32_t n, double s) { return s > 0 ? n / s : 0.0; };
    std::fprintf(stderr,
                 "\npagoda: prompt %d tokens in %.3f s (%.1f tok/s); generated %d tokens in %.3f s (%.1f tok/s); "
                 "stop: %s\n",
                 st.n_prompt, st.prefill_seconds, rate(st.n_prompt, st.prefill_seconds), st.n_generated,
                 st.decode_seconds, rate(st.n_generated, st.decode_seconds), finish_reason_name(st.finish));
    return 0;
}

}  // namespace pagoda::cli
