#include "grammar_option.h"

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"
#include "grammar/json_schema_grammar.h"
#include "input_file.h"

namespace pagoda::cli {

namespace {

constexpr size_t kMaxGrammarFileBytes = 1u << 20;

Result<std::string> gbnf_of_schema(const std::string& option, const std::string& text) {
    const auto schema = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (schema.is_discarded()) return invalid_argument(option + ": not valid JSON");
    Result<std::string> gbnf = grammar::json_schema_to_gbnf(schema);
    if (!gbnf) return invalid_argument(option + ": " + gbnf.status().message());
    return gbnf;
}

}  // namespace

void add_grammar_options(Args& args) {
    args.option("--grammar", "GBNF", "constrain the output to this grammar (llama.cpp's GBNF; root rule 'root')");
    args.option("--grammar-file", "FILE", "the same, read from FILE");
    args.option("--json-schema", "JSON", "constrain the output to JSON valid under this JSON Schema");
    args.option("--json-schema-file", "FILE", "the same, read from FILE");
}

Result<std::shared_ptr<const grammar::Grammar>> grammar_from_options(const Args& args) {
    std::string given;
    for (const char* option : kGrammarOptions) {
        if (!args.has(option)) continue;
        if (!given.empty()) return invalid_argument(given + " and " + option + " cannot be combined");
        given = option;
    }
    if (given.empty()) return std::shared_ptr<const grammar::Grammar>();
    std::string text = args.get(given);
    if (given.ends_with("-file")) {
        Result<std::string> read = read_input_file(text, kMaxGrammarFileBytes);
        if (!read) return read.status();
        text = std::move(*read);
    }
    if (given.starts_with("--json-schema")) {
        Result<std::string> gbnf = gbnf_of_schema(given, text);
        if (!gbnf) return gbnf.status();
        text = std::move(*gbnf);
    }
    Result<std::shared_ptr<const grammar::Grammar>> compiled = grammar::compile_gbnf(text);
    if (!compiled) return invalid_argument(given + ": " + compiled.status().message());
    return compiled;
}

}  // namespace pagoda::cli
