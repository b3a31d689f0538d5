// The constrained-decoding options of `pagoda generate`, spelled as in llama.cpp's CLI:
// --grammar TEXT, --grammar-file FILE (GBNF), --json-schema JSON, --json-schema-file FILE.
#pragma once

#include <memory>

#include "args.h"
#include "pagoda/status.h"

namespace pagoda::grammar {
class Grammar;
}

namespace pagoda::cli {

inline constexpr const char* kGrammarOptions[] = {"--grammar", "--grammar-file", "--json-schema",
                                                  "--json-schema-file"};

// Declares the four options on `args`.
void add_grammar_options(Args& args);
// The grammar they ask for (compiled), null when none was given; an error names the
// option and what is wrong (at most one of the four may be given).
Result<std::shared_ptr<const grammar::Grammar>> grammar_from_options(const Args& args);

}  // namespace pagoda::cli
