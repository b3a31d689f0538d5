// `pagoda generate`: continues one prompt (streamed to stdout as it is decoded) or, with
// --parallel / several --prompt / --n-samples, several sequences at once through the
// Engine's continuous batching (printed when all are done).
// Only the generated text (or ids, with --ids) goes to stdout; load time, device choice
// and speed go to stderr, so the output can be piped or compared byte for byte.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "backend_factory.h"
#include "commands.h"
#include "grammar_option.h"
#include "size_option.h"
#include "model/ggml_type.h"
#include "model/model.h"
#include "pagoda/engine.h"
#include "sample/token_sampler.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::cli {

namespace {

constexpr int32_t kDefaultMaxCtx = 4096;
constexpr int64_t kMaxCtxSize = 1 << 20;
constexpr int32_t kBlockSize = 16;
constexpr int32_t kMaxParallel = 1024;

using Clock = std::chrono::steady_clock;

// Hands the engine thread's callbacks to the main thread, which may block on stdout.
class QueueSink : public Sink {
public:
    void on_delta(const RequestDelta& delta) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            deltas_.push_back(delta);
        }
        cv_.notify_one();
    }
    void on_finish(const RequestFinish& finish) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            finish_ = finish;
        }
        cv_.notify_one();
    }
    // Waits for news: false once finished and drained.
    bool next(std::vector<RequestDelta>& out) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return !deltas_.empty() || finish_.has_value(); });
        out.assign(deltas_.begin(), deltas_.end());
        deltas_.clear();
        return !out.empty() || !finish_;
    }
    std::optional<RequestFinish> finish() {
        std::lock_guard<std::mutex> lock(mutex_);
        return finish_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<RequestDelta> deltas_;
    std::optional<RequestFinish> finish_;
};

// --lora "PATH[:SCALE]": a trailing ":number" is the scale (default 1).
bool parse_lora_arg(const std::string& text, std::string& path, float& scale) {
    path = text;
    scale = 1.0f;
    if (const size_t colon = text.rfind(':'); colon != std::string::npos && colon + 1 < text.size()) {
        const std::string tail = text.substr(colon + 1);
        char* end = nullptr;
        const double v = std::strtod(tail.c_str(), &end);
        if (end == tail.c_str() + tail.size()) {
            if (!std::isfinite(v) || v < -100.0 || v > 100.0) return false;
            scale = static_cast<float>(v);
            path = text.substr(0, colon);
        }
    }
    return !path.empty();
}

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

// "ID:BIAS" or llama.cpp's "ID+BIAS" / "ID-BIAS", comma-separated.
bool parse_logit_bias(const std::string& text, std::vector<std::pair<TokenId, float>>& out) {
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.empty()) continue;
        const size_t sep = item.find_first_of(":+-", 1);
        if (sep == std::string::npos) return false;
        char* end = nullptr;
        const long long id = std::strtoll(item.substr(0, sep).c_str(), &end, 10);
        if (*end != '\0' || id < 0 || id > INT32_MAX) return false;
        const std::string value = item[sep] == ':' ? item.substr(sep + 1) : item.substr(sep);
        const float bias = std::strtof(value.c_str(), &end);
        if (value.empty() || *end != '\0') return false;
        out.emplace_back(static_cast<TokenId>(id), bias);
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

