#include "server/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace pagoda::server {

namespace {

using Clock = std::chrono::steady_clock;

// Exposes the listening socket, which httplib keeps protected: shutting it down stops
// new connections without httplib's own stop(), which would abort running streams.
class HttplibServer : public httplib::Server {
public:
    socket_t listen_socket() const { return svr_sock_; }
    // After the accept loop ended (and closed the socket): lets keep-alive loops end too.
    void mark_stopped() { svr_sock_ = INVALID_SOCKET; }
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// The request an HTTP worker thread is answering, for ServerConfig::on_request: httplib
// runs routing, the content provider and the logger of one request on the same thread.
struct RequestTrace {
    bool active = false;
    Clock::time_point start{};
    int64_t unix_ms = 0;
    ReplyStream::Usage usage;
};
thread_local RequestTrace t_trace;

}  // namespace

bool constant_time_equals(const std::string& a, const std::string& b) {
    // Loops over the longer string whatever the contents; only the lengths leak.
    const size_t n = std::max(a.size(), b.size());
    volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

struct HttpServer::Impl {
    ServerConfig cfg;
    std::shared_ptr<ModelManager> models;
    ApiService api;
    HttplibServer svr;
    int bound_port = -1;
    int listen_fd = -1;  // the listening socket, to widen its backlog after bind
    std::thread listener;
    std::thread janitor;

    std::mutex mutex;
    std::condition_variable cv;
    bool started = false;
    bool shutdown_requested = false;
    bool stopped = false;
    std::atomic<bool> draining{false};
    std::atomic<bool> ready{true};
    std::string replica;  // set in start(), before any request

    Impl(ServerConfig c, std::shared_ptr<ModelManager> m)
        : cfg(std::move(c)), models(m), api(std::move(m), cfg.api) {}

    std::string allowed_origin(const httplib::Request& req) const {
        if (cfg.allowed_origins.empty() || !req.has_header("Origin")) return {};
        const std::string origin = req.get_header_value("Origin");
        for (const std::string& o : cfg.allowed_origins) {
            if (o == "*" || o == origin) return origin;
        }
        return {};
    }

    bool authorized(const httplib::Request& req) const {
        if (cfg.api_key.empty()) return true;
        const std::string h = req.get_header_value("Authorization");
        const std::string prefix = "bearer ";
        if (h.size() < prefix.size() || lower(h.substr(0, prefix.size())) != prefix) return false;
        std::string token = h.substr(prefix.size());
        while (!token.empty() && token.front() == ' ') token.erase(token.begin());
        return constant_time_equals(token, cfg.api_key);
    }

    static void send(httplib::Response& res, HttpReply reply) {
        res.status = reply.status;
        for (const auto& [k, v] : reply.headers) res.set_header(k, v);
        if (!reply.stream) {
            res.set_content(reply.body, reply.content_type);
            return;
        }
        std::shared_ptr<ReplyStream> stream = std::move(reply.stream);
        // The provider runs on this connection's worker thread; httplib checks before each
        // call that the client is still there (is_writable peeks the socket), so a client
        // that disconnects ends the loop and the stream's destructor cancels its work.
        res.set_chunked_content_provider(reply.content_type, [stream](size_t, httplib::DataSink& sink) {
            std::string out;
            const bool more = stream->next(out);
            if (!more) t_trace.usage = stream->usage();
            if (!out.empty() && !sink.write(out.data(), out.size())) return false;
            if (!more) sink.done();
            return true;
        });
    }

    static void send_error(httplib::Response& res, const ApiError& e) { send(res, HttpReply::error(e)); }

    void setup_routes();
    void run_janitor();
};

void HttpServer::Impl::setup_routes() {
    const int threads = cfg.http_threads > 0 ? cfg.http_threads : std::max(cfg.api.max_active_requests, 16) + 16;
    svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    svr.set_payload_max_length(cfg.max_body_bytes);
    svr.set_keep_alive_max_count(1000);
    svr.set_keep_alive_timeout(cfg.keep_alive_timeout_s);
    svr.set_read_timeout(cfg.read_timeout_s, 0);
    svr.set_write_timeout(cfg.write_timeout_s, 0);
    svr.set_tcp_nodelay(true);

    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (cfg.on_request) {
            t_trace = RequestTrace{};
            t_trace.active = true;
            t_trace.start = Clock::now();
            t_trace.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
        }
        res.set_header("x-pagoda-replica", replica);
        const std::string origin = allowed_origin(req);
        if (!origin.empty()) {
            res.set_header("Access-Control-Allow-Origin", origin);
            res.set_header("Vary", "Origin");
        }
        if (req.method == "OPTIONS") {
            // CORS preflight: answered here, before authentication (browsers send no credentials).
            if (!origin.empty()) {
                res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
                res.set_header("Access-Control-Allow-Headers", req.has_header("Access-Control-Request-Headers")
                                                                   ? req.get_header_value("Access-Control-Request-Headers")
                                                                   : "Authorization, Content-Type");
                res.set_header("Access-Control-Max-Age", "600");
            }
            res.status = 204;
            return httplib::Server::HandlerResponse::Handled;
        }
        if (req.path == "/health" || req.path == "/health/live" || req.path == "/health/ready") {
            return httplib::Server::HandlerResponse::Unhandled;
        }
        if (!authorized(req)) {
            send_error(res, unauthorized());
            return httplib::Server::HandlerResponse::Handled;
        }
        // The pre-routing handler runs before httplib reads the body: refusing an announced
        // oversized body here answers at once, where httplib would first read and discard it.
        if (req.has_header("Content-Length")) {
            const std::string cl = req.get_header_value("Content-Length");
            char* end = nullptr;
            const unsigned long long n = std::strtoull(cl.c_str(), &end, 10);
            if (end != cl.c_str() && n > cfg.max_body_bytes) {
                res.set_header("Connection", "close");
                send_error(res, payload_too_large(cfg.max_body_bytes));
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        // 503 + Retry-After: a load balancer (nginx: proxy_next_upstream http_503) passes the
        // request to another replica; nothing of it ran here.
        if (draining) {
            res.set_header("Connection", "close");
            res.set_header("Retry-After", "1");
            send_error(res, server_error("The server is shutting down", 503));
            return httplib::Server::HandlerResponse::Handled;
        }
        if (!ready && req.path != "/metrics" && req.path.rfind("/v1/models", 0) != 0 && req.path != "/models") {
            res.set_header("Retry-After", "1");
            send_error(res, server_error("The server is starting: the model is still loading", 503));
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    // Liveness (/health/live: the process answers) vs readiness (/health and /health/ready:
    // it takes new requests; 503 while the model loads or while draining).
    auto health = [this](httplib::Response& res, bool readiness) {
        nlohmann::json j;
        const char* state = draining ? "shutting down" : !ready ? "loading" : "ok";
        j["status"] = readiness ? state : "alive";
        j["replica"] = replica;
        if (!readiness) j["state"] = state;
        HttpReply r = HttpReply::json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        if (readiness && (draining || !ready)) {
            r.status = 503;
            r.headers.emplace_back("Retry-After", "1");
        }
        send(res, std::move(r));
    };
    svr.Get("/health", [health](const httplib::Request&, httplib::Response& res) { health(res, true); });
    svr.Get("/health/ready", [health](const httplib::Request&, httplib::Response& res) { health(res, true); });
    svr.Get("/health/live", [health](const httplib::Request&, httplib::Response& res) { health(res, false); });
    auto models_handler = [this](const httplib::Request&, httplib::Response& res) { send(res, api.list_models()); };
    svr.Get("/v1/models", models_handler);
    svr.Get("/models", models_handler);
    svr.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
        send(res, api.get_model(req.matches[1]));
    });
    auto chat = [this](const httplib::Request& req, httplib::Response& res) {
        send(res, api.chat_completions(req.body));
    };
    svr.Post("/v1/chat/completions", chat);
    svr.Post("/chat/completions", chat);
    auto completions = [this](const httplib::Request& req, httplib::Response& res) {
        send(res, api.completions(req.body));
    };
    svr.Post("/v1/completions", completions);
    svr.Post("/completions", completions);
    auto tokenize = [this](const httplib::Request& req, httplib::Response& res) { send(res, api.tokenize(req.body)); };
    svr.Post("/tokenize", tokenize);
    svr.Post("/v1/tokenize", tokenize);
    auto detokenize = [this](const httplib::Request& req, httplib::Response& res) {
        send(res, api.detokenize(req.body));
    };
    svr.Post("/detokenize", detokenize);
    svr.Post("/v1/detokenize", detokenize);
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { send(res, api.metrics()); });
    // vLLM's runtime LoRA endpoints (api_lora.cpp; off unless --allow-lora-loading).
    svr.Post("/v1/load_lora_adapter", [this](const httplib::Request& req, httplib::Response& res) {
        send(res, api.load_lora_adapter(req.body));
    });
    svr.Post("/v1/unload_lora_adapter", [this](const httplib::Request& req, httplib::Response& res) {
        send(res, api.unload_lora_adapter(req.body));
    });

    // httplib's own refusals (no route, body over the limit, a request it cannot parse)
    // get OpenAI-shaped bodies too.
    svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                       httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_ || res.content_provider_) {
            return httplib::Server::HandlerResponse::Unhandled;
        }
        ApiError e;
        if (res.status == 404) {
            e = not_found_route(req.method, req.path);
        } else if (res.status == 413) {
            e = payload_too_large(cfg.max_body_bytes);
        } else if (res.status == 414 || res.status == 431) {
            e = invalid_request("The request line or headers are too long");
            e.status = res.status;
        } else if (res.status >= 400 && res.status < 500) {
            e = invalid_request("Malformed HTTP request");
            e.status = res.status;
        } else {
            e = server_error("Internal server error", res.status >= 500 ? res.status : 500);
        }
        const int status = e.status;
        res.set_content(e.body(), "application/json");
        res.status = status;
        return httplib::Server::HandlerResponse::Handled;
    }));
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& ex) {
            what = ex.what();
        } catch (...) {
        }
        const ApiError e = server_error("Internal server error: " + what);
        res.status = e.status;
        res.set_content(e.body(), "application/json");
    });
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        std::string endpoint = req.path;
        if (endpoint.rfind("/v1/models/", 0) == 0) endpoint = "/v1/models/{id}";
        api.server_metrics().count_request(endpoint.size() > 64 ? std::string("other") : endpoint, res.status);
        if (cfg.log_requests) {
            std::fprintf(stderr, "pagoda serve [%s]: %s %s %d\n", replica.c_str(), req.method.c_str(), req.path.c_str(),
                         res.status);
        }
        if (cfg.on_request) {
            RequestLogEntry e;
            e.method = req.method;
            e.path = req.path;
            e.status = res.status;
            if (t_trace.active) {
                e.unix_ms = t_trace.unix_ms;
                e.latency_s = std::chrono::duration<double>(Clock::now() - t_trace.start).count();
                e.model = std::move(t_trace.usage.model);
                e.prompt_tokens = t_trace.usage.prompt_tokens;
                e.completion_tokens = t_trace.usage.completion_tokens;
            }
            t_trace = RequestTrace{};
            cfg.on_request(e);
        }
    });
}

