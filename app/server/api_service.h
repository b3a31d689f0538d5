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
#include "server/lora_catalog.h"
#include "server/metrics.h"
#include "server/model_manager.h"
#include "server/openai_request.h"
#include "server/response_assembler.h"
#include "server/response_cache.h"

namespace pagoda::server {

struct ApiOptions {
    ParseLimits limits;
    // Generation requests admitted at once (running or waiting in an engine); beyond it
    // 429 with Retry-After. 0: no limit.
    int max_active_requests = 256;
    int32_t default_completion_max_tokens = 16;  // /v1/completions without max_tokens (OpenAI's default)
    std::chrono::milliseconds poll_interval{20};  // how often a waiting stream checks on its client
    // Deterministic requests answered from here when seen before (response_cache.h); null: no cache.
    std::shared_ptr<ResponseCache> response_cache;
    // LoRA adapters per base model (lora_catalog.h); null: an empty one.
    std::shared_ptr<LoraCatalog> lora;
    // POST /v1/load_lora_adapter and /v1/unload_lora_adapter (pagoda serve --allow-lora-loading);
    // false: they answer 403.
    bool allow_lora_updates = false;
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
    // vLLM's runtime LoRA endpoints (api_lora.cpp).
    HttpReply load_lora_adapter(std::string_view body);
    HttpReply unload_lora_adapter(std::string_view body);

    ModelManager& models() { return *models_; }
    LoraCatalog& lora() { return *lora_; }
    GenerationRegistry& registry() { return registry_; }
    ServerMetrics& server_metrics() { return metrics_; }
    const ApiOptions& options() const { return options_; }

private:
    // adapter_keys: the adapters' identities for the response-cache key (ResolvedModel).
    HttpReply start(std::shared_ptr<ServedModel> model, std::vector<Request> requests, const std::string& prompt_param,
                    AssemblerOptions assembler, const std::vector<std::string>& adapter_keys = {});

    // A request's "model" (base, adapter or base:adapter) resolved and loaded (api_lora.cpp).
    // `body` (chat / completions): its optional "lora": [{"name", "scale"}] stacks more adapters
    // of the same base on top of the model's.
    ApiResult<ResolvedModel> resolve_model(const std::string& requested, std::string_view body = {});
    // /v1/models entries of the adapters (all, or the one named `only`, by name or base:name).
    std::vector<nlohmann::ordered_json> lora_model_objects(const std::string& only) const;

    std::shared_ptr<ModelManager> models_;
    ApiOptions options_;
    std::shared_ptr<LoraCatalog> lora_;
    GenerationRegistry registry_;
    ServerMetrics metrics_;
};

}  // namespace pagoda::server
