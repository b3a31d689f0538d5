#include "bridge/structured_output.h"

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"
#include "grammar/json_schema_grammar.h"

namespace pagoda::bridge {

namespace {

using Json = nlohmann::ordered_json;  // property order is output order

constexpr const char* kKey = "json_schema";

Json parseObject(const std::string& text) {
    Json j = Json::parse(text.empty() ? std::string("{}") : text, nullptr, /*allow_exceptions=*/false);
    return j.is_object() ? j : Json();
}

// true -> any JSON object; an object -> that schema.
Result<std::shared_ptr<const grammar::Grammar>> compile(const Json& value) {
    Result<std::string> gbnf = std::string();
    if (value.is_boolean()) {
        gbnf = grammar::json_object_gbnf();
    } else if (value.is_object()) {
        gbnf = grammar::json_schema_to_gbnf(value);
    } else {
        return invalid_argument("json_schema: must be true or a JSON Schema object");
    }
    if (!gbnf) return invalid_argument("json_schema: " + gbnf.status().message());
    return grammar::compile_gbnf(*gbnf);
}

}  // namespace

StructuredOutput structuredOutput(const std::string& presetJson) {
    const Json j = parseObject(presetJson);
    StructuredOutput out;
    if (!j.is_object() || !j.contains(kKey)) return out;
    const Json& v = j[kKey];
    out.enabled = v.is_object() || (v.is_boolean() && v.get<bool>());
    if (v.is_object()) out.schema = QString::fromStdString(v.dump(2));
    return out;
}

Result<std::string> withStructuredOutput(const std::string& presetJson, const StructuredOutput& output) {
    Json j = parseObject(presetJson);
    if (!j.is_object()) j = Json::object();
    j.erase(kKey);
    if (!output.enabled) return j.dump();
    Json value = true;
    if (!output.schema.trimmed().isEmpty()) {
        value = Json::parse(output.schema.toStdString(), nullptr, /*allow_exceptions=*/false);
        if (value.is_discarded()) return invalid_argument("the JSON Schema is not valid JSON");
        if (!value.is_object()) return invalid_argument("a JSON Schema is a JSON object ({...})");
    }
    Result<std::shared_ptr<const grammar::Grammar>> compiled = compile(value);
    if (!compiled) return compiled.status();
    j[kKey] = std::move(value);
    return j.dump();
}

Status readStructuredOutput(const std::string& presetJson, SamplingParams& params) {
    const Json j = parseObject(presetJson);
    if (!j.is_object() || !j.contains(kKey) || j[kKey].is_null() || j[kKey] == Json(false)) return Status::ok();
    Result<std::shared_ptr<const grammar::Grammar>> compiled = compile(j[kKey]);
    if (!compiled) return invalid_argument("sampling preset: " + compiled.status().message());
    params.grammar = std::move(*compiled);
    return Status::ok();
}

}  // namespace pagoda::bridge
