// Tokens -> syntax tree. The grammar and operator precedence follow @huggingface/jinja
// (filters bind tighter than `is` tests, which bind tighter than `**`, `*`, `+`,
// comparisons, `not`, `and`, `or`, and `if`/`else` last), so templates mean what they
// mean there. Throws TemplateError (syntax) with the offending token's offset.
#pragma once

#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace pagoda::jinja {

// max_nesting bounds how deeply blocks and expressions may nest, so a hostile template
// cannot exhaust the stack while being parsed or evaluated.
Program parse_tokens(const std::vector<Token>& tokens, int max_nesting);

}  // namespace pagoda::jinja
