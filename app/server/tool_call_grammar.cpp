#include "server/tool_call_grammar.h"

#include <cctype>
#include <string>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/json_schema_grammar.h"

namespace pagoda::server {

namespace {

using Json = nlohmann::ordered_json;

// The wrapper rules' names; the schema converter names its rules after properties and
// $defs ("f0", ...), never with this prefix.
constexpr const char* kRoot = "pagoda-tool-calls";

// A parameters schema moves under #/$defs/<def>: its local $refs must follow it.
// enum/const/default/examples hold data, not schemas, so they are left alone.
void rebase_refs(Json& schema, const std::string& def) {
    if (schema.is_array()) {
        for (Json& item : schema) rebase_refs(item, def);
        return;
    }
    if (!schema.is_object()) return;
    for (auto& [key, value] : schema.items()) {
        if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
        if (key == "$ref" && value.is_string()) {
            const std::string ref = value.get<std::string>();
            if (!ref.empty() && ref[0] == '#') value = "#/$defs/" + def + ref.substr(1);
            continue;
        }
        rebase_refs(value, def);
    }
}

// {"name": <const>, "arguments"|"parameters": <$ref to the function's parameters>}
Json call_schema(const std::string& name, const std::string& args_key, const std::string& def) {
    Json props = Json::object();
    props["name"] = Json{{"const", name}};
    props[args_key] = Json{{"$ref", "#/$defs/" + def}};
    return Json{{"type", "object"},
                {"properties", std::move(props)},
                {"required", Json::array({"name", args_key})},
                {"additionalProperties", false}};
}

// "/$defs/f3/properties/x: ..." -> "tools[3].function.parameters/properties/x: ..."
std::string name_the_tool(std::string message, const std::vector<size_t>& tool_index) {
    const std::string prefix = "/$defs/f";
    if (message.rfind(prefix, 0) != 0) return "tools: " + message;
    size_t end = prefix.size();
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
    const size_t def = std::stoul(message.substr(prefix.size(), end - prefix.size()));
    if (def >= tool_index.size()) return "tools: " + message;
    return "tools[" + std::to_string(tool_index[def]) + "].function.parameters" + message.substr(end);
}

std::string wrapper_rules(ToolCallFormat format, bool parallel) {
    const std::string root = kRoot;
    switch (format) {
        case ToolCallFormat::hermes:
            return "pagoda-tool-call ::= \"<tool_call>\\n\" root \"\\n</tool_call>\"\n" + root +
                   (parallel ? " ::= pagoda-tool-call (\"\\n\" pagoda-tool-call)*\n" : " ::= pagoda-tool-call\n");
        case ToolCallFormat::mistral:
            // [TOOL_CALLS] is a control token (no text): the parser takes the bare array.
            return root + (parallel ? " ::= \"[\" root (\", \" root)* \"]\"\n" : " ::= \"[\" root \"]\"\n");
        case ToolCallFormat::llama3_json:
        case ToolCallFormat::none:
            break;
    }
    return root + " ::= root\n";  // Llama 3.1: one JSON object
}

}  // namespace

ApiResult<std::shared_ptr<const grammar::Grammar>> tool_call_grammar(ToolCallFormat format, const Json& tools,
                                                                     const ToolChoice& choice, bool parallel) {
    using Forced = std::shared_ptr<const grammar::Grammar>;
    const bool forced = choice.mode == ToolChoiceMode::required || choice.mode == ToolChoiceMode::function;
    if (!forced || format == ToolCallFormat::none || !tools.is_array() || tools.empty()) return Forced();

    const std::string args_key = format == ToolCallFormat::llama3_json ? "parameters" : "arguments";
    Json calls = Json::array();
    Json defs = Json::object();
    std::vector<size_t> tool_index;  // def i -> position in `tools`
    for (size_t i = 0; i < tools.size(); ++i) {
        const Json& fn = tools[i].at("function");
        const std::string name = fn.at("name").get<std::string>();
        if (choice.mode == ToolChoiceMode::function && name != choice.function) continue;
        const std::string def = "f" + std::to_string(tool_index.size());
        Json params = fn.contains("parameters") ? fn.at("parameters") : Json{{"type", "object"}};
        rebase_refs(params, def);
        defs[def] = std::move(params);
        calls.push_back(call_schema(name, args_key, def));
        tool_index.push_back(i);
    }
    Json schema = calls.size() == 1 ? calls[0] : Json{{"anyOf", calls}};
    schema["$defs"] = std::move(defs);

    Result<std::string> gbnf = grammar::json_schema_to_gbnf(schema);
    if (!gbnf) return invalid_param("tools", name_the_tool(gbnf.status().message(), tool_index));
    Result<Forced> compiled = grammar::compile_gbnf(*gbnf + "\n" + wrapper_rules(format, parallel), kRoot);
    if (!compiled) return invalid_param("tools", "tools: " + compiled.status().message());
    return *compiled;
}

}  // namespace pagoda::server