// Every value of a repeatable option (Args keeps only the last one).
std::vector<std::string> all_values(const std::vector<std::string>& argv, const std::string& name,
                                    const std::vector<std::string>& value_options) {
    std::vector<std::string> out;
    for (size_t i = 1; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a == name && i + 1 < argv.size()) {
            out.push_back(argv[++i]);
        } else if (a.rfind(name + "=", 0) == 0) {
            out.push_back(a.substr(name.size() + 1));
        } else if (std::find(value_options.begin(), value_options.end(), a) != value_options.end()) {
            ++i;  // another option's value
        }
    }
    return out;
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

    Args args("pagoda generate --model PATH (--prompt TEXT ... | --prompt-ids IDS) [options]",
              "Continues a prompt with a GGUF model and streams the generated text to stdout.\n"
              "With --parallel N, several --prompt or --n-samples N, the sequences run at once\n"
              "(continuous batching) and each is printed when all are done.\n"
              "Logs (load time, device, speed) go to stderr.");
    std::vector<std::string> value_options;
    auto option = [&](const std::string& name, const std::string& metavar, const std::string& help,
                      std::optional<std::string> def = std::nullopt) {
        args.option(name, metavar, help, std::move(def));
        value_options.push_back(name);
    };
    option("--model", "PATH", "GGUF model file");
    option("--prompt", "TEXT",
           "prompt text; BOS is added when the vocabulary asks for it (see --no-bos); repeat for several prompts");
    option("--prompt-ids", "IDS",
           "parity testing: space-separated token ids used exactly as given instead of --prompt "
           "(nothing is added, not even BOS)");
    option("--n-predict", "N", "tokens to generate (also -n N); -1 until EOS or the context is full", "128");
    option("--temp", "T", "temperature; 0 = greedy", "0.8");
    option("--top-k", "K", "keep the K most likely tokens; 0 = off", "40");
    option("--top-p", "P", "keep the most likely tokens up to probability mass P; 1 = off", "0.95");
    option("--min-p", "P", "drop tokens less likely than P times the most likely one; 0 = off", "0.05");
    option("--repeat-penalty", "F", "repetition penalty over prompt and output tokens; 1 = off", "1.0");
    option("--presence-penalty", "F", "subtract F from tokens already generated; 0 = off", "0");
    option("--frequency-penalty", "F", "subtract F times the count of each generated token; 0 = off", "0");
    option("--logit-bias", "ID:BIAS,...", "add BIAS to token ID's logit (also ID+BIAS / ID-BIAS)");
    option("--stop", "TEXT", "stop before this text (never printed); repeat for several");
    option("--stop-ids", "IDS", "space-separated token ids that end the generation");
    option("--seed", "S", "sampling seed (default: random, printed to stderr)");
    option("--parallel", "N", "run N copies of the prompt at once (copy i uses seed derived from S and i)", "1");
    option("--n-samples", "N", "N samples of each prompt sharing its KV blocks", "1");
    option("--n-each", "N1,N2,...",
           "tokens to generate for each request in order (after --parallel copies), instead of -n for all");
    option("--threads", "N", "CPU threads; 0 = number of physical cores", "0");
    option("--ctx-size", "N", "context per sequence in tokens (default: min(model context length, 4096))");
    option("--kv-memory", "SIZE|FRACTION",
           std::string(kKvMemoryHelp) + "; default: --ctx-size tokens per sequence");
    option("--prefill-chunk", "N", "token budget of one forward step (long prompts run in chunks)", "512");
    option("--kv-type", "TYPE", "KV cache encoding: f16, f32 or q8_0", "f16");
    option("--device", "DEV", "auto, cpu or cuda[:N]", "auto");
    option("--lora", "PATH[:SCALE]",
           "apply a LoRA adapter (PEFT folder, .safetensors or GGUF LoRA) at SCALE (default 1); repeat to stack "
           "several");
    args.flag("--no-bos", "do not add BOS to --prompt");
    args.flag("--ignore-eos", "keep generating after EOS (EOS is then an ordinary token)");
    args.flag("--no-prefix-cache", "do not reuse the KV of shared prompt prefixes");
    args.flag("--ids", "parity testing: print the generated token ids, space-separated, instead of text");
    add_grammar_options(args);
    for (const char* g : kGrammarOptions) value_options.push_back(g);
    option("--logits-out", "FILE",
           "parity testing: write the logits of the last prompt position as raw little-endian float32 "
           "(vocab_size values; first sequence)");
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
    const double repeat_penalty = args.get_double("--repeat-penalty", ok);
    const double presence = args.get_double("--presence-penalty", ok);
    const double frequency = args.get_double("--frequency-penalty", ok);
    const long long threads = args.get_int("--threads", ok);
    const long long prefill_chunk = args.get_int("--prefill-chunk", ok);
    const long long parallel = args.get_int("--parallel", ok);
    const long long n_samples = args.get_int("--n-samples", ok);
    long long ctx_size = args.has("--ctx-size") ? args.get_int("--ctx-size", ok) : 0;
    uint64_t seed = 0;
    if (args.has("--seed")) {
        seed = static_cast<uint64_t>(args.get_int("--seed", ok));
    } else {
        seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    }
    if (!ok) return 2;
    if (n_predict < -1) return usage("-n must be -1 or more");
    // -n 0: only the prompt runs (e.g. for --logits-out); the engine samples one token, unprinted.
    const bool print_nothing = n_predict == 0;
    if (print_nothing) n_predict = 1;
    if (n_predict > INT32_MAX) n_predict = -1;
    if (!(temp >= 0)) return usage("--temp must be 0 or more");
    if (!(top_p >= 0 && top_p <= 1) || !(min_p >= 0 && min_p <= 1))
        return usage("--top-p and --min-p must be in [0, 1]");
    if (top_k < 0 || top_k > INT32_MAX) return usage("--top-k must be 0 or more");
    if (!(repeat_penalty > 0)) return usage("--repeat-penalty must be positive");
    if (!std::isfinite(presence) || !std::isfinite(frequency)) return usage("penalties must be numbers");
    if (threads < 0 || threads > 1024) return usage("--threads must be between 0 and 1024");
    if (prefill_chunk < 1 || prefill_chunk > 65536) return usage("--prefill-chunk must be between 1 and 65536");
    if (parallel < 1 || parallel > kMaxParallel) return usage("--parallel must be between 1 and 1024");
    if (n_samples < 1 || n_samples > kMaxParallel) return usage("--n-samples must be between 1 and 1024");
    if (args.has("--ctx-size") && (ctx_size < 1 || ctx_size > kMaxCtxSize))
        return usage("--ctx-size must be between 1 and " + std::to_string(kMaxCtxSize));
    const auto kv_type = ggml_type_from_name(args.get("--kv-type").c_str());
    if (!kv_type || (*kv_type != GgmlType::F16 && *kv_type != GgmlType::F32 && *kv_type != GgmlType::Q8_0))
        return usage("--kv-type must be f16, f32 or q8_0");
    KvMemory kv_memory;
    if (args.has("--kv-memory") && !parse_kv_memory(args.get("--kv-memory"), kv_memory))
        return usage("--kv-memory expects a size such as 512M or 2G, or a fraction such as 0.9");
    std::vector<std::pair<TokenId, float>> logit_bias;
    if (args.has("--logit-bias") && !parse_logit_bias(args.get("--logit-bias"), logit_bias))
        return usage("--logit-bias expects ID:BIAS pairs separated by commas");
    std::vector<TokenId> stop_ids;
    if (args.has("--stop-ids") && !parse_ids(args.get("--stop-ids"), stop_ids))
        return usage("--stop-ids expects space-separated token ids");
    const std::vector<std::string> stops = all_values(storage, "--stop", value_options);
    auto output_grammar = grammar_from_options(args);
    if (!output_grammar) return usage(output_grammar.status().message());
    std::vector<std::string> prompt_texts = all_values(storage, "--prompt", value_options);

    std::vector<std::vector<TokenId>> prompts;
    if (args.has("--prompt-ids")) {
        prompts.emplace_back();
        if (!parse_ids(args.get("--prompt-ids"), prompts.back()))
            return usage("--prompt-ids expects space-separated token ids");
    }

    // Device, then model.
    auto device = create_backend(args.get("--device"), static_cast<int>(threads));
    if (!device) return fail(device.status());
    std::fprintf(stderr, "pagoda: device %s (%s)\n", device->backend->name().c_str(), device->reason.c_str());

    const auto load_start = Clock::now();
    auto loaded = Model::load(args.get("--model"), *device->backend);
    if (!loaded) return fail(loaded.status());
    const ModelConfig cfg = loaded.value()->config();
    const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
    std::fprintf(stderr, "pagoda: loaded %s (%s, %d layers, embedding %d, vocab %d) in %.2f s\n",
                 args.get("--model").c_str(), cfg.arch_name.c_str(), cfg.n_layers, cfg.n_embd, cfg.n_vocab, load_s);

    const Tokenizer* tok = loaded.value()->tokenizer();
    const bool print_ids = args.has("--ids");
    if (!tok && (args.has("--prompt") || !print_ids || !stops.empty()))
        return fail(Status::error(loaded.value()->tokenizer_status().code(),
                                  "tokenizer: " + loaded.value()->tokenizer_status().message() +
                                      " (--prompt-ids with --ids works without one)"));
    for (const std::string& text : prompt_texts) prompts.push_back(tok->encode(text, !args.has("--no-bos"), true));
    for (const auto& p : prompts) {
        if (p.empty()) return fail(invalid_argument("the prompt has no tokens"));
    }
    // --parallel N: N copies of each prompt.
    const size_t n_prompts = prompts.size();
    for (long long c = 1; c < parallel; ++c) {
        for (size_t i = 0; i < n_prompts; ++i) prompts.push_back(prompts[i]);
    }
    const auto n_requests = static_cast<int32_t>(prompts.size());
    std::vector<TokenId> n_each;  // per-request max_tokens (benchmarks with mixed output lengths)
    if (args.has("--n-each")) {
        std::string list = args.get("--n-each");
        std::replace(list.begin(), list.end(), ',', ' ');
        if (!parse_ids(list, n_each) || n_each.size() != prompts.size() ||
            std::find(n_each.begin(), n_each.end(), 0) != n_each.end())
            return usage("--n-each expects one positive count per request (" + std::to_string(prompts.size()) + ")");
    }
    const int32_t n_sequences = n_requests * static_cast<int32_t>(n_samples);
    if (n_sequences > 4096) return usage("at most 4096 sequences at once");

    if (ctx_size == 0) ctx_size = std::min(cfg.n_ctx_train, kDefaultMaxCtx);
    if (ctx_size > cfg.n_ctx_train)
        std::fprintf(stderr, "pagoda: warning: --ctx-size %lld exceeds the model's context length %d\n", ctx_size,
                     cfg.n_ctx_train);

    EngineConfig ec;
    ec.max_model_len = static_cast<int32_t>(ctx_size);
    ec.max_num_seqs = n_sequences;
    ec.max_num_batched_tokens = static_cast<int32_t>(prefill_chunk);
    ec.block_size = kBlockSize;
    ec.kv_type = *kv_type;
    ec.enable_prefix_caching = !args.has("--no-prefix-cache");
    ec.seed = seed;
    const bool device_memory = device->backend->device_memory().has_value();
    if (kv_memory.fraction > 0 && !device_memory)
        std::fprintf(stderr, "pagoda: --kv-memory %s is a fraction of GPU memory; on the CPU, --ctx-size decides\n",
                     args.get("--kv-memory").c_str());
    if (kv_memory.bytes > 0 || (kv_memory.fraction > 0 && device_memory)) {
        apply_kv_memory(kv_memory, ec);
    } else {
        const int64_t blocks = (ctx_size + kBlockSize - 1) / kBlockSize * n_sequences;
        if (blocks > INT32_MAX) return usage("--ctx-size times the number of sequences is too large; use --kv-memory");
        ec.kv_blocks = static_cast<int32_t>(blocks);
    }
    auto engine_r = Engine::create(std::move(device->backend), std::move(loaded.value()), ec);
    if (!engine_r) return fail(engine_r.status());
    Engine& engine = *engine_r.value();
    std::vector<AdapterRef> adapters;
    for (const std::string& spec : all_values(storage, "--lora", value_options)) {
        std::string path;
        float scale = 1.0f;
        if (!parse_lora_arg(spec, path, scale)) return usage("--lora expects PATH[:SCALE] with SCALE in [-100, 100]");
        auto id = engine.load_adapter(path);
        if (!id) return fail(id.status());
        for (const AdapterRef& a : adapters) {
            if (a.id == *id) return usage("--lora " + spec + ": the same adapter twice");
        }
        std::fprintf(stderr, "pagoda: LoRA adapter %s (scale %g)\n", path.c_str(), static_cast<double>(scale));
        adapters.push_back(AdapterRef{*id, scale});
    }

    SamplingParams sp;
    sp.temperature = static_cast<float>(temp);
    sp.top_k = static_cast<int32_t>(top_k);
    sp.top_p = static_cast<float>(top_p);
    sp.min_p = static_cast<float>(min_p);
    sp.repetition_penalty = static_cast<float>(repeat_penalty);
    sp.presence_penalty = static_cast<float>(presence);
    sp.frequency_penalty = static_cast<float>(frequency);
    sp.logit_bias = logit_bias;
    sp.max_tokens = n_each.size() == 1 ? n_each[0] : static_cast<int32_t>(n_predict);
    sp.stop = stops;
    sp.stop_token_ids = stop_ids;
    sp.ignore_eos = args.has("--ignore-eos");
    sp.n = static_cast<int32_t>(n_samples);
    sp.grammar = *output_grammar;
    if (temp > 0) std::fprintf(stderr, "pagoda: seed %llu\n", static_cast<unsigned long long>(seed));

    const auto start = Clock::now();
    const bool streaming = (n_requests == 1 && n_samples == 1) || print_nothing;
    if (print_nothing && n_requests * n_samples > 1) return usage("-n 0 runs a single prompt");
    if (streaming) {
        Request r;
        r.prompt = prompts[0];
        r.sampling = sp;
        r.sampling.seed = seed;
        r.adapters = adapters;
        r.return_prompt_logits = args.has("--logits-out");
        auto sink = std::make_shared<QueueSink>();
        auto id = engine.submit(r, sink);
        if (!id) return fail(id.status());
        Status logits_status;
        bool logits_done = !args.has("--logits-out");
        bool first_id = true;
        std::vector<RequestDelta> deltas;
        while (sink->next(deltas)) {
            for (const RequestDelta& d : deltas) {
                if (!logits_done && !d.prompt_logits.empty()) {
                    logits_done = true;
                    logits_status = write_logits(args.get("--logits-out"), d.prompt_logits);
                    if (!logits_status) engine.cancel(*id);  // stop before printing anything
                }
                if (!logits_status || print_nothing) continue;
                for (const SampleDelta& s : d.samples) {
                    if (print_ids) {
                        for (TokenId t : s.token_ids) {
                            std::fprintf(stdout, first_id ? "%d" : " %d", t);
                            first_id = false;
                        }
                    } else {
                        std::fwrite(s.text.data(), 1, s.text.size(), stdout);
                    }
                }
                std::fflush(stdout);
            }
        }
        const RequestFinish f = *sink->finish();
        if (print_ids && !print_nothing && (f.reason != FinishReason::error || !first_id)) {
            std::fputc('\n', stdout);
            std::fflush(stdout);
        }
        if (!logits_status) return fail(logits_status);
        if (f.reason == FinishReason::error) return fail(internal_error(f.message));
        const int32_t n_gen = print_nothing ? 0 : f.usage.completion_tokens;
        const double prefill_s = f.time_to_first_token_s;
        const double decode_s = std::max(f.total_time_s - prefill_s, 0.0);
        auto rate = [](double n, double s) { return s > 0 ? n / s : 0.0; };
        std::fprintf(stderr,
                     "\npagoda: prompt %d tokens in %.3f s (%.1f tok/s); generated %d tokens in %.3f s (%.1f tok/s); "
                     "stop: %s%s%s\n",
                     f.usage.prompt_tokens, prefill_s, rate(f.usage.prompt_tokens, prefill_s), n_gen, decode_s,
                     rate(std::max(n_gen - 1, 0), decode_s), finish_reason_name(f.reason),
                     f.message.empty() ? "" : ": ", f.message.c_str());
        return 0;
    }

    // Several sequences at once.
    std::vector<std::shared_ptr<CollectingSink>> sinks;
    for (int32_t i = 0; i < n_requests; ++i) {
        Request r;
        r.prompt = prompts[static_cast<size_t>(i)];
        r.sampling = sp;
        r.sampling.seed = derive_seed(seed, i);
        if (!n_each.empty()) r.sampling.max_tokens = n_each[static_cast<size_t>(i)];
        r.adapters = adapters;
        r.return_prompt_logits = i == 0 && args.has("--logits-out");
        sinks.push_back(std::make_shared<CollectingSink>());
        auto id = engine.submit(r, sinks.back());
        if (!id) return fail(id.status());
    }
    // Wait, sampling the KV pool while every sequence runs: allocated-but-empty slots.
    int64_t kv_allocated = 0, kv_filled = 0;
    for (;;) {
        bool all = true;
        for (auto& s : sinks) all = all && s->finished();
        if (all) break;
        const EngineStats st = engine.stats();
        if (st.running == n_sequences && st.waiting == 0) {
            kv_allocated += st.kv_slots_allocated;
            kv_filled += st.kv_slots_filled;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
    if (args.has("--logits-out")) {
        if (Status s = write_logits(args.get("--logits-out"), sinks[0]->prompt_logits()); !s) return fail(s);
    }
    int64_t generated = 0;
    int64_t prompt_tokens = 0;
    for (int32_t i = 0; i < n_requests; ++i) {
        const auto f = *sinks[static_cast<size_t>(i)]->finish();
        if (f.reason == FinishReason::error) return fail(internal_error(f.message));
        generated += f.usage.completion_tokens;
        prompt_tokens += f.usage.prompt_tokens;
        const auto samples = sinks[static_cast<size_t>(i)]->samples();
        for (size_t k = 0; k < samples.size(); ++k) {
            const auto& s = samples[k];
            if (print_ids) {
                for (size_t j = 0; j < s.token_ids.size(); ++j) std::fprintf(stdout, j ? " %d" : "%d", s.token_ids[j]);
                std::fputc('\n', stdout);
            } else {
                std::fprintf(stdout, "### %d.%zu (%s)\n%s\n", i, k,
                             s.finish_reason ? finish_reason_name(*s.finish_reason) : "?", s.text.c_str());
            }
        }
    }
    std::fflush(stdout);
    const EngineStats st = engine.stats();
    std::fprintf(stderr,
                 "\npagoda: %d sequences; prompt %lld tokens (%lld from the prefix cache); generated %lld tokens in "
                 "%.3f s (%.1f tok/s aggregate); %lld preemptions\n",
                 n_sequences, static_cast<long long>(prompt_tokens), static_cast<long long>(st.prefix_cache_hits),
                 static_cast<long long>(generated), total_s, total_s > 0 ? generated / total_s : 0.0,
                 static_cast<long long>(st.preemptions));
    if (kv_allocated > 0)
        std::fprintf(stderr, "pagoda: KV slots allocated but unused while all sequences ran: %.1f%%\n",
                     100.0 * static_cast<double>(kv_allocated - kv_filled) / static_cast<double>(kv_allocated));
    return 0;
}

}  // namespace pagoda::cli
