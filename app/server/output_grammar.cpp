// Constrained output for both endpoints: OpenAI's response_format (json_object, or
// json_schema with the schema turned into GBNF) and llama-server's `grammar` extension
// (GBNF text). The grammar is compiled here, so a bad schema or grammar is a 400 that
// names its parameter before anything is queued.
#include "grammar/grammar.h"
#include "grammar/json_schema_grammar.h"
#include "server/openai_request_internal.h"

namespace pagoda::server::detail {

using namespace fields;

namespace {

// The GBNF a response_format asks for; nullopt for "text" (free output).
ApiResult<std::optional<std::string>> response_format_gbnf(const Json& rf) {
    if (!rf.is_object()) return wrong_type("response_format", "an object", rf);
    const Json* type = find(rf, "type");
    if (!type || !type->is_string()) return wrong_type("response_format.type", "a string", type ? *type : Json());
    const std::string t = type->get<std::string>();
    if (t == "text") return std::optional<std::string>();
    if (t == "json_object") return std::optional<std::string>(grammar::json_object_gbnf());
    if (t != "json_schema") return bad_value("response_format.type", "expected 'text', 'json_object' or 'json_schema'.");
    const Json* spec = find(rf, "json_schema");
    if (!spec) return invalid_param("response_format", "Missing required parameter: 'response_format.json_schema'.");
    if (!spec->is_object()) return wrong_type("response_format.json_schema", "an object", *spec);
    const Json* schema = find(*spec, "schema");
    // OpenAI requires a name; clients always send one, but the schema is what matters here.
    if (!schema) return invalid_param("response_format", "Missing required parameter: 'response_format.json_schema.schema'.");
    Result<std::string> gbnf = grammar::json_schema_to_gbnf(*schema);
    if (!gbnf) return invalid_param("response_format", "response_format.json_schema: " + gbnf.status().message());
    return std::optional<std::string>(std::move(*gbnf));
}

}  // namespace

Err read_output_grammar(const Json& body, SamplingFields& s) {
    std::optional<std::string> gbnf;
    std::string param;
    if (const Json* rf = find(body, "response_format")) {
        ApiResult<std::optional<std::string>> from_format = response_format_gbnf(*rf);
        if (!from_format) return from_format.error();
        gbnf = std::move(from_format).value();
        param = "response_format";
    }
    if (const Json* g = find(body, "grammar"); g && !g->is_null()) {
        if (!g->is_string()) return wrong_type("grammar", "a string", *g);
        if (gbnf) return invalid_param("grammar", "Give either 'grammar' or a JSON 'response_format', not both.");
        gbnf = g->get<std::string>();
        param = "grammar";
    }
    if (!gbnf) return std::nullopt;
    Result<std::shared_ptr<const grammar::Grammar>> compiled = grammar::compile_gbnf(*gbnf);
    if (!compiled) return invalid_param(param, param + ": " + compiled.status().message());
    s.grammar = std::move(*compiled);
    return std::nullopt;
}

}  // namespace pagoda::server::detail
