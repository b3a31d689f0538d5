// What an API endpoint answers, independent of the HTTP library: a status and a body,
// or a stream the HTTP layer pulls from until it ends (SSE, or a JSON body that is only
// known when generation finishes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/api_error.h"

namespace pagoda::server {

class ReplyStream {
public:
    // Destroying a stream that has not ended cancels its work (the client went away).
    virtual ~ReplyStream() = default;
    // Waits briefly for output and appends it to `out`; false once the reply is complete
    // (`out` then holds the last of it).
    virtual bool next(std::string& out) = 0;
    // For the request log, once next() returned false: the model that answered and the tokens
    // used (empty / zero for streams that are not generations).
    struct Usage {
        std::string model;
        int64_t prompt_tokens = 0;
        int64_t completion_tokens = 0;
    };
    virtual Usage usage() const { return {}; }
};

struct HttpReply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::shared_ptr<ReplyStream> stream;  // set: the body comes from the stream

    static HttpReply json(std::string body, int status = 200) {
        HttpReply r;
        r.status = status;
        r.body = std::move(body);
        return r;
    }
    static HttpReply error(const ApiError& e) {
        HttpReply r = json(e.body(), e.status);
        if (e.status == 429) r.headers.emplace_back("Retry-After", "1");
        return r;
    }
};

}  // namespace pagoda::server
