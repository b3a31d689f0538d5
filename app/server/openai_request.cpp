// Request bodies shared by both endpoints: the JSON guard, sampling fields, and the
// /v1/completions, /tokenize and /detokenize bodies. Chat messages and tools are in
// chat_request.cpp.
#include "server/openai_request.h"

#include <climits>
#include <cmath>
#include <exception>

#include "server/json_fields.h"
#include "server/openai_request_internal.h"

namespace pagoda::server {

using namespace fields;

ApiResult<Json> parse_json_body(std::string_view body, const ParseLimits& limits) {
    if (body.size() > limits.max_body_bytes) return payload_too_large(limits.max_body_bytes);
    // Depth first: the parser is iterative, but everything that walks the result later
    // (copies, dumps, the template engine) may not be.
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : body) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limits.max_depth) {
                return invalid_request("The request body nests arrays/objects deeper than " +
                                       std::to_string(limits.max_depth) + " levels");
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        // Say where, as a parser would: clients show this to developers.
        std::string where;
        try {
            const Json again = Json::parse(body.begin(), body.end());
        } catch (const std::exception& e) {
            where = std::string(": ") + e.what();
        }
        return invalid_request("The request body is not valid JSON" + where);
    }
    return j;
}

namespace detail {

Err read_sampling(const Json& body, const ParseLimits& limits, SamplingFields& s) {
    if (auto e = read_float(body, "temperature", 0.0, 2.0, s.temperature)) return e;
    if (auto e = read_float(body, "top_p", 0.0, 1.0, s.top_p)) return e;
    if (auto e = read_float(body, "min_p", 0.0, 1.0, s.min_p)) return e;
    if (auto e = read_float(body, "repetition_penalty", 0.0, 100.0, s.repetition_penalty)) return e;
    if (s.repetition_penalty && *s.repetition_penalty <= 0.0f) {
        return bad_value("repetition_penalty", "expected a number greater than 0.");
    }
    if (auto e = read_float(body, "presence_penalty", -2.0, 2.0, s.presence_penalty)) return e;
    if (auto e = read_float(body, "frequency_penalty", -2.0, 2.0, s.frequency_penalty)) return e;

    std::optional<int64_t> v;
    // vLLM spells "off" as -1, OpenAI-style clients as 0.
    if (auto e = read_int(body, "top_k", -1, INT32_MAX, v)) return e;
    if (v) s.top_k = static_cast<int32_t>(std::max<int64_t>(*v, 0));
    v.reset();
    if (auto e = read_int(body, "n", 1, limits.max_n, v)) return e;
    if (v) s.n = static_cast<int32_t>(*v);

    // max_completion_tokens is the newer name; it wins when both are given.
    v.reset();
    if (auto e = read_int(body, "max_tokens", 1, INT32_MAX, v)) return e;
    if (v) s.max_tokens = static_cast<int32_t>(*v);
    v.reset();
    if (auto e = read_int(body, "max_completion_tokens", 1, INT32_MAX, v)) return e;
    if (v) s.max_tokens = static_cast<int32_t>(*v);

    if (const Json* seed = find(body, "seed")) {
        if (seed->is_number_unsigned()) {
            s.seed = seed->get<uint64_t>();
        } else {
            int64_t value = 0;
            if (auto e = as_int(*seed, "seed", INT64_MIN, INT64_MAX, value)) return e;
            s.seed = static_cast<uint64_t>(value);
        }
    }

    if (const Json* bias = find(body, "logit_bias")) {
        if (!bias->is_object()) return wrong_type("logit_bias", "an object", *bias);
        if (static_cast<int64_t>(bias->size()) > limits.max_logit_bias) {
            return bad_value("logit_bias", "at most " + std::to_string(limits.max_logit_bias) + " entries.");
        }
        for (auto it = bias->begin(); it != bias->end(); ++it) {
            const std::string& key = it.key();
            char* end = nullptr;
            errno = 0;
            const long long id = key.empty() ? -1 : std::strtoll(key.c_str(), &end, 10);
            if (key.empty() || *end != '\0' || errno != 0 || id < 0 || id > INT32_MAX) {
                return bad_value("logit_bias", "keys must be token ids (non-negative integers), got '" + key + "'.");
            }
            const Json& value = it.value();
            if (!value.is_number()) return wrong_type("logit_bias." + key, "a number", value);
            const double b = value.get<double>();
            if (!std::isfinite(b) || b < -100.0 || b > 100.0) {
                return bad_value("logit_bias." + key, "expected a number between -100 and 100.");
            }
            s.logit_bias.emplace_back(static_cast<TokenId>(id), static_cast<float>(b));
        }
    }

    if (const Json* stop = find(body, "stop")) {
        auto add = [&](const Json& item, const std::string& param) -> Err {
            if (!item.is_string()) return wrong_type(param, "a string", item);
            std::string text = item.get<std::string>();
            if (text.empty()) return bad_value(param, "stop strings must not be empty.");
            if (text.size() > limits.max_stop_bytes) {
                return bad_value(param, "stop strings are at most " + std::to_string(limits.max_stop_bytes) +
                                            " bytes.");
            }
            s.stop.push_back(std::move(text));
            return std::nullopt;
        };
        if (stop->is_string()) {
            if (auto e = add(*stop, "stop")) return e;
        } else if (stop->is_array()) {
            if (static_cast<int64_t>(stop->size()) > limits.max_stop) {
                return bad_value("stop", "at most " + std::to_string(limits.max_stop) + " stop strings.");
            }
            for (size_t i = 0; i < stop->size(); ++i) {
                if (auto e = add((*stop)[i], "stop[" + std::to_string(i) + "]")) return e;
            }
        } else {
            return wrong_type("stop", "a string or an array of strings", *stop);
        }
    }

    if (const Json* ids = find(body, "stop_token_ids")) {
        if (!ids->is_array()) return wrong_type("stop_token_ids", "an array", *ids);
        if (static_cast<int64_t>(ids->size()) > limits.max_logit_bias) {
            return bad_value("stop_token_ids", "too many entries.");
        }
        for (size_t i = 0; i < ids->size(); ++i) {
            int64_t id = 0;
            if (auto e = as_int((*ids)[i], "stop_token_ids[" + std::to_string(i) + "]", 0, INT32_MAX, id)) return e;
            s.stop_token_ids.push_back(static_cast<TokenId>(id));
        }
    }
    if (auto e = read_bool(body, "ignore_eos", s.ignore_eos)) return e;

    if (auto e = read_bool(body, "stream", s.stream)) return e;
    if (const Json* opts = find(body, "stream_options")) {
        if (!opts->is_object()) return wrong_type("stream_options", "an object", *opts);
        if (!s.stream) {
            return invalid_param("stream_options",
                                 "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
        }
        if (auto e = read_bool(*opts, "include_usage", s.include_usage, "stream_options.include_usage")) return e;
    }

    if (auto e = read_output_grammar(body, s)) return e;
    return std::nullopt;
}

Err read_model(const Json& body, std::string& model) { return read_string(body, "model", model); }

}  // namespace detail

ApiResult<CompletionRequest> completion_request_from_json(const Json& body, const ParseLimits& limits) {
    if (!body.is_object()) return invalid_request("The request body must be a JSON object");
    CompletionRequest r;
    if (auto e = detail::read_model(body, r.model)) return *e;
    if (auto e = detail::read_sampling(body, limits, r.sampling)) return *e;

    const Json* prompt = find(body, "prompt");
    if (!prompt) return invalid_param("prompt", "Missing required parameter: 'prompt'.");
    auto token_list = [&](const Json& arr, const std::string& param, PromptInput& out) -> Err {
        if (arr.size() > limits.max_prompt_token_ids) return bad_value(param, "too many token ids.");
        out.is_tokens = true;
        out.tokens.reserve(arr.size());
        for (size_t i = 0; i < arr.size(); ++i) {
            int64_t id = 0;
            if (auto e = as_int(arr[i], param + "[" + std::to_string(i) + "]", 0, INT32_MAX, id)) return e;
            out.tokens.push_back(static_cast<TokenId>(id));
        }
        return std::nullopt;
    };
    if (prompt->is_string()) {
        r.prompts.push_back(PromptInput{false, prompt->get<std::string>(), {}});
    } else if (prompt->is_array()) {
        if (prompt->empty()) return bad_value("prompt", "the prompt must not be empty.");
        const Json& first = (*prompt)[0];
        if (first.is_number()) {
            PromptInput p;
            if (auto e = token_list(*prompt, "prompt", p)) return *e;
            r.prompts.push_back(std::move(p));
        } else {
            if (static_cast<int64_t>(prompt->size()) > limits.max_prompts) {
                return bad_value("prompt", "at most " + std::to_string(limits.max_prompts) + " prompts per request.");
            }
            for (size_t i = 0; i < prompt->size(); ++i) {
                const Json& item = (*prompt)[i];
                const std::string param = "prompt[" + std::to_string(i) + "]";
                PromptInput p;
                if (item.is_string()) {
                    p.text = item.get<std::string>();
                } else if (item.is_array()) {
                    if (item.empty()) return bad_value(param, "the prompt must not be empty.");
                    if (auto e = token_list(item, param, p)) return *e;
                } else {
                    return wrong_type(param, "a string or an array of token ids", item);
                }
                r.prompts.push_back(std::move(p));
            }
        }
    } else {
        return wrong_type("prompt", "a string, an array of strings or an array of token ids", *prompt);
    }
    if (static_cast<int64_t>(r.prompts.size()) * r.sampling.n > limits.max_n) {
        return bad_value("n", "prompts times n is at most " + std::to_string(limits.max_n) + " choices.");
    }

    if (auto e = read_string(body, "suffix", r.suffix)) return *e;
    if (r.suffix && r.suffix->empty()) r.suffix.reset();
    if (auto e = read_bool(body, "echo", r.echo)) return *e;
    std::optional<int64_t> lp;
    if (auto e = read_int(body, "logprobs", 0, 20, lp)) return *e;
    if (lp) r.logprobs = static_cast<int32_t>(*lp);
    std::optional<int64_t> best_of;
    if (auto e = read_int(body, "best_of", 1, limits.max_n, best_of)) return *e;
    if (best_of && *best_of != r.sampling.n) {
        return invalid_param("best_of", "best_of other than n is not supported by this server.");
    }
    if (r.suffix && r.prompts.size() != 1) {
        return invalid_param("suffix", "suffix needs exactly one prompt.");
    }
    return r;
}

ApiResult<CompletionRequest> parse_completion_request(std::string_view body, const ParseLimits& limits) {
    auto j = parse_json_body(body, limits);
    if (!j) return j.error();
    try {
        return completion_request_from_json(j.value(), limits);
    } catch (const std::exception& e) {
        // Every access above is type-checked first; this is a safety net, never a 5xx.
        return invalid_request(std::string("Invalid request: ") + e.what());
    }
}

ApiResult<TokenizeRequest> parse_tokenize_request(std::string_view body, const ParseLimits& limits) {
    auto j = parse_json_body(body, limits);
    if (!j) return j.error();
    const Json& b = j.value();
    if (!b.is_object()) return invalid_request("The request body must be a JSON object");
    try {
        TokenizeRequest r;
        if (auto e = detail::read_model(b, r.model)) return *e;
        if (auto e = read_string(b, "content", r.text)) return *e;
        if (!r.text) {
            if (auto e = read_string(b, "prompt", r.text)) return *e;
        }
        if (const Json* msgs = find(b, "messages")) {
            if (r.text) return invalid_param("messages", "give either 'content'/'prompt' or 'messages', not both.");
            auto normalized = detail::normalize_messages(*msgs, limits);
            if (!normalized) return normalized.error();
            r.messages = std::move(normalized.value());
        }
        if (!r.text && r.messages.is_null()) {
            return invalid_param("content", "Missing required parameter: 'content' (or 'prompt' or 'messages').");
        }
        if (auto e = read_bool(b, "add_special", r.add_special)) return *e;
        if (auto e = read_bool(b, "add_special_tokens", r.add_special)) return *e;
        if (auto e = read_bool(b, "with_pieces", r.with_pieces)) return *e;
        return r;
    } catch (const std::exception& e) {
        return invalid_request(std::string("Invalid request: ") + e.what());
    }
}

ApiResult<DetokenizeRequest> parse_detokenize_request(std::string_view body, const ParseLimits& limits) {
    auto j = parse_json_body(body, limits);
    if (!j) return j.error();
    const Json& b = j.value();
    if (!b.is_object()) return invalid_request("The request body must be a JSON object");
    try {
        DetokenizeRequest r;
        if (auto e = detail::read_model(b, r.model)) return *e;
        const Json* tokens = find(b, "tokens");
        if (!tokens) return invalid_param("tokens", "Missing required parameter: 'tokens'.");
        if (!tokens->is_array()) return wrong_type("tokens", "an array of token ids", *tokens);
        if (tokens->size() > limits.max_prompt_token_ids) return bad_value("tokens", "too many token ids.");
        for (size_t i = 0; i < tokens->size(); ++i) {
            int64_t id = 0;
            if (auto e = as_int((*tokens)[i], "tokens[" + std::to_string(i) + "]", 0, INT32_MAX, id)) return *e;
            r.tokens.push_back(static_cast<TokenId>(id));
        }
        return r;
    } catch (const std::exception& e) {
        return invalid_request(std::string("Invalid request: ") + e.what());
    }
}

}  // namespace pagoda::server
