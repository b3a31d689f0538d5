// A deliberately small HTTP/1.1 client on raw loopback sockets, so the server tests see
// exactly what goes over the wire (status line, headers, chunked framing, SSE) and can
// misbehave on purpose (huge bodies, lies in Content-Length, hanging up mid-stream).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pagoda::server::test {

struct RawResponse {
    int status = 0;  // 0: no response (connection refused, closed, or timed out)
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;  // de-chunked
    bool chunked = false;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request on a fresh connection (Connection: close), read to the end.
RawResponse http_request(int port, const std::string& method, const std::string& path, const std::string& body = "",
                         const Headers& headers = {});
// Sends `raw` as is and reads one response.
RawResponse http_raw(int port, const std::string& raw);

// A connection kept open by the test: send a request, read part of the answer, hang up.
class HttpConnection {
public:
    explicit HttpConnection(int port);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    bool ok() const { return fd_ >= 0; }
    bool send_all(const std::string& data);
    bool send_request(const std::string& method, const std::string& path, const std::string& body,
                      const Headers& headers = {}, bool keep_alive = false);
    // Reads the status line and headers.
    RawResponse read_head();
    // Reads body bytes (raw, chunk framing included) until `needle` appears or the peer
    // closes; returns everything read so far.
    std::string read_until(const std::string& needle);
    // Reads the rest of one response after read_head (de-chunked).
    std::string read_body(const RawResponse& head);
    void close();

private:
    bool fill();
    int fd_ = -1;
    std::string buf_;
};

// SSE payloads ("data: X\n\n" -> X) of a de-chunked body; `framing_ok` is false when
// anything else appears between events.
std::vector<std::string> sse_payloads(const std::string& body, bool* framing_ok = nullptr);

}  // namespace pagoda::server::test
