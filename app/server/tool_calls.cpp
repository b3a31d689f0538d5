#include "server/tool_calls.h"

#include <nlohmann/json.hpp>

namespace pagoda::server {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kMistralTag = "[TOOL_CALLS]";
constexpr std::string_view kMistralArgs = "[ARGS]";
constexpr std::string_view kPythonTag = "<|python_tag|>";

std::string_view trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\n' || s[b] == '\t' || s[b] == '\r')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\n' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
    return s.substr(b, e - b);
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// {"name": "...", "arguments"|"parameters": {...} or "..."} -> a call.
bool call_from_json(const Json& j, ParsedToolCall& out) {
    if (!j.is_object()) return false;
    auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) return false;
    out.name = name->get<std::string>();
    auto args = j.find("arguments");
    if (args == j.end()) args = j.find("parameters");
    if (args == j.end() || args->is_null()) {
        out.arguments = "{}";
    } else if (args->is_string()) {
        out.arguments = args->get<std::string>();
    } else if (args->is_object()) {
        out.arguments = dump(*args);
    } else {
        return false;
    }
    return true;
}

bool parse_object_call(std::string_view text, ParsedToolCall& out) {
    const Json j = Json::parse(text.begin(), text.end(), nullptr, false);
    return !j.is_discarded() && call_from_json(j, out);
}

ToolParse parse_hermes(std::string_view text) {
    ToolParse r;
    std::string content;
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t open = text.find(kHermesOpen, pos);
        if (open == std::string_view::npos) {
            content.append(text.substr(pos));
            break;
        }
        content.append(text.substr(pos, open - pos));
        const size_t body = open + kHermesOpen.size();
        size_t close = text.find(kHermesClose, body);
        const size_t end = close == std::string_view::npos ? text.size() : close;
        ParsedToolCall call;
        if (!parse_object_call(trim(text.substr(body, end - body)), call)) return ToolParse{std::string(text), {}};
        r.calls.push_back(std::move(call));
        pos = close == std::string_view::npos ? text.size() : close + kHermesClose.size();
    }
    r.content = r.calls.empty() ? std::string(text) : std::string(trim(content));
    return r;
}

ToolParse parse_llama3(std::string_view text) {
    std::string_view t = trim(text);
    if (t.substr(0, kPythonTag.size()) == kPythonTag) t = trim(t.substr(kPythonTag.size()));
    ToolParse r;
    if (t.empty() || t.front() != '{') return ToolParse{std::string(text), {}};
    // One object, or several separated by ';' or newlines.
    ParsedToolCall call;
    if (parse_object_call(t, call)) {
        r.calls.push_back(std::move(call));
        return r;
    }
    size_t start = 0;
    while (start < t.size()) {
        size_t sep = t.find_first_of(";\n", start);
        if (sep == std::string_view::npos) sep = t.size();
        const std::string_view piece = trim(t.substr(start, sep - start));
        if (!piece.empty()) {
            if (!parse_object_call(piece, call)) return ToolParse{std::string(text), {}};
            r.calls.push_back(std::move(call));
        }
        start = sep + 1;
    }
    if (r.calls.empty()) return ToolParse{std::string(text), {}};
    return r;
}

