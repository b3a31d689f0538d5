#include "server/response_assembler.h"

#include <random>

#include "tokenizer/tokenizer.h"

namespace pagoda::server {

using Json = nlohmann::ordered_json;

std::string random_id(const std::string& prefix) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    thread_local std::mt19937_64 rng{(uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()};
    std::string id = prefix;
    for (int i = 0; i < 24; ++i) id.push_back(kAlphabet[rng() % (sizeof(kAlphabet) - 1)]);
    return id;
}

ResponseAssembler::ResponseAssembler(AssemblerOptions options, const Tokenizer* tokenizer)
    : opt_(std::move(options)), tok_(tokenizer) {
    choices_.resize(static_cast<size_t>(opt_.n) * static_cast<size_t>(opt_.n_prompts));
    for (size_t i = 0; i < choices_.size(); ++i) {
        Choice& c = choices_[i];
        const size_t prompt = i / static_cast<size_t>(opt_.n);
        if (prompt < opt_.echo.size()) c.text_offset = static_cast<int64_t>(opt_.echo[prompt].size());
        c.completion_logprobs = Json{{"tokens", Json::array()},
                                     {"token_logprobs", Json::array()},
                                     {"top_logprobs", Json::array()},
                                     {"text_offset", Json::array()}};
    }
}

std::string ResponseAssembler::piece(TokenId id) const {
    return tok_ ? tok_->token_to_piece(id, /*render_special=*/true) : std::to_string(id);
}

Json ResponseAssembler::chunk_base() const {
    Json j = Json::object();
    j["id"] = opt_.id;
    j["object"] = opt_.kind == ApiKind::chat ? "chat.completion.chunk" : "text_completion";
    j["created"] = opt_.created;
    j["model"] = opt_.model;
    j["system_fingerprint"] = "pagoda";
    j["choices"] = Json::array();
    if (opt_.include_usage) j["usage"] = nullptr;
    return j;
}

std::string ResponseAssembler::sse(const Json& j) const {
    return "data: " + j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

Json ResponseAssembler::chat_logprobs(const std::vector<SampledLogprobs>& lps) const {
    auto bytes_of = [](const std::string& s) {
        Json b = Json::array();
        for (unsigned char ch : s) b.push_back(static_cast<int>(ch));
        return b;
    };
    Json content = Json::array();
    for (const SampledLogprobs& lp : lps) {
        const std::string p = piece(lp.token);
        Json top = Json::array();
        for (size_t k = 0; k < lp.top.size() && static_cast<int32_t>(k) < opt_.top_logprobs; ++k) {
            const std::string tp = piece(lp.top[k].token);
            top.push_back(Json{{"token", tp}, {"logprob", lp.top[k].logprob}, {"bytes", bytes_of(tp)}});
        }
        content.push_back(Json{{"token", p}, {"logprob", lp.logprob}, {"bytes", bytes_of(p)}, {"top_logprobs", top}});
    }
    return Json{{"content", content}, {"refusal", nullptr}};
}

Json ResponseAssembler::completion_logprobs(Choice& c, const std::vector<SampledLogprobs>& lps) {
    Json delta{{"tokens", Json::array()},
               {"token_logprobs", Json::array()},
               {"top_logprobs", Json::array()},
               {"text_offset", Json::array()}};
    for (const SampledLogprobs& lp : lps) {
        const std::string p = piece(lp.token);
        Json top = Json::object();
        for (size_t k = 0; k < lp.top.size() && static_cast<int32_t>(k) < opt_.top_logprobs; ++k) {
            top[piece(lp.top[k].token)] = lp.top[k].logprob;
        }
        for (Json* target : {&delta, &c.completion_logprobs}) {
            (*target)["tokens"].push_back(p);
            (*target)["token_logprobs"].push_back(lp.logprob);
            (*target)["top_logprobs"].push_back(top);
            (*target)["text_offset"].push_back(c.text_offset);
        }
        c.text_offset += static_cast<int64_t>(p.size());
    }
    return delta;
}

Json ResponseAssembler::usage_json() const {
    return Json{{"prompt_tokens", usage_.prompt_tokens},
                {"completion_tokens", usage_.completion_tokens},
                {"total_tokens", usage_.prompt_tokens + usage_.completion_tokens},
                {"prompt_tokens_details", Json{{"cached_tokens", usage_.cached_prompt_tokens}}}};
}

std::string ResponseAssembler::finish_reason_text(const Choice& c, bool has_tool_calls, bool cut_short) const {
    if (has_tool_calls) return "tool_calls";
    if (!c.finish) return cut_short ? "length" : "stop";
    switch (*c.finish) {
        case FinishReason::stop: return "stop";
        case FinishReason::length: return "length";
        // Cut short by the server (shutdown): the output is incomplete, as with a length limit.
        case FinishReason::cancelled: return "length";
        case FinishReason::error: return "stop";
    }
    return "stop";
}

Json ResponseAssembler::tool_calls_json(const std::vector<ParsedToolCall>& calls, bool with_index) {
    Json out = Json::array();
    for (size_t i = 0; i < calls.size(); ++i) {
        Json call = Json::object();
        if (with_index) call["index"] = static_cast<int>(i);
        call["id"] = random_id("call_");
        call["type"] = "function";
        call["function"] = Json{{"name", calls[i].name}, {"arguments", calls[i].arguments}};
        out.push_back(std::move(call));
        ++tool_call_counter_;
    }
    return out;
}

std::string ResponseAssembler::stream_start() {
    std::string out;
    for (size_t i = 0; i < choices_.size(); ++i) {
        Json j = chunk_base();
        if (opt_.kind == ApiKind::chat) {
            j["choices"].push_back(Json{{"index", static_cast<int>(i)},
                                        {"delta", Json{{"role", "assistant"}, {"content", ""}}},
                                        {"logprobs", nullptr},
                                        {"finish_reason", nullptr}});
        } else {
            const size_t prompt = i / static_cast<size_t>(opt_.n);
            if (prompt >= opt_.echo.size()) continue;
            j["choices"].push_back(Json{{"index", static_cast<int>(i)},
                                        {"text", opt_.echo[prompt]},
                                        {"logprobs", nullptr},
                                        {"finish_reason", nullptr}});
        }
        out += sse(j);
    }
    return out;
}

std::string ResponseAssembler::on_event(const GenerationEvent& event) {
    std::string out;
    if (event.finish) {
        const RequestFinish& f = *event.finish;
        usage_.prompt_tokens += f.usage.prompt_tokens;
        usage_.cached_prompt_tokens += f.usage.cached_prompt_tokens;
        usage_.completion_tokens += f.usage.completion_tokens;
        if (f.reason == FinishReason::error && !failure_) {
            failure_ = server_error("The request failed: " + f.message);
        }
        for (size_t s = 0; s < f.sample_reasons.size(); ++s) {
            const size_t idx = static_cast<size_t>(event.slot) * static_cast<size_t>(opt_.n) + s;
            if (idx < choices_.size() && !choices_[idx].finish) choices_[idx].finish = f.sample_reasons[s];
        }
        return out;
    }
    if (!event.delta) return out;
    for (const SampleDelta& s : event.delta->samples) {
        const size_t idx = static_cast<size_t>(event.slot) * static_cast<size_t>(opt_.n) + static_cast<size_t>(s.index);
        if (s.index < 0 || idx >= choices_.size()) continue;
        Choice& c = choices_[idx];
        c.text += s.text;
        c.n_tokens += static_cast<int32_t>(s.token_ids.size());
        Json lp_delta;
        if (opt_.logprobs && !s.logprobs.empty()) {
            c.logprobs.insert(c.logprobs.end(), s.logprobs.begin(), s.logprobs.end());
            if (opt_.kind == ApiKind::completion) {
                lp_delta = completion_logprobs(c, s.logprobs);
            } else if (opt_.stream) {
                lp_delta = chat_logprobs(s.logprobs);
            }
        }
        if (s.finish_reason) c.finish = s.finish_reason;
        if (!opt_.stream) continue;

        size_t limit = c.text.size();
        if (opt_.tool_format != ToolCallFormat::none) limit = streamable_content_prefix(opt_.tool_format, c.text);
        std::string fresh;
        if (limit > c.streamed) {
            fresh = c.text.substr(c.streamed, limit - c.streamed);
            c.streamed = limit;
        }
        if (!fresh.empty() || !lp_delta.is_null()) {
            Json j = chunk_base();
            if (opt_.kind == ApiKind::chat) {
                j["choices"].push_back(Json{{"index", static_cast<int>(idx)},
                                            {"delta", Json{{"content", fresh}}},
                                            {"logprobs", lp_delta},
                                            {"finish_reason", nullptr}});
            } else {
                j["choices"].push_back(Json{{"index", static_cast<int>(idx)},
                                            {"text", fresh},
                                            {"logprobs", lp_delta},
                                            {"finish_reason", nullptr}});
            }
            out += sse(j);
        }
        if (s.finish_reason && !c.final_sent) {
            // The choice is complete: flush what was held back and close it.
            Json j = chunk_base();
            Json delta = Json::object();
            bool calls = false;
            if (opt_.kind == ApiKind::chat && opt_.tool_format != ToolCallFormat::none) {
                ToolParse parsed = parse_tool_calls(opt_.tool_format, c.text);
                if (!parsed.calls.empty()) {
                    calls = true;
                    delta["tool_calls"] = tool_calls_json(parsed.calls, true);
                } else if (c.streamed < c.text.size()) {
                    delta["content"] = c.text.substr(c.streamed);
                }
                c.streamed = c.text.size();
            }
            if (opt_.kind == ApiKind::chat) {
                j["choices"].push_back(Json{{"index", static_cast<int>(idx)},
                                            {"delta", delta},
                                            {"logprobs", nullptr},
                                            {"finish_reason", finish_reason_text(c, calls, false)}});
            } else {
                j["choices"].push_back(Json{{"index", static_cast<int>(idx)},
                                            {"text", ""},
                                            {"logprobs", nullptr},
                                            {"finish_reason", finish_reason_text(c, false, false)}});
            }
            c.final_sent = true;
            out += sse(j);
        }
    }
    return out;
}

std::string ResponseAssembler::stream_end(bool cut_short) {
    std::string out;
    if (failure_) {
        // The SDKs raise an APIError for an "error" event inside the stream.
        out += "data: " + failure_->body() + "\n\n";
    } else {
        for (size_t i = 0; i < choices_.size(); ++i) {
            Choice& c = choices_[i];
            if (c.final_sent) continue;
            Json j = chunk_base();
            Json delta = Json::object();
            if (c.streamed < c.text.size()) delta["content"] = c.text.substr(c.streamed);
            if (opt_.kind == ApiKind::chat) {
                j["choices"].push_back(Json{{"index", static_cast<int>(i)},
                                            {"delta", delta},
                                            {"logprobs", nullptr},
                                            {"finish_reason", finish_reason_text(c, false, cut_short)}});
            } else {
                j["choices"].push_back(Json{{"index", static_cast<int>(i)},
                                            {"text", delta.value("content", std::string())},
                                            {"logprobs", nullptr},
                                            {"finish_reason", finish_reason_text(c, false, cut_short)}});
            }
            c.final_sent = true;
            out += sse(j);
        }
        if (opt_.include_usage) {
            Json j = chunk_base();
            j["usage"] = usage_json();
            out += sse(j);
        }
    }
    out += "data: [DONE]\n\n";
    return out;
}

Json ResponseAssembler::final_body(bool cut_short) {
    Json body = Json::object();
    body["id"] = opt_.id;
    body["object"] = opt_.kind == ApiKind::chat ? "chat.completion" : "text_completion";
    body["created"] = opt_.created;
    body["model"] = opt_.model;
    body["system_fingerprint"] = "pagoda";
    Json choices = Json::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
        Choice& c = choices_[i];
        Json choice = Json::object();
        choice["index"] = static_cast<int>(i);
        if (opt_.kind == ApiKind::chat) {
            Json message = Json::object();
            message["role"] = "assistant";
            bool calls = false;
            if (opt_.tool_format != ToolCallFormat::none) {
                ToolParse parsed = parse_tool_calls(opt_.tool_format, c.text);
                calls = !parsed.calls.empty();
                message["content"] = calls && parsed.content.empty() ? Json(nullptr) : Json(parsed.content);
                if (calls) message["tool_calls"] = tool_calls_json(parsed.calls, false);
            } else {
                message["content"] = c.text;
            }
            choice["message"] = std::move(message);
            choice["logprobs"] = opt_.logprobs ? chat_logprobs(c.logprobs) : Json(nullptr);
            choice["finish_reason"] = finish_reason_text(c, calls, cut_short);
        } else {
            const size_t prompt = i / static_cast<size_t>(opt_.n);
            choice["text"] = (prompt < opt_.echo.size() ? opt_.echo[prompt] : std::string()) + c.text;
            choice["logprobs"] = opt_.logprobs ? c.completion_logprobs : Json(nullptr);
            choice["finish_reason"] = finish_reason_text(c, false, cut_short);
        }
        choices.push_back(std::move(choice));
    }
    body["choices"] = std::move(choices);
    body["usage"] = usage_json();
    return body;
}

}  // namespace pagoda::server
