// A chat session's structured output: stored in its sampling_preset_json as "json_schema":
// true (any JSON object) or a JSON Schema object; absent: free text. The engine then only
// samples tokens that keep the reply valid JSON under it (grammar/json_schema_grammar.h).
#pragma once

#include <QString>
#include <string>

#include "pagoda/request.h"
#include "pagoda/status.h"

namespace pagoda::bridge {

struct StructuredOutput {
    bool enabled = false;
    QString schema;  // JSON Schema text; empty: any JSON object
};

// What a session's preset JSON asks for (enabled false when absent or unreadable).
StructuredOutput structuredOutput(const std::string& presetJson);
// The preset JSON with structured output set, or removed when !enabled. An error says what
// is wrong with the schema (not JSON, not an object, or a keyword that cannot be enforced).
Result<std::string> withStructuredOutput(const std::string& presetJson, const StructuredOutput& output);
// Sets params.grammar from the preset JSON's "json_schema" (parseSamplingPreset calls it).
Status readStructuredOutput(const std::string& presetJson, SamplingParams& params);

}  // namespace pagoda::bridge
