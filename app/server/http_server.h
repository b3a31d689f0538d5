// The OpenAI-compatible HTTP server (cpp-httplib): routes, API key, CORS, body and queue
// limits, keep-alive, SSE, and a graceful shutdown. No Qt: `pagoda serve` and the
// desktop app both embed it. httplib stays out of this header.
//
// Shutdown: stop accepting connections, answer 503 to new requests on open ones, let
// running generations finish for up to shutdown_grace_s, then cut the rest short (their
// streams still end with a finish chunk and [DONE]), and return from wait().
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "pagoda/status.h"
#include "server/api_service.h"
#include "server/model_manager.h"

namespace pagoda::server {

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
