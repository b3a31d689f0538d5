#include "tokenizer/jinja/template.h"

#include <algorithm>
#include <new>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/text.h"

namespace pagoda::jinja {

Template::Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

std::pair<uint32_t, uint32_t> Template::line_column(uint32_t offset) const {
    offset = std::min<uint32_t>(offset, static_cast<uint32_t>(source_.size()));
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based: starts_[0] == 0
    return {static_cast<uint32_t>(line), offset - line_starts_[line - 1] + 1};
}

namespace {

Status to_status(const Template& tpl, const TemplateError& e) {
    std::string message;
    if (e.offset() != kNoOffset) {
        const auto [line, col] = tpl.line_column(e.offset());
        message = "line " + std::to_string(line) + ", column " + std::to_string(col) + ": ";
    }
    message += e.message();
    if (e.kind() == TemplateErrorKind::limit) return out_of_memory(std::move(message));
    return invalid_argument(std::move(message));
}

}  // namespace

Result<Template> Template::parse(std::string_view source, const Limits& limits) {
    if (source.size() > limits.max_template_bytes) {
        return out_of_memory("template of " + std::to_string(source.size()) + " bytes is over the limit of " +
                             std::to_string(limits.max_template_bytes));
    }
    Template tpl;
    tpl.source_.assign(source);
    tpl.line_starts_.push_back(0);
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\n') tpl.line_starts_.push_back(static_cast<uint32_t>(i + 1));
    }
    size_t bad = 0;
    if (!text::is_valid_utf8(source, bad)) {
        return to_status(
            tpl, TemplateError(TemplateErrorKind::syntax, static_cast<uint32_t>(bad), "template is not valid UTF-8"));
    }
    try {
        const std::vector<Token> tokens = tokenize(source);
        tpl.program_ = std::make_unique<Program>(parse_tokens(tokens, limits.max_nesting));
    } catch (const TemplateError& e) {
        return to_status(tpl, e);
    } catch (const std::bad_alloc&) {
        return out_of_memory("out of memory while parsing the template");
    } catch (const std::exception& e) {
        return internal_error(std::string("template parser: ") + e.what());
    }
    return tpl;
}

Result<std::string> Template::render(const Object& variables, const RenderOptions& options) const {
    try {
        Interpreter interp(options);
        Scope builtins(nullptr);
        install_globals(builtins);
        // The caller's variables shadow the builtins; top-level `set` writes here too.
        Scope globals(&builtins);
        for (const auto& [name, value] : variables.items()) globals.set(name, value);
        return interp.run(*program_, globals);
    } catch (const TemplateError& e) {
        return to_status(*this, e);
    } catch (const std::bad_alloc&) {
        return out_of_memory("out of memory while rendering the template");
    } catch (const std::exception& e) {
        // No library call here should throw anything else; never let it escape.
        return internal_error(std::string("template renderer: ") + e.what());
    }
}

}  // namespace pagoda::jinja
