// Status and Result<T>: how every engine call reports failure. No exception crosses
// engine/include/pagoda/, so callers (Qt app, HTTP server, CLI) can never be surprised.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace pagoda {

enum class ErrorCode {
    ok = 0,
    invalid_argument,  // the caller asked for something malformed
    not_found,         // a file, tensor, key or token that does not exist
    io_error,          // the OS refused (open, mmap, read, write)
    invalid_format,    // a file's contents are malformed or hostile
    unsupported,       // well-formed, but not something Pagoda can run
    out_of_memory,     // a budget (RAM, VRAM, KV blocks) is exhausted
    internal,          // a bug: an invariant failed
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
public:
    Status() = default;
    static Status ok() { return {}; }
    static Status error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }

    bool is_ok() const { return code_ == ErrorCode::ok; }
    explicit operator bool() const { return is_ok(); }
    ErrorCode code() const { return code_; }
    const std::string& message() const { return message_; }
    // "invalid_format: model.gguf: tensor 'x' ..." for logs and CLI errors.
    std::string to_string() const;

private:
    Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
    ErrorCode code_ = ErrorCode::ok;
    std::string message_;
};

inline Status invalid_argument(std::string m) { return Status::error(ErrorCode::invalid_argument, std::move(m)); }
inline Status not_found(std::string m) { return Status::error(ErrorCode::not_found, std::move(m)); }
inline Status io_error(std::string m) { return Status::error(ErrorCode::io_error, std::move(m)); }
inline Status invalid_format(std::string m) { return Status::error(ErrorCode::invalid_format, std::move(m)); }
inline Status unsupported(std::string m) { return Status::error(ErrorCode::unsupported, std::move(m)); }
inline Status out_of_memory(std::string m) { return Status::error(ErrorCode::out_of_memory, std::move(m)); }
inline Status internal_error(std::string m) { return Status::error(ErrorCode::internal, std::move(m)); }

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).is_ok()); }

    bool is_ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return is_ok(); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }

    Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

private:
    std::variant<T, Status> v_;
};

}  // namespace pagoda

// Return a failing Status from the current function (which returns Status or Result<T>).
#define PAGODA_RETURN_IF_ERROR(expr)                        \
    do {                                                    \
        ::pagoda::Status pagoda_status_ = (expr);           \
        if (!pagoda_status_.is_ok()) return pagoda_status_; \
    } while (0)
