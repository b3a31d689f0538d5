#include "pagoda/status.h"

namespace pagoda {

const char* error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::ok: return "ok";
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::io_error: return "io_error";
        case ErrorCode::invalid_format: return "invalid_format";
        case ErrorCode::unsupported: return "unsupported";
        case ErrorCode::out_of_memory: return "out_of_memory";
        case ErrorCode::internal: return "internal";
    }
    return "unknown";
}

std::string Status::to_string() const {
    if (is_ok()) return "ok";
    return std::string(error_code_name(code_)) + ": " + message_;
}

}  // namespace pagoda
