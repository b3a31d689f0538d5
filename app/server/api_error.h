// OpenAI-shaped errors: {"error": {"message", "type", "param", "code"}} with the HTTP
// status they go out with. Clients (the official SDKs) turn these into typed errors by
// status, so the status matters as much as the text.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

namespace pagoda::server {

struct ApiError {
    int status = 400;
    std::string message;
    std::string type = "invalid_request_error";
    std::string param;  // "" -> null
    std::string code;   // "" -> null

    nlohmann::ordered_json to_json() const;
    std::string body() const;  // to_json().dump()
};

// 400: a request parameter has the wrong type or value; `param` names it ("temperature",
// "messages[2].content").
ApiError invalid_param(std::string param, std::string message);
ApiError invalid_request(std::string message);  // 400 without a parameter
ApiError model_not_found(const std::string& model);
// 404 model_not_found with the engine's reason (e.g. an adapter unloaded a moment ago).
ApiError model_not_found_because(const std::string& reason);
ApiError unauthorized();
ApiError too_many_requests(const std::string& message);
ApiError payload_too_large(size_t limit_bytes);
ApiError server_error(std::string message, int status = 500);
ApiError not_found_route(const std::string& method, const std::string& path);
ApiError method_not_allowed(const std::string& method, const std::string& path);

// A value, or the ApiError that explains why there is none.
template <class T>
class ApiResult {
public:
    ApiResult(T value) : v_(std::move(value)) {}
    ApiResult(ApiError error) : v_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const ApiError& error() const { return std::get<ApiError>(v_); }

private:
    std::variant<T, ApiError> v_;
};

}  // namespace pagoda::server
