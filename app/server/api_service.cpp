#include "server/api_service.h"

#include <ctime>

#include "server/prompt_builder.h"
#include "server/response_cache_replay.h"
#include "server/tool_call_grammar.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::server {

using Json = nlohmann::ordered_json;

namespace {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Pulls a Generation's events through a ResponseAssembler for the HTTP layer.
// Owns the request's admission slot; destroying it early cancels the engine work.
class GenerationStream : public ReplyStream {
public:
    GenerationStream(std::shared_ptr<Generation> gen, ResponseAssembler assembler, bool stream,
                     GenerationRegistry& registry, ServerMetrics& metrics, std::chrono::milliseconds poll)
        : gen_(std::move(gen)),
          assembler_(std::move(assembler)),
          stream_(stream),
          registry_(registry),
          metrics_(metrics),
          poll_(poll) {}

    ~GenerationStream() override {
        gen_.reset();  // cancels unfinished engine requests: their KV blocks are freed
        registry_.release();
    }

    bool next(std::string& out) override {
        if (stream_ && !started_) {
            started_ = true;
            out += assembler_.stream_start();
            return true;
        }
        events_.clear();
        gen_->poll(events_, poll_);
        for (const GenerationEvent& e : events_) {
            gen_->note(e);
            if (recorder_) recorder_->on_event(e);
            std::string text = assembler_.on_event(e);
            if (stream_) out += text;
            if (e.finish) {
                const RequestFinish& f = *e.finish;
                metrics_.observe_generation(f.usage.prompt_tokens, f.usage.completion_tokens, f.time_to_first_token_s,
                                            f.total_time_s);
                usage_.prompt_tokens += f.usage.prompt_tokens;
                usage_.completion_tokens += f.usage.completion_tokens;
            }
        }
        if (!gen_->finished()) return true;
        if (recorder_) recorder_->finish(gen_->cut_short(), assembler_.failure().has_value());
        if (stream_) {
            out += assembler_.stream_end(gen_->cut_short());
        } else if (auto failure = assembler_.failure()) {
            // Headers are already out (200): the error object goes in the body.
            out += failure->body();
        } else {
            out += dump(assembler_.final_body(gen_->cut_short()));
        }
        return false;
    }

    // A response-cache miss: the generation is stored when it ends cleanly.
    void record_into(std::shared_ptr<CacheRecorder> recorder) { recorder_ = std::move(recorder); }

    Usage usage() const override {
        Usage u = usage_;
        u.model = gen_ ? gen_->model().id : std::string();
        return u;
    }

private:
    Usage usage_;
    std::shared_ptr<Generation> gen_;
    ResponseAssembler assembler_;
    bool stream_;
    bool started_ = false;
    GenerationRegistry& registry_;
    ServerMetrics& metrics_;
    std::chrono::milliseconds poll_;
    std::vector<GenerationEvent> events_;
    std::shared_ptr<CacheRecorder> recorder_;
};

}  // namespace

ApiService::ApiService(std::shared_ptr<ModelManager> models, ApiOptions options)
    : models_(std::move(models)),
      options_(std::move(options)),
      lora_(options_.lora ? options_.lora : std::make_shared<LoraCatalog>()) {}

HttpReply ApiService::start(std::shared_ptr<ServedModel> model, std::vector<Request> requests,
                            const std::string& prompt_param, AssemblerOptions ao,
                            const std::vector<std::string>& adapter_keys) {
    // Before admission: a hit takes no engine slot.
    CachePlan cache = plan_response_cache(options_.response_cache, *model, requests, ao, adapter_keys);
    if (!cache.hit.empty()) return cached_reply(model, std::move(cache), std::move(ao));
    if (!registry_.try_reserve(options_.max_active_requests)) {
        return HttpReply::error(too_many_requests("The server is busy: " +
                                                  std::to_string(options_.max_active_requests) +
                                                  " requests are already running or queued. Retry shortly."));
    }
    auto gen = Generation::start(model, std::move(requests), prompt_param, &registry_);
    if (!gen) {
        registry_.release();
        return HttpReply::error(gen.error());
    }
    const bool stream = ao.stream;
    HttpReply reply;
    reply.status = 200;
    if (stream) {
        reply.content_type = "text/event-stream";
        reply.headers.emplace_back("Cache-Control", "no-cache");
        reply.headers.emplace_back("X-Accel-Buffering", "no");
    }
    auto generation = std::make_shared<GenerationStream>(std::move(gen.value()),
                                                         ResponseAssembler(std::move(ao), model->engine->tokenizer()),
                                                         stream, registry_, metrics_, options_.poll_interval);
    generation->record_into(std::move(cache.recorder));
    if (!cache.header.empty()) reply.headers.emplace_back(kCacheHeader, cache.header);
    reply.stream = std::move(generation);
    return reply;
}

