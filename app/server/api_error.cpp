#include "server/api_error.h"

namespace pagoda::server {

nlohmann::ordered_json ApiError::to_json() const {
    nlohmann::ordered_json e = nlohmann::ordered_json::object();
    e["message"] = message;
    e["type"] = type;
    e["param"] = param.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(param);
    e["code"] = code.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(code);
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    out["error"] = std::move(e);
    return out;
}

std::string ApiError::body() const {
    // Messages may quote user input; never let a stray byte turn into an exception.
    return to_json().dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ApiError invalid_param(std::string param, std::string message) {
    ApiError e;
    e.status = 400;
    e.message = std::move(message);
    e.param = std::move(param);
    return e;
}

ApiError invalid_request(std::string message) {
    ApiError e;
    e.status = 400;
    e.message = std::move(message);
    return e;
}

ApiError model_not_found(const std::string& model) {
    return model_not_found_because("The model '" + model + "' does not exist");
}

ApiError model_not_found_because(const std::string& reason) {
    ApiError e;
    e.status = 404;
    e.message = reason + " (GET /v1/models lists the models this server can run)";
    e.param = "model";
    e.code = "model_not_found";
    return e;
}

ApiError unauthorized() {
    ApiError e;
    e.status = 401;
    e.message = "Incorrect or missing API key: send it as 'Authorization: Bearer KEY'";
    e.code = "invalid_api_key";
    return e;
}

ApiError too_many_requests(const std::string& message) {
    ApiError e;
    e.status = 429;
    e.message = message;
    e.type = "rate_limit_error";
    e.code = "rate_limit_exceeded";
    return e;
}

ApiError payload_too_large(size_t limit_bytes) {
    ApiError e;
    e.status = 413;
    e.message = "The request body is larger than this server's limit of " + std::to_string(limit_bytes) + " bytes";
    e.code = "request_too_large";
    return e;
}

ApiError server_error(std::string message, int status) {
    ApiError e;
    e.status = status;
    e.message = std::move(message);
    e.type = "server_error";
    return e;
}

ApiError not_found_route(const std::string& method, const std::string& path) {
    ApiError e;
    e.status = 404;
    e.message = "Unknown request URL: " + method + " " + path;
    e.code = "unknown_url";
    return e;
}

ApiError method_not_allowed(const std::string& method, const std::string& path) {
    ApiError e;
    e.status = 405;
    e.message = "Method " + method + " is not allowed for " + path;
    e.code = "method_not_allowed";
    return e;
}

}  // namespace pagoda::server