ToolParse parse_mistral(std::string_view text) {
    std::string_view t = trim(text);
    ToolParse r;
    const bool tagged = t.substr(0, kMistralTag.size()) == kMistralTag;
    if (tagged) t = trim(t.substr(kMistralTag.size()));
    if (!t.empty() && t.front() == '[') {
        const Json j = Json::parse(t.begin(), t.end(), nullptr, false);
        if (j.is_discarded() || !j.is_array() || j.empty()) return ToolParse{std::string(text), {}};
        for (const Json& item : j) {
            ParsedToolCall call;
            if (!call_from_json(item, call)) return ToolParse{std::string(text), {}};
            r.calls.push_back(std::move(call));
        }
        return r;
    }
    if (!tagged) return ToolParse{std::string(text), {}};
    // Newer spelling: name[ARGS]{...}, calls separated by [TOOL_CALLS].
    while (!t.empty()) {
        const size_t args = t.find(kMistralArgs);
        if (args == std::string_view::npos) return ToolParse{std::string(text), {}};
        ParsedToolCall call;
        call.name = std::string(trim(t.substr(0, args)));
        std::string_view rest = t.substr(args + kMistralArgs.size());
        const size_t next = rest.find(kMistralTag);
        const std::string_view body = trim(rest.substr(0, next));
        const Json j = Json::parse(body.begin(), body.end(), nullptr, false);
        if (call.name.empty() || j.is_discarded() || !j.is_object()) return ToolParse{std::string(text), {}};
        call.arguments = dump(j);
        r.calls.push_back(std::move(call));
        t = next == std::string_view::npos ? std::string_view() : trim(rest.substr(next + kMistralTag.size()));
    }
    return r;
}

// Length of the longest suffix of `text` that is a proper prefix of `marker`.
size_t partial_marker_suffix(std::string_view text, std::string_view marker) {
    const size_t max = std::min(text.size(), marker.size() - 1);
    for (size_t n = max; n > 0; --n) {
        if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
    }
    return 0;
}

}  // namespace

const char* tool_call_format_name(ToolCallFormat format) {
    switch (format) {
        case ToolCallFormat::hermes: return "hermes";
        case ToolCallFormat::llama3_json: return "llama3_json";
        case ToolCallFormat::mistral: return "mistral";
        case ToolCallFormat::none: break;
    }
    return "none";
}

ToolCallFormat detect_tool_call_format(std::string_view src) {
    if (src.find(kHermesOpen) != std::string_view::npos) return ToolCallFormat::hermes;
    if (src.find(kMistralTag) != std::string_view::npos) return ToolCallFormat::mistral;
    if (src.find(kPythonTag) != std::string_view::npos || src.find("<|eom_id|>") != std::string_view::npos ||
        src.find("\"parameters\": dictionary of argument name") != std::string_view::npos) {
        return ToolCallFormat::llama3_json;
    }
    return ToolCallFormat::none;
}

ToolParse parse_tool_calls(ToolCallFormat format, std::string_view text) {
    try {
        switch (format) {
            case ToolCallFormat::hermes: return parse_hermes(text);
            case ToolCallFormat::llama3_json: return parse_llama3(text);
            case ToolCallFormat::mistral: return parse_mistral(text);
            case ToolCallFormat::none: break;
        }
    } catch (const std::exception&) {
        // Model output is untrusted too: anything odd stays plain content.
    }
    return ToolParse{std::string(text), {}};
}

size_t streamable_content_prefix(ToolCallFormat format, std::string_view text) {
    switch (format) {
        case ToolCallFormat::hermes: {
            const size_t open = text.find(kHermesOpen);
            if (open != std::string_view::npos) return open;
            return text.size() - partial_marker_suffix(text, kHermesOpen);
        }
        case ToolCallFormat::llama3_json:
        case ToolCallFormat::mistral: {
            // These calls are the whole output: hold back while the output may still be one.
            const std::string_view t = trim(text);
            if (t.empty()) return 0;
            if (t.front() == '{' || t.front() == '[') return 0;
            if (format == ToolCallFormat::mistral && kMistralTag.substr(0, std::min(t.size(), kMistralTag.size())) ==
                                                         t.substr(0, std::min(t.size(), kMistralTag.size()))) {
                return 0;
            }
            if (format == ToolCallFormat::llama3_json && kPythonTag.substr(0, std::min(t.size(), kPythonTag.size())) ==
                                                             t.substr(0, std::min(t.size(), kPythonTag.size()))) {
                return 0;
            }
            return text.size();
        }
        case ToolCallFormat::none: break;
    }
    return text.size();
}

}  // namespace pagoda::server
