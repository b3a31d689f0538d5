#include "http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace pagoda::server::test {

HttpConnection::HttpConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{};
    tv.tv_sec = 60;  // a hung server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool HttpConnection::send_all(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<size_t>(n);
    }
    return true;
}

bool HttpConnection::send_request(const std::string& method, const std::string& path, const std::string& body,
                                  const Headers& headers, bool keep_alive) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    bool has_type = false;
    for (const auto& [k, v] : headers) {
        req += k + ": " + v + "\r\n";
        std::string lk = k;
        std::transform(lk.begin(), lk.end(), lk.begin(), [](unsigned char c) { return std::tolower(c); });
        has_type = has_type || lk == "content-type";
    }
    if (!body.empty() || method == "POST") {
        if (!has_type) req += "Content-Type: application/json\r\n";
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    req += "\r\n";
    return send_all(req + body);
}

bool HttpConnection::fill() {
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
}

RawResponse HttpConnection::read_head() {
    RawResponse r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) return r;
    }
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() >= 12 && status_line.rfind("HTTP/1.", 0) == 0) r.status = std::atoi(status_line.c_str() + 9);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        const std::string line = head.substr(pos, e - pos);
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
            std::string k = line.substr(0, colon);
            std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
            std::string v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.erase(v.begin());
            r.headers[k] = v;
        }
        pos = e + 2;
    }
    auto te = r.headers.find("transfer-encoding");
    r.chunked = te != r.headers.end() && te->second.find("chunked") != std::string::npos;
    return r;
}

std::string HttpConnection::read_until(const std::string& needle) {
    while (buf_.find(needle) == std::string::npos) {
        if (!fill()) break;
    }
    return buf_;
}

std::string HttpConnection::read_body(const RawResponse& head) {
    std::string body;
    if (head.chunked) {
        for (;;) {
            size_t e;
            while ((e = buf_.find("\r\n")) == std::string::npos) {
                if (!fill()) return body;
            }
            const size_t size = std::strtoul(buf_.substr(0, e).c_str(), nullptr, 16);
            buf_.erase(0, e + 2);
            while (buf_.size() < size + 2) {
                if (!fill()) return body;
            }
            body += buf_.substr(0, size);
            buf_.erase(0, size + 2);
            if (size == 0) return body;
        }
    }
    auto cl = head.headers.find("content-length");
    if (cl != head.headers.end()) {
        const size_t n = std::strtoul(cl->second.c_str(), nullptr, 10);
        while (buf_.size() < n) {
            if (!fill()) break;
        }
        body = buf_.substr(0, std::min(n, buf_.size()));
        buf_.erase(0, body.size());
        return body;
    }
    while (fill()) {
    }
    body.swap(buf_);
    return body;
}

RawResponse http_raw(int port, const std::string& raw) {
    HttpConnection c(port);
    RawResponse r;
    if (!c.ok()) return r;
    c.send_all(raw);  // the server may answer (413) before reading everything
    r = c.read_head();
    if (r.status) r.body = c.read_body(r);
    return r;
}

RawResponse http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                         const Headers& headers) {
    HttpConnection c(port);
    RawResponse r;
    if (!c.ok()) return r;
    c.send_request(method, path, body, headers);
    r = c.read_head();
    if (r.status) r.body = c.read_body(r);
    return r;
}

std::vector<std::string> sse_payloads(const std::string& body, bool* framing_ok) {
    std::vector<std::string> out;
    bool ok = true;
    size_t pos = 0;
    while (pos < body.size()) {
        if (body.compare(pos, 6, "data: ") != 0) {
            ok = false;
            break;
        }
        const size_t end = body.find("\n\n", pos);
        if (end == std::string::npos) {
            ok = false;
            break;
        }
        out.push_back(body.substr(pos + 6, end - pos - 6));
        pos = end + 2;
    }
    if (framing_ok) *framing_ok = ok;
    return out;
}

}  // namespace pagoda::server::test
