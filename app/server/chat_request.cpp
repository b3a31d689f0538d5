// /v1/chat/completions bodies: messages (strings or content parts, tool calls, tool
// results), tools and tool_choice, logprobs, and the shared sampling fields.
#include <exception>
#include <set>

#include "server/json_fields.h"
#include "server/openai_request.h"
#include "server/openai_request_internal.h"

namespace pagoda::server {

using namespace fields;

namespace detail {

namespace {

// Content: a string, or a list of parts of which only text is supported.
Err normalize_content(const Json& content, const std::string& param, Json& out) {
    if (content.is_string()) {
        out = content;
        return std::nullopt;
    }
    if (!content.is_array()) return wrong_type(param, "a string or an array of content parts", content);
    Json parts = Json::array();
    for (size_t i = 0; i < content.size(); ++i) {
        const Json& part = content[i];
        const std::string p = param + "[" + std::to_string(i) + "]";
        if (!part.is_object()) return wrong_type(p, "an object", part);
        std::string type;
        if (auto e = read_string(part, "type", type, p + ".type")) return e;
        if (type == "text" || type == "input_text" || type == "refusal") {
            const char* key = type == "refusal" ? "refusal" : "text";
            const Json* text = find(part, key);
            if (!text) return invalid_param(p + "." + key, "Missing required parameter: '" + p + "." + key + "'.");
            if (!text->is_string()) return wrong_type(p + "." + key, "a string", *text);
            Json t = Json::object();
            t["type"] = "text";
            t["text"] = *text;
            parts.push_back(std::move(t));
        } else if (type == "image_url" || type == "input_image" || type == "image" || type == "input_audio" ||
                   type == "file") {
            return bad_value(p + ".type",
                             "content parts of type '" + type + "' are not supported: this server runs text-only models.");
        } else if (type.empty()) {
            return invalid_param(p + ".type", "Missing required parameter: '" + p + ".type'.");
        } else {
            return bad_value(p + ".type", "unknown content part type '" + type + "'.");
        }
    }
    out = std::move(parts);
    return std::nullopt;
}

Err normalize_tool_calls(const Json& calls, const std::string& param, Json& out) {
    if (!calls.is_array()) return wrong_type(param, "an array", calls);
    out = Json::array();
    for (size_t i = 0; i < calls.size(); ++i) {
        const Json& call = calls[i];
        const std::string p = param + "[" + std::to_string(i) + "]";
        if (!call.is_object()) return wrong_type(p, "an object", call);
        std::string id, type = "function";
        if (auto e = read_string(call, "id", id, p + ".id")) return e;
        if (auto e = read_string(call, "type", type, p + ".type")) return e;
        if (type != "function") return bad_value(p + ".type", "only 'function' tool calls are supported.");
        const Json* fn = find(call, "function");
        if (!fn) return invalid_param(p + ".function", "Missing required parameter: '" + p + ".function'.");
        if (!fn->is_object()) return wrong_type(p + ".function", "an object", *fn);
        std::string name;
        if (auto e = read_string(*fn, "name", name, p + ".function.name")) return e;
        if (name.empty()) {
            return invalid_param(p + ".function.name", "Missing required parameter: '" + p + ".function.name'.");
        }
        Json arguments = Json::object();
        if (const Json* args = find(*fn, "arguments")) {
            if (args->is_string()) {
                // Templates render arguments with tojson and expect a mapping (as llama.cpp
                // and vLLM hand them); keep the text when it is not JSON.
                Json parsed = Json::parse(args->get<std::string>(), nullptr, false);
                arguments = parsed.is_discarded() ? *args : parsed;
            } else if (args->is_object()) {
                arguments = *args;
            } else {
                return wrong_type(p + ".function.arguments", "a string", *args);
            }
        }
        Json c = Json::object();
        if (!id.empty()) c["id"] = id;
        c["type"] = "function";
        Json f = Json::object();
        f["name"] = name;
        f["arguments"] = std::move(arguments);
        c["function"] = std::move(f);
        out.push_back(std::move(c));
    }
    return std::nullopt;
}

}  // namespace

ApiResult<Json> normalize_messages(const Json& messages, const ParseLimits& limits) {
    if (!messages.is_array()) return wrong_type("messages", "an array", messages);
    if (messages.empty()) return bad_value("messages", "expected an array with at least one message.");
    if (static_cast<int64_t>(messages.size()) > limits.max_messages) {
        return bad_value("messages", "at most " + std::to_string(limits.max_messages) + " messages.");
    }
    static const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool", "function"};
    Json out = Json::array();
    for (size_t i = 0; i < messages.size(); ++i) {
        const Json& m = messages[i];
        const std::string p = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) return wrong_type(p, "an object", m);
        const Json* role_v = find(m, "role");
        if (!role_v) return invalid_param(p + ".role", "Missing required parameter: '" + p + ".role'.");
        if (!role_v->is_string()) return wrong_type(p + ".role", "a string", *role_v);
        std::string role = role_v->get<std::string>();
        if (!kRoles.count(role)) {
            return bad_value(p + ".role",
                             "'" + role + "' is not one of 'system', 'developer', 'user', 'assistant', 'tool'.");
        }
        if (role == "developer") role = "system";
        if (role == "function") role = "tool";

        Json msg = Json::object();
        msg["role"] = role;
        Json tool_calls;
        if (const Json* calls = find(m, "tool_calls")) {
            if (role != "assistant") {
                return bad_value(p + ".tool_calls", "only assistant messages carry tool_calls.");
            }
            if (auto e = normalize_tool_calls(*calls, p + ".tool_calls", tool_calls)) return *e;
        }
        if (const Json* content = find(m, "content")) {
            Json c;
            if (auto e = normalize_content(*content, p + ".content", c)) return *e;
            msg["content"] = std::move(c);
        } else if (role == "assistant") {
            // An assistant turn that only calls tools has no content. Templates test it with
            // `'</think>' in message.content` (Qwen 3) and the like, which fails on none, so it
            // becomes "" as llama.cpp hands it.
            msg["content"] = "";
        } else {
            return invalid_param(p + ".content", "Missing required parameter: '" + p + ".content'.");
        }
        std::string name;
        if (auto e = read_string(m, "name", name, p + ".name")) return *e;
        if (!name.empty()) msg["name"] = name;
        if (!tool_calls.is_null() && !tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
        std::string tool_call_id;
        if (auto e = read_string(m, "tool_call_id", tool_call_id, p + ".tool_call_id")) return *e;
        if (!tool_call_id.empty()) msg["tool_call_id"] = tool_call_id;
        std::string reasoning;
        if (auto e = read_string(m, "reasoning_content", reasoning, p + ".reasoning_content")) return *e;
        if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
        out.push_back(std::move(msg));
    }
    return out;
}

namespace {

Err read_tools(const Json& body, const ParseLimits& limits, ChatCompletionRequest& r) {
    std::set<std::string> names;
    if (const Json* tools = find(body, "tools")) {
        if (!tools->is_array()) return wrong_type("tools", "an array", *tools);
        if (static_cast<int64_t>(tools->size()) > limits.max_tools) {
            return bad_value("tools", "at most " + std::to_string(limits.max_tools) + " tools.");
        }
        for (size_t i = 0; i < tools->size(); ++i) {
            const Json& t = (*tools)[i];
            const std::string p = "tools[" + std::to_string(i) + "]";
            if (!t.is_object()) return wrong_type(p, "an object", t);
            std::string type = "function";
            if (auto e = read_string(t, "type", type, p + ".type")) return e;
            if (type != "function") return bad_value(p + ".type", "only 'function' tools are supported.");
            const Json* fn = find(t, "function");
            if (!fn) return invalid_param(p + ".function", "Missing required parameter: '" + p + ".function'.");
            if (!fn->is_object()) return wrong_type(p + ".function", "an object", *fn);
            std::string name;
            if (auto e = read_string(*fn, "name", name, p + ".function.name")) return e;
            if (name.empty()) {
                return invalid_param(p + ".function.name", "Missing required parameter: '" + p + ".function.name'.");
            }
            std::string description;
            if (auto e = read_string(*fn, "description", description, p + ".function.description")) return e;
            if (const Json* params = find(*fn, "parameters"); params && !params->is_object()) {
                return wrong_type(p + ".function.parameters", "an object", *params);
            }
            names.insert(name);
        }
        if (!tools->empty()) r.tools = *tools;
    }
    if (const Json* choice = find(body, "tool_choice")) {
        if (choice->is_string()) {
            const std::string c = choice->get<std::string>();
            if (c == "none") {
                r.tool_choice.mode = ToolChoiceMode::none;
            } else if (c == "auto") {
                r.tool_choice.mode = ToolChoiceMode::auto_;
            } else if (c == "required") {
                r.tool_choice.mode = ToolChoiceMode::required;
            } else {
                return bad_value("tool_choice", "expected 'none', 'auto', 'required' or a function.");
            }
        } else if (choice->is_object()) {
            const Json* fn = find(*choice, "function");
            if (!fn || !fn->is_object()) {
                return invalid_param("tool_choice.function", "Missing required parameter: 'tool_choice.function'.");
            }
            std::string name;
            if (auto e = read_string(*fn, "name", name, "tool_choice.function.name")) return e;
            if (!names.count(name)) {
                return bad_value("tool_choice.function.name", "no tool named '" + name + "' in 'tools'.");
            }
            r.tool_choice.mode = ToolChoiceMode::function;
            r.tool_choice.function = name;
        } else {
            return wrong_type("tool_choice", "a string or an object", *choice);
        }
        if (r.tools.is_null() && r.tool_choice.mode == ToolChoiceMode::required) {
            return invalid_param("tool_choice", "tool_choice 'required' needs 'tools'.");
        }
    }
    if (auto e = read_bool(body, "parallel_tool_calls", r.parallel_tool_calls)) return e;
    return std::nullopt;
}

}  // namespace

}  // namespace detail

ApiResult<ChatCompletionRequest> chat_completion_request_from_json(const Json& body, const ParseLimits& limits) {
    if (!body.is_object()) return invalid_request("The request body must be a JSON object");
    ChatCompletionRequest r;
    if (auto e = detail::read_model(body, r.model)) return *e;
    const Json* messages = find(body, "messages");
    if (!messages) return invalid_param("messages", "Missing required parameter: 'messages'.");
    auto normalized = detail::normalize_messages(*messages, limits);
    if (!normalized) return normalized.error();
    r.messages = std::move(normalized.value());

    if (auto e = detail::read_sampling(body, limits, r.sampling)) return *e;
    if (auto e = read_bool(body, "logprobs", r.logprobs)) return *e;
    std::optional<int64_t> top;
    if (auto e = read_int(body, "top_logprobs", 0, 20, top)) return *e;
    if (top) {
        if (!r.logprobs && *top > 0) {
            return invalid_param("top_logprobs", "'top_logprobs' needs 'logprobs' to be true.");
        }
        r.top_logprobs = static_cast<int32_t>(*top);
    }
    if (auto e = detail::read_tools(body, limits, r)) return *e;
    if (const Json* kwargs = find(body, "chat_template_kwargs")) {
        if (!kwargs->is_object()) return wrong_type("chat_template_kwargs", "an object", *kwargs);
        r.template_variables = *kwargs;
    }
    if (auto e = read_bool(body, "add_generation_prompt", r.add_generation_prompt)) return *e;
    return r;
}

ApiResult<ChatCompletionRequest> parse_chat_completion_request(std::string_view body, const ParseLimits& limits) {
    auto j = parse_json_body(body, limits);
    if (!j) return j.error();
    try {
        return chat_completion_request_from_json(j.value(), limits);
    } catch (const std::exception& e) {
        return invalid_request(std::string("Invalid request: ") + e.what());
    }
}

}  // namespace pagoda::server
