// `pagoda serve`: the OpenAI-compatible API on localhost, headless. The same server
// (app/server) runs inside the desktop app.
//
// SIGINT / SIGTERM: stop accepting, let running requests finish (--shutdown-grace
// seconds), cut the rest short with their streams ended cleanly, exit 0. A second
// signal cuts everything short at once. Behind a load balancer this is the drain of one
// replica (docs/scale-out.md): the port listens from the start, so /health/live answers
// while the model loads and /health/ready says when requests may come.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "backend_factory.h"
#include "commands.h"
#include "size_option.h"
#include "model/gguf_file.h"
#include "model/ggml_type.h"
#include "model/model_config.h"
#include "pagoda/engine.h"
#include "server/http_server.h"
#include "server/lora_catalog.h"
#include "server/model_manager.h"
#include "server/response_cache.h"

namespace pagoda::cli {

namespace {

constexpr int32_t kDefaultMaxCtx = 4096;
constexpr int32_t kBlockSize = 16;

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

struct EngineOptions {
    std::string device;
    int threads = 0;
    int64_t ctx_size = 0;
    int parallel = 8;
    int prefill_chunk = 512;
    KvMemory kv_memory;
    GgmlType kv_type = GgmlType::F16;
    bool prefix_cache = true;
    uint64_t seed = 0;
};

Result<std::unique_ptr<Engine>> make_engine(const EngineOptions& o, const std::string& path) {
    auto gguf = GgufFile::open(path);
    if (!gguf) return gguf.status();
    auto cfg = parse_model_config(*gguf.value());
    if (!cfg) return cfg.status();
    gguf.value().reset();

    auto device = create_backend(o.device, o.threads);
    if (!device) return device.status();
    std::fprintf(stderr, "pagoda serve: device %s (%s)\n", device->backend->name().c_str(), device->reason.c_str());

    int64_t ctx = o.ctx_size > 0 ? o.ctx_size : std::min<int64_t>(cfg->n_ctx_train, kDefaultMaxCtx);
    if (ctx <= 0) ctx = kDefaultMaxCtx;
    EngineConfig ec;
    ec.max_model_len = static_cast<int32_t>(ctx);
    ec.max_num_seqs = o.parallel;
    ec.max_num_batched_tokens = o.prefill_chunk;
    ec.block_size = kBlockSize;
    ec.kv_type = o.kv_type;
    ec.enable_prefix_caching = o.prefix_cache;
    ec.seed = o.seed;
    const bool device_memory = device->backend->device_memory().has_value();
    if (o.kv_memory.fraction > 0 && !device_memory)
        std::fprintf(stderr, "pagoda: --kv-memory is a fraction of GPU memory; on the CPU, --ctx-size decides\n");
    if (o.kv_memory.bytes > 0 || (o.kv_memory.fraction > 0 && device_memory)) {
        apply_kv_memory(o.kv_memory, ec);
    } else {
        const int64_t blocks = (ctx + kBlockSize - 1) / kBlockSize * o.parallel;
        if (blocks > INT32_MAX) return invalid_argument("--ctx-size times --parallel is too large; use --kv-memory");
        ec.kv_blocks = static_cast<int32_t>(blocks);
    }
    return Engine::load(path, std::move(device->backend), ec);
}

}  // namespace

int run_serve(int argc, char** argv) {
    Args args("pagoda serve --model PATH|NAME [--models-dir DIR] [options]",
              "Serves the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models, /tokenize,\n"
              "/detokenize, /health, /metrics) on localhost. A request's \"model\" is a model's file name\n"
              "without .gguf; models in --models-dir are loaded when first asked for.\n"
              "SIGINT/SIGTERM stop it gracefully (exit 0).");
    args.option("--model", "PATH|NAME", "GGUF model to load at start (a file, or a name from --models-dir)");
    args.option("--models-dir", "DIR", "folder of GGUF files that requests may name (loaded on demand)");
    args.option("--host", "ADDR", "address to listen on; other than 127.0.0.1 exposes the API to the network",
                "127.0.0.1");
    args.option("--port", "N", "TCP port; 0 picks a free one (printed at start)", "8080");
    args.option("--api-key", "KEY",
                "require 'Authorization: Bearer KEY' on every route but /health (default: $PAGODA_API_KEY)");
    args.option("--allowed-origins", "LIST", "comma-separated origins allowed by CORS ('*': any); default none");
    args.option("--threads", "N", "CPU threads; 0 = number of physical cores", "0");
    args.option("--device", "DEV", "auto, cpu or cuda[:N]", "auto");
    args.option("--ctx-size", "N", "context per sequence in tokens (default: min(model context length, 4096))");
    args.option("--parallel", "N", "sequences decoded at once (n > 1 samples count each)", "8");
    args.option("--max-queue", "N", "requests that may wait beyond --parallel before 429", "256");
    args.option("--prefill-chunk", "N", "token budget of one forward step", "512");
    args.option("--kv-memory", "SIZE|FRACTION", std::string(kKvMemoryHelp) + "; default: --ctx-size per --parallel slot");
    args.option("--kv-type", "TYPE", "KV cache encoding: f16, f32 or q8_0", "f16");
    args.option("--max-loaded", "N", "models kept loaded at once (least recently used unloaded first); 0 = no limit",
                "1");
    args.option("--idle-ttl", "SECONDS", "unload a model idle this long; 0 = never", "0");
    args.option("--max-body", "SIZE", "largest request body accepted (413 beyond)", "16M");
    args.option("--max-tokens-default", "N", "/v1/completions max_tokens when a request gives none", "16");
    args.option("--shutdown-grace", "SECONDS",
                "how long running requests may finish after SIGINT/SIGTERM (the drain timeout)", "5");
    args.option("--http-threads", "N", "HTTP worker threads (default: enough for every admitted request)");
    args.option("--replica-id", "NAME",
                "this replica's name behind a load balancer: x-pagoda-replica header, /metrics label, logs "
                "(default: hostname:port)");
    args.option("--seed", "S", "seeds the seeds of requests that bring none (default: random)");
    args.flag("--no-prefix-cache", "do not reuse the KV of shared prompt prefixes");
    args.flag("--log-requests", "print one line per HTTP request to stderr");
    args.option("--cache", "SPEC",
                "response cache for deterministic requests (temperature 0 or a seed): off, sqlite[:PATH] "
                "(default file: $XDG_DATA_HOME/pagoda/response-cache.db) or redis://host:port[/db] (shared by replicas)",
                "sqlite");
    args.option("--cache-ttl", "SECONDS", "how long a cached response is kept", "3600");
    args.option("--cache-max-entries", "N",
                "SQLite: responses kept, least recently used dropped first (Redis: its maxmemory)", "10000");
    args.option("--lora", "[BASE:]NAME=PATH[:SCALE]",
                "serve a LoRA adapter (PEFT folder, .safetensors or GGUF LoRA) as model NAME (or BASE:NAME) on BASE "
                "(default: the --model one), at SCALE (default 1); repeatable");
    args.flag("--allow-lora-loading",
              "enable POST /v1/load_lora_adapter and /v1/unload_lora_adapter (they read any file the server can)");
    if (!args.parse(argc, argv)) return args.exit_code();

    auto usage = [&](const std::string& msg) {
        std::fprintf(stderr, "error: %s (see 'pagoda serve --help')\n", msg.c_str());
        return 2;
    };
    if (!args.has("--model") && !args.has("--models-dir")) return usage("give --model or --models-dir");

    bool ok = true;
    EngineOptions eo;
    eo.device = args.get("--device");
    const long long threads = args.get_int("--threads", ok);
    const long long port = args.get_int("--port", ok);
    const long long parallel = args.get_int("--parallel", ok);
    const long long max_queue = args.get_int("--max-queue", ok);
    const long long prefill = args.get_int("--prefill-chunk", ok);
    const long long max_loaded = args.get_int("--max-loaded", ok);
    const double idle_ttl = args.get_double("--idle-ttl", ok);
    const double grace = args.get_double("--shutdown-grace", ok);
    const long long default_max_tokens = args.get_int("--max-tokens-default", ok);
    const long long ctx = args.has("--ctx-size") ? args.get_int("--ctx-size", ok) : 0;
    const long long http_threads = args.has("--http-threads") ? args.get_int("--http-threads", ok) : 0;
    if (args.has("--seed")) eo.seed = static_cast<uint64_t>(args.get_int("--seed", ok));
    if (!ok) return 2;
    if (threads < 0 || threads > 1024) return usage("--threads must be between 0 and 1024");
    if (port < 0 || port > 65535) return usage("--port must be between 0 and 65535");
    if (parallel < 1 || parallel > 4096) return usage("--parallel must be between 1 and 4096");
    if (max_queue < 0 || max_queue > 100000) return usage("--max-queue must be between 0 and 100000");
    if (prefill < 1 || prefill > 65536) return usage("--prefill-chunk must be between 1 and 65536");
    if (max_loaded < 0 || max_loaded > 1024) return usage("--max-loaded must be between 0 and 1024");
    if (!(idle_ttl >= 0)) return usage("--idle-ttl must be 0 or more");
    if (!(grace >= 0 && grace <= 3600)) return usage("--shutdown-grace must be between 0 and 3600");
    if (default_max_tokens < 1 || default_max_tokens > INT32_MAX) return usage("--max-tokens-default must be >= 1");
    if (args.has("--ctx-size") && (ctx < 1 || ctx > (1 << 20))) return usage("--ctx-size must be between 1 and 1048576");
    if (http_threads < 0 || http_threads > 100000) return usage("--http-threads must be between 1 and 100000");
    int64_t max_body = 0;
    if (!parse_size(args.get("--max-body"), max_body) || max_body < 1024) return usage("--max-body must be >= 1K");
    if (args.has("--kv-memory") && !parse_kv_memory(args.get("--kv-memory"), eo.kv_memory))
        return usage("--kv-memory expects a size such as 512M or 2G, or a fraction such as 0.9");
    const auto kv_type = ggml_type_from_name(args.get("--kv-type").c_str());
    if (!kv_type || (*kv_type != GgmlType::F16 && *kv_type != GgmlType::F32 && *kv_type != GgmlType::Q8_0))
        return usage("--kv-type must be f16, f32 or q8_0");
    eo.kv_type = *kv_type;
    eo.threads = static_cast<int>(threads);
    eo.ctx_size = ctx;
    eo.parallel = static_cast<int>(parallel);
    eo.prefill_chunk = static_cast<int>(prefill);
    eo.prefix_cache = !args.has("--no-prefix-cache");

    server::ServerConfig sc;
    sc.host = args.get("--host");
    sc.port = static_cast<int>(port);
    sc.api_key = args.get("--api-key");
    if (sc.api_key.empty()) {
        if (const char* env = std::getenv("PAGODA_API_KEY")) sc.api_key = env;
    }
    sc.allowed_origins = split_commas(args.get("--allowed-origins"));
    sc.max_body_bytes = static_cast<size_t>(max_body);
    sc.api.limits.max_body_bytes = sc.max_body_bytes;
    sc.api.max_active_requests = static_cast<int>(parallel + max_queue);
    sc.api.default_completion_max_tokens = static_cast<int32_t>(default_max_tokens);
    sc.http_threads = static_cast<int>(http_threads);
    sc.shutdown_grace_s = grace;
    sc.log_requests = args.has("--log-requests");
    sc.replica_id = args.get("--replica-id");
    if (sc.replica_id.size() > 128) return usage("--replica-id must be at most 128 characters");
    if (sc.host != "127.0.0.1" && sc.host != "localhost" && sc.host != "::1") {
        std::fprintf(stderr, "pagoda serve: warning: listening on %s makes the API reachable from other machines%s\n",
                     sc.host.c_str(), sc.api_key.empty() ? " WITHOUT an API key" : "");
    }

    // Response cache: a sqlite file by default; one given explicitly must open, the default
    // one may fail (no home directory, read-only disk) and the server runs without it.
    if (const std::string spec = args.get("--cache"); spec != "off") {
        bool cache_ok = true;
        server::ResponseCacheConfig rc;
        rc.ttl_s = args.get_int("--cache-ttl", cache_ok);
        rc.max_entries = args.get_int("--cache-max-entries", cache_ok);
        if (!cache_ok) return 2;
        if (rc.ttl_s < 1 || rc.ttl_s > 365LL * 24 * 3600) return usage("--cache-ttl must be between 1 and 31536000");
        if (rc.max_entries < 0) return usage("--cache-max-entries must be 0 (no limit) or more");
        auto cache = server::open_response_cache(spec, rc);
        if (!cache && args.has("--cache")) {
            std::fprintf(stderr, "pagoda serve: --cache: %s\n", cache.status().message().c_str());
            return 1;
        }
        if (cache) {
            sc.api.response_cache = cache.value();
            std::fprintf(stderr, "pagoda serve: response cache %s (ttl %llds)\n", cache.value()->describe().c_str(),
                         static_cast<long long>(rc.ttl_s));
        } else {
            std::fprintf(stderr, "pagoda serve: response cache off: %s\n", cache.status().message().c_str());
        }
    }

    // Signals go to a dedicated thread (sigwait), so every other thread, created below,
    // starts with them blocked and no handler runs in the middle of engine or HTTP work.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);  // internal: the server stopped, the signal thread may go
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client that disconnects must not kill the server

    server::ModelManagerConfig mc;
    mc.max_loaded = static_cast<int>(max_loaded);
    mc.idle_ttl_s = idle_ttl;
    auto models = std::make_shared<server::ModelManager>(
        [eo](const std::string& path) { return make_engine(eo, path); }, mc);

    std::string preload;
    if (args.has("--models-dir")) {
        auto n = models->add_directory(args.get("--models-dir"));
        if (!n) {
            std::fprintf(stderr, "pagoda serve: %s\n", n.status().to_string().c_str());
            return 1;
        }
        std::fprintf(stderr, "pagoda serve: %d model(s) in %s\n", *n, args.get("--models-dir").c_str());
    }
    if (args.has("--model")) {
        const std::string m = args.get("--model");
        const bool is_file =
            m.find('/') != std::string::npos || (m.size() > 5 && m.substr(m.size() - 5) == ".gguf");
        if (is_file) {
            preload = server::ModelManager::model_id_for_path(m);
            // A file also in --models-dir is already registered under the same name.
            bool known = false;
            for (const auto& l : models->list()) known = known || l.id == preload;
            if (!known) {
                if (Status s = models->add_file(m); !s) {
                    std::fprintf(stderr, "pagoda serve: %s\n", s.to_string().c_str());
                    return 1;
                }
            }
        } else {
            preload = m;
        }
    }
    if (models->list().empty()) {
        std::fprintf(stderr, "pagoda serve: no models to serve\n");
        return 1;
    }
    // LoRA adapters: registered now, loaded into their base model when it loads.
    auto lora = std::make_shared<server::LoraCatalog>();
    for (const std::string& spec : args.get_all("--lora")) {
        auto entry = server::parse_lora_spec(spec);
        if (!entry) return usage(entry.status().message());
        if (entry->base.empty()) entry->base = preload.empty() ? models->default_model() : preload;
        bool base_known = false, name_taken = false;
        for (const auto& l : models->list()) {
            base_known = base_known || l.id == entry->base;
            name_taken = name_taken || l.id == entry->name;
        }
        if (!base_known) return usage("--lora " + spec + ": no model is named '" + entry->base + "'");
        if (name_taken) return usage("--lora " + spec + ": '" + entry->name + "' is already a model's name");
        if (Status s = lora->add(*entry); !s) return usage("--lora " + spec + ": " + s.message());
    }
    sc.api.lora = lora;
    sc.api.allow_lora_updates = args.has("--allow-lora-loading");
    // Listening before the model is loaded: liveness answers at once, readiness (and the
    // generation routes) answer 503 until the preload is done. "listening on" is printed
    // once ready, as before, for the scripts that wait for it.
    sc.start_ready = preload.empty();
    server::HttpServer server(sc, models);
    if (Status s = server.start(); !s) {
        std::fprintf(stderr, "pagoda serve: %s\n", s.message().c_str());
        return 1;
    }

    std::thread signal_thread([&server, signals] {
        int count = 0;
        for (;;) {
            int sig = 0;
            if (sigwait(&signals, &sig) != 0) continue;
            if (sig == SIGUSR1) return;
            if (++count == 1) {
                std::fprintf(stderr,
                             "pagoda serve [%s]: %s: draining, %d request(s) running (again to cut them short)\n",
                             server.replica_id().c_str(), sig == SIGINT ? "SIGINT" : "SIGTERM",
                             server.api().registry().active());
                server.request_shutdown();
            } else {
                server.cut_short_all();
            }
        }
    });
    int exit_code = 0;
    if (!preload.empty()) {
        if (Status s = models->preload(preload); !s) {
            std::fprintf(stderr, "pagoda serve: %s\n", s.message().c_str());
            server.request_shutdown();
            exit_code = 1;
        } else {
            // The preloaded model's adapters load now: a bad --lora file stops the start.
            for (const server::LoraEntry& e : lora->list()) {
                if (e.base != preload || exit_code != 0) continue;
                auto m = models->acquire(preload);
                auto id = m ? lora->ensure_loaded(*m.value()->engine, e)
                            : Result<int32_t>(internal_error(m.error().message));
                if (!id) {
                    std::fprintf(stderr, "pagoda serve: --lora %s: %s\n", e.name.c_str(),
                                 id.status().message().c_str());
                    server.request_shutdown();
                    exit_code = 1;
                }
            }
            if (exit_code == 0) server.set_ready(true);
        }
    }
    if (exit_code == 0) {
        std::fprintf(stderr, "pagoda serve: listening on http://%s:%d (models:", sc.host.c_str(), server.port());
        for (const auto& l : models->list()) std::fprintf(stderr, " %s%s", l.id.c_str(), l.loaded ? "*" : "");
        std::fprintf(stderr, ")%s, replica %s\n", sc.api_key.empty() ? "" : ", API key required",
                     server.replica_id().c_str());
        std::fflush(stderr);
    }
    server.wait();
    pthread_kill(signal_thread.native_handle(), SIGUSR1);
    signal_thread.join();
    std::fprintf(stderr, "pagoda serve [%s]: stopped\n", server.replica_id().c_str());
    return exit_code;
}

}  // namespace pagoda::cli