HttpReply ApiService::chat_completions(std::string_view body) {
    auto parsed = parse_chat_completion_request(body, options_.limits);
    if (!parsed) return HttpReply::error(parsed.error());
    ChatCompletionRequest& r = parsed.value();
    auto resolved = resolve_model(r.model, body);
    if (!resolved) return HttpReply::error(resolved.error());
    const ServedModel& m = *resolved->model;

    const bool tools_on = !r.tools.is_null() && r.tool_choice.mode != ToolChoiceMode::none;
    auto prompt = build_chat_prompt(m, r.messages, tools_on ? r.tools : Json(), r.template_variables,
                                    r.add_generation_prompt);
    if (!prompt) return HttpReply::error(prompt.error());

    Request req;
    req.prompt = std::move(prompt.value());
    req.sampling = to_sampling_params(r.sampling, -1, r.logprobs, r.top_logprobs);
    req.adapters = resolved->adapters;
    if (tools_on) {
        auto forced = tool_call_grammar(m.traits.tool_format, r.tools, r.tool_choice, r.parallel_tool_calls);
        if (!forced) return HttpReply::error(forced.error());
        if (forced.value() && req.sampling.grammar) {
            return HttpReply::error(invalid_param(
                "tool_choice", "tool_choice 'required' or a named function cannot be combined with a JSON "
                               "response_format or a grammar."));
        }
        if (forced.value()) req.sampling.grammar = forced.value();
    }

    AssemblerOptions ao;
    ao.kind = ApiKind::chat;
    ao.stream = r.sampling.stream;
    ao.include_usage = r.sampling.include_usage;
    ao.n = r.sampling.n;
    ao.n_prompts = 1;
    ao.logprobs = r.logprobs;
    ao.top_logprobs = r.top_logprobs;
    ao.tool_format = tools_on ? m.traits.tool_format : ToolCallFormat::none;
    ao.id = random_id("chatcmpl-");
    ao.model = resolved->name;
    ao.created = static_cast<int64_t>(std::time(nullptr));
    std::vector<Request> reqs;
    reqs.push_back(std::move(req));
    return start(resolved->model, std::move(reqs), "messages", std::move(ao), resolved->adapter_keys);
}

HttpReply ApiService::completions(std::string_view body) {
    auto parsed = parse_completion_request(body, options_.limits);
    if (!parsed) return HttpReply::error(parsed.error());
    CompletionRequest& r = parsed.value();
    auto resolved = resolve_model(r.model, body);
    if (!resolved) return HttpReply::error(resolved.error());
    const ServedModel& m = *resolved->model;
    const Tokenizer* tok = m.engine->tokenizer();

    const bool logprobs = r.logprobs.has_value();
    std::vector<Request> reqs;
    std::vector<std::string> echo;
    for (size_t i = 0; i < r.prompts.size(); ++i) {
        auto prompt = build_completion_prompt(m, r.prompts[i], r.suffix);
        if (!prompt) {
            ApiError e = prompt.error();
            if (e.param == "prompt" && r.prompts.size() > 1) e.param = "prompt[" + std::to_string(i) + "]";
            return HttpReply::error(e);
        }
        if (r.echo) {
            const PromptInput& p = r.prompts[i];
            echo.push_back(p.is_tokens ? (tok ? tok->decode(p.tokens) : std::string()) : p.text);
        }
        Request req;
        req.prompt = std::move(prompt.value());
        req.sampling = to_sampling_params(r.sampling, options_.default_completion_max_tokens, logprobs,
                                          r.logprobs.value_or(0));
        req.adapters = resolved->adapters;
        reqs.push_back(std::move(req));
    }

    AssemblerOptions ao;
    ao.kind = ApiKind::completion;
    ao.stream = r.sampling.stream;
    ao.include_usage = r.sampling.include_usage;
    ao.n = r.sampling.n;
    ao.n_prompts = static_cast<int32_t>(reqs.size());
    ao.logprobs = logprobs;
    ao.top_logprobs = r.logprobs.value_or(0);
    ao.echo = std::move(echo);
    ao.id = random_id("cmpl-");
    ao.model = resolved->name;
    ao.created = static_cast<int64_t>(std::time(nullptr));
    return start(resolved->model, std::move(reqs), "prompt", std::move(ao), resolved->adapter_keys);
}

