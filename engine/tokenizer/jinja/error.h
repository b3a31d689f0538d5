// The one exception type inside the Jinja interpreter. It never leaves
// engine/tokenizer/jinja: Template::parse/render turn it into a Status whose message
// names the template line and column.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <utility>

namespace pagoda::jinja {

// Where in the template source an error happened; kNoOffset when the code that noticed
// it does not know (the evaluator fills in the node it was evaluating).
constexpr uint32_t kNoOffset = UINT32_MAX;

enum class TemplateErrorKind : uint8_t {
    syntax,   // the template does not parse
    runtime,  // rendering failed (type error, raise_exception, ...)
    limit,    // a configured limit (loop iterations, output size, depth, steps) was hit
};

class TemplateError : public std::exception {
public:
    TemplateError(TemplateErrorKind kind, uint32_t offset, std::string message)
        : kind_(kind), offset_(offset), message_(std::move(message)) {}
    const char* what() const noexcept override { return message_.c_str(); }
    TemplateErrorKind kind() const { return kind_; }
    uint32_t offset() const { return offset_; }
    void set_offset(uint32_t offset) { offset_ = offset; }
    const std::string& message() const { return message_; }

private:
    TemplateErrorKind kind_;
    uint32_t offset_;
    std::string message_;
};

[[noreturn]] inline void fail(uint32_t offset, std::string message) {
    throw TemplateError(TemplateErrorKind::runtime, offset, std::move(message));
}
[[noreturn]] inline void fail(std::string message) {
    throw TemplateError(TemplateErrorKind::runtime, kNoOffset, std::move(message));
}
[[noreturn]] inline void fail_limit(uint32_t offset, std::string message) {
    throw TemplateError(TemplateErrorKind::limit, offset, std::move(message));
}

}  // namespace pagoda::jinja
