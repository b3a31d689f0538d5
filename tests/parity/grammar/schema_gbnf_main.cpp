// pagoda-schema-gbnf: prints the GBNF Pagoda's converter writes for a JSON Schema (or, with
// --json-object, for response_format json_object), so the grammar parity test can run that
// text through llama.cpp's grammar engine too.
//   pagoda-schema-gbnf SCHEMA.json | pagoda-schema-gbnf --json-object
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "grammar/json_schema_grammar.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: pagoda-schema-gbnf SCHEMA.json | --json-object\n");
        return 2;
    }
    const std::string arg = argv[1];
    if (arg == "--json-object") {
        std::fputs(pagoda::grammar::json_object_gbnf().c_str(), stdout);
        return 0;
    }
    std::ifstream in(arg);
    if (!in) {
        std::fprintf(stderr, "%s: cannot open\n", arg.c_str());
        return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    const auto schema = nlohmann::ordered_json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (schema.is_discarded()) {
        std::fprintf(stderr, "%s: not valid JSON\n", arg.c_str());
        return 1;
    }
    const pagoda::Result<std::string> gbnf = pagoda::grammar::json_schema_to_gbnf(schema);
    if (!gbnf) {
        std::fprintf(stderr, "%s\n", gbnf.status().to_string().c_str());
        return 1;
    }
    std::fputs(gbnf->c_str(), stdout);
    return 0;
}
