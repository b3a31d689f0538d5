// The API's endpoints as plain functions of the request body, free of any HTTP
// library: parse, pick the model, build the prompt, admit (queue limit), submit, and
// answer with a body or a stream. http_server.cpp routes HTTP requests here.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "server/generation.h"
#include "server/http_reply.h"
#include "server/metrics.h"
#include "server/model_manager.h"
#include "server/openai_request.h"
#include "server/response_assembler.h"

namespace pagoda::server {

struct ApiOptions {
    ParseLimits limits;
    // Generation requests admitted at once (running or waiting in an engine); beyond it
    // 429 with Retry-After. 0: no limit.
    int max_active_requests = 256;
    int32_t default_completion_max_tokens = 16;  // /v1/completions without max_tokens (OpenAI's default)
    std::chrono::milliseconds poll_interval{20};  // how often a waiting stream checks on its client
};

class ApiService {
public:
    ApiService(std::shared_ptr<ModelManager> models, ApiOptions options);

    HttpReply chat_completions(std::string_view body);
    HttpReply completions(std::string_view body);
    HttpReply tokenize(std::string_view body);
    HttpReply detokenize(std::string_view body);
    HttpReply list_models() const;
    HttpReply get_model(const std::string& id) const;
    HttpReply metrics() const;

    ModelManager& models() { return *models_; }
    GenerationRegistry& registry() { return registry_; }
    ServerMetrics& server_metrics() { return metrics_; }
    const ApiOptions& options() const { return options_; }

private:
    HttpReply start(std::shared_ptr<ServedModel> model, std::vector<Request> requests, const std::string& prompt_param,
                    AssemblerOptions assembler);

    std::shared_ptr<ModelManager> models_;
    ApiOptions options_;
    GenerationRegistry registry_;
    ServerMetrics metrics_;
};

}  // namespace pagoda::server
