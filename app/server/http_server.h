// The OpenAI-compatible HTTP server (cpp-httplib): routes, API key, CORS, body and queue
// limits, keep-alive, SSE, and a graceful shutdown. No Qt: `pagoda serve` and the
// desktop app both embed it. httplib stays out of this header.
//
// Shutdown (a drain): stop accepting connections, answer 503 + Retry-After to new requests
// on open ones (a load balancer retries them on another replica), let running generations
// finish for up to shutdown_grace_s, then cut the rest short (their streams still end with
// a finish chunk and [DONE]), and return from wait() once no request runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pagoda/status.h"
#include "server/api_service.h"
#include "server/model_manager.h"

namespace pagoda::server {

// One finished HTTP request, for a live request log (the desktop app's Server page).
struct RequestLogEntry {
    int64_t unix_ms = 0;  // when the request arrived
    std::string method;
    std::string path;
    std::string model;  // the model that answered a generation ("" otherwise)
    int status = 0;
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    double latency_s = 0.0;  // arrival to the last byte sent
};

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (see HttpServer::port())
    std::string api_key;  // "": no authentication
    // Origins allowed to call from a browser ("*": any). Empty: no CORS headers at all.
    std::vector<std::string> allowed_origins;
    size_t max_body_bytes = 16u << 20;
    int http_threads = 0;  // 0: max_active_requests + 16
    double shutdown_grace_s = 5.0;
    int keep_alive_timeout_s = 5;
    int read_timeout_s = 30;
    int write_timeout_s = 30;
    bool log_requests = false;  // one line per request on stderr
    // This process's name among replicas behind a load balancer (docs/scale-out.md): sent as
    // the x-pagoda-replica response header, the replica label in /metrics and in log lines.
    // "": hostname:port.
    std::string replica_id;
    // false: generation routes and /health/ready answer 503 (Retry-After) until set_ready(true),
    // e.g. while the model loads; /health/live answers 200 as long as the process serves.
    bool start_ready = true;
    // Called on an HTTP thread after each request has been answered; must not block.
    std::function<void(const RequestLogEntry&)> on_request;
    ApiOptions api;
};

class HttpServer {
public:
    HttpServer(ServerConfig config, std::shared_ptr<ModelManager> models);
    ~HttpServer();  // shuts down if still running
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts serving on background threads.
    Status start();
    int port() const;
    const std::string& host() const;

    // Starts the graceful shutdown (see above) and returns; safe from any thread, twice too.
    void request_shutdown();
    // Readiness: see ServerConfig::start_ready. Draining (after request_shutdown) is never ready.
    void set_ready(bool ready);
    // The replica id in use (ServerConfig::replica_id, or hostname:port once started).
    const std::string& replica_id() const;
    // Cuts every running generation short now (a second Ctrl-C).
    void cut_short_all();
    // Blocks until the server has stopped.
    void wait();

    ApiService& api();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Compares without an early exit, so the time taken does not reveal how much matched.
bool constant_time_equals(const std::string& a, const std::string& b);

}  // namespace pagoda::server