void HttpServer::Impl::run_janitor() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!shutdown_requested) {
        cv.wait_for(lock, std::chrono::seconds(1));
        if (shutdown_requested) break;
        lock.unlock();
        models->unload_idle();
        lock.lock();
    }
    lock.unlock();

    // Drain: running generations get the grace period, then are cut short; their
    // streams then end normally (finish chunk, [DONE]) and the connections close.
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(std::max(cfg.shutdown_grace_s, 0.0)));
    while (api.registry().active() > 0 && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (api.registry().active() > 0) {
        std::fprintf(stderr, "pagoda serve [%s]: cutting %d running request(s) short\n", replica.c_str(),
                     api.registry().active());
        api.registry().cancel_all();
    }
    const auto hard_deadline = Clock::now() + std::chrono::seconds(10);
    while (api.registry().active() > 0 && Clock::now() < hard_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    svr.mark_stopped();
}

HttpServer::HttpServer(ServerConfig config, std::shared_ptr<ModelManager> models)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(models))) {}

HttpServer::~HttpServer() {
    request_shutdown();
    wait();
}

Status HttpServer::start() {
    Impl& d = *impl_;
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        if (d.started) return invalid_argument("the server is already started");
    }
    d.setup_routes();
    d.svr.set_socket_options([&d](int sock) {
        httplib::default_socket_options(sock);
        d.listen_fd = sock;
    });
    if (d.cfg.port == 0) {
        d.bound_port = d.svr.bind_to_any_port(d.cfg.host);
        if (d.bound_port <= 0) return io_error("cannot listen on " + d.cfg.host + " (any port)");
    } else {
        if (!d.svr.bind_to_port(d.cfg.host, d.cfg.port)) {
            return io_error("cannot listen on " + d.cfg.host + ":" + std::to_string(d.cfg.port) +
                            " (in use, or not an address of this machine)");
        }
        d.bound_port = d.cfg.port;
    }
    // Debian's compiled cpp-httplib listens with a backlog of 5: a burst of connections (an
    // IDE opening many completions at once, 64 load-test clients) overflows it, and under CPU
    // pressure the dropped handshakes stall in TCP retries for up to a minute. A second
    // listen() on the bound socket sets a new backlog.
    if (d.listen_fd >= 0) ::listen(d.listen_fd, SOMAXCONN);
    d.replica = d.cfg.replica_id;
    if (d.replica.empty()) {
        char host[256] = {};
        if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "pagoda");
        d.replica = std::string(host) + ":" + std::to_string(d.bound_port);
    }
    d.ready = d.cfg.start_ready;
    d.api.server_metrics().set_replica(d.replica);
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        d.started = true;
    }
    d.listener = std::thread([&d] { d.svr.listen_after_bind(); });
    d.janitor = std::thread([&d] { d.run_janitor(); });
    return Status::ok();
}

int HttpServer::port() const { return impl_->bound_port; }
const std::string& HttpServer::host() const { return impl_->cfg.host; }
ApiService& HttpServer::api() { return impl_->api; }

void HttpServer::request_shutdown() {
    Impl& d = *impl_;
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        if (d.shutdown_requested) return;
        d.shutdown_requested = true;
        d.draining = true;
        // Stop accepting: accept() fails, httplib's accept loop ends (and closes the
        // socket) while connections already open carry on.
        if (d.started) ::shutdown(d.svr.listen_socket(), SHUT_RDWR);
    }
    d.cv.notify_all();
}

void HttpServer::set_ready(bool ready) { impl_->ready = ready; }
const std::string& HttpServer::replica_id() const { return impl_->replica; }

void HttpServer::cut_short_all() { impl_->api.registry().cancel_all(); }

void HttpServer::wait() {
    Impl& d = *impl_;
    if (d.listener.joinable()) d.listener.join();
    if (d.janitor.joinable()) d.janitor.join();
}

}  // namespace pagoda::server