HttpReply ApiService::tokenize(std::string_view body) {
    auto parsed = parse_tokenize_request(body, options_.limits);
    if (!parsed) return HttpReply::error(parsed.error());
    const TokenizeRequest& r = parsed.value();
    auto resolved = resolve_model(r.model);  // an adapter's name tokenizes with its base
    if (!resolved) return HttpReply::error(resolved.error());
    const ServedModel& m = *resolved->model;
    const Tokenizer* tok = m.engine->tokenizer();
    if (!tok) return HttpReply::error(invalid_request("The model '" + m.id + "' has no usable tokenizer"));

    std::vector<TokenId> ids;
    if (!r.messages.is_null()) {
        auto p = build_chat_prompt(m, r.messages, Json(), Json::object(), true);
        if (!p) return HttpReply::error(p.error());
        ids = std::move(p.value());
    } else {
        ids = tok->encode(*r.text, r.add_special, /*parse_special=*/true);
    }
    Json tokens = Json::array();
    for (TokenId id : ids) {
        if (r.with_pieces) {
            tokens.push_back(Json{{"id", id}, {"piece", tok->token_to_piece(id, true)}});
        } else {
            tokens.push_back(id);
        }
    }
    Json out = Json::object();
    out["tokens"] = std::move(tokens);
    out["count"] = ids.size();
    out["max_model_len"] = m.engine->max_model_len();
    return HttpReply::json(dump(out));
}

HttpReply ApiService::detokenize(std::string_view body) {
    auto parsed = parse_detokenize_request(body, options_.limits);
    if (!parsed) return HttpReply::error(parsed.error());
    const DetokenizeRequest& r = parsed.value();
    auto resolved = resolve_model(r.model);
    if (!resolved) return HttpReply::error(resolved.error());
    const std::shared_ptr<ServedModel>& model = resolved->model;
    const Tokenizer* tok = model->engine->tokenizer();
    if (!tok) return HttpReply::error(invalid_request("The model '" + model->id + "' has no usable tokenizer"));
    for (size_t i = 0; i < r.tokens.size(); ++i) {
        if (r.tokens[i] >= tok->vocab_size()) {
            return HttpReply::error(invalid_param("tokens[" + std::to_string(i) + "]",
                                                  "token id " + std::to_string(r.tokens[i]) +
                                                      " is outside the vocabulary (0.." +
                                                      std::to_string(tok->vocab_size() - 1) + ")"));
        }
    }
    const std::string text = tok->decode(r.tokens);
    Json out = Json::object();
    out["content"] = text;  // llama-server's name
    out["prompt"] = text;   // vLLM's
    return HttpReply::json(dump(out));
}

namespace {
Json model_object(const ModelListing& l, const ModelManager& /*models*/) {
    Json m = Json::object();
    m["id"] = l.id;
    m["object"] = "model";
    m["created"] = l.created;
    m["owned_by"] = "pagoda";
    m["loaded"] = l.loaded;
    return m;
}
}  // namespace

HttpReply ApiService::list_models() const {
    Json data = Json::array();
    for (const ModelListing& l : models_->list()) data.push_back(model_object(l, *models_));
    for (Json& a : lora_model_objects("")) data.push_back(std::move(a));
    Json out = Json::object();
    out["object"] = "list";
    out["data"] = std::move(data);
    return HttpReply::json(dump(out));
}

HttpReply ApiService::get_model(const std::string& id) const {
    for (const ModelListing& l : models_->list()) {
        if (l.id == id) return HttpReply::json(dump(model_object(l, *models_)));
    }
    for (Json& a : lora_model_objects(id)) return HttpReply::json(dump(a));
    return HttpReply::error(model_not_found(id));
}

HttpReply ApiService::metrics() const {
    HttpReply r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_.render(models_->loaded_models(), registry_.active());
    if (options_.response_cache) r.body += options_.response_cache->render_metrics();
    return r;
}

}  // namespace pagoda::server
