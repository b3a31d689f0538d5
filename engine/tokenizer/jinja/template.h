// A Jinja2 template engine for the subset chat templates use, rendering exactly as
// @huggingface/jinja (what transformers.js and the Hugging Face hub use) does.
//
// Templates come from model files and are untrusted code: they can only read the data
// they are given (no attribute access to anything but dicts/lists/strings, no I/O), and
// every render is bounded in loop iterations, evaluation steps, call depth, nesting and
// output size. Errors name the template line and column.
//
//   auto tpl = jinja::Template::parse(source);          // Result<Template>
//   jinja::Object vars; vars.set("messages", ...);
//   auto text = tpl->render(vars);                        // Result<std::string>
//
// A parsed Template is immutable: any number of threads may render it at once.
//
// Where the reference is plainly broken we follow Python's Jinja instead (tests/parity
// avoids these): strip/lstrip/rstrip honour their `chars` argument; text rendered
// before `break`/`continue` in the same iteration is kept, and a loop's else runs only
// when it had no items; string length and indices count code points (not UTF-16 units);
// integer overflow and division by zero are errors rather than Infinity. Constructs the
// reference rejects are accepted as Jinja means them (string comparisons, tuples,
// `is divisibleby 3`, select/reject, map('filter'), round, escape, list.append, ...).
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/status.h"
#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

struct Program;

// The defaults allow any real chat template with room to spare. Rendering at these
// limits needs under 1 MiB of stack (parse: under 256 KiB).
struct Limits {
    size_t max_template_bytes = 1 << 20;       // source size accepted by parse()
    int max_nesting = 128;                     // blocks/expressions nested in the source
    size_t max_output_bytes = 16 << 20;        // the rendered text, and any one string built on the way
    uint64_t max_loop_iterations = 1'000'000;  // all loops of one render together (and range() sizes)
    uint64_t max_steps = 20'000'000;           // evaluation steps of one render (a work budget)
    int max_call_depth = 64;                   // macro / caller() recursion
    int max_eval_depth = 1000;                 // recursion of the evaluator itself (~600 B of stack each)
};

struct RenderOptions {
    Limits limits;
    // What strftime_now() sees as the local time; the real clock when unset (tests fix it).
    std::optional<std::tm> now;
};

class Template {
public:
    // Errors: invalid_argument "line L, column C: message" (syntax), or out_of_memory
    // for a template over the size or nesting limits.
    static Result<Template> parse(std::string_view source, const Limits& limits = {});

    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;
    ~Template();

    // Renders with `variables` visible as globals (beside range, namespace,
    // raise_exception, strftime_now, true/false/none). Errors name the line and column:
    // invalid_argument for template errors (including raise_exception's message),
    // out_of_memory when a limit stops the render.
    Result<std::string> render(const Object& variables, const RenderOptions& options = {}) const;

    const std::string& source() const { return source_; }
    // 1-based line and column (in bytes) of a source offset.
    std::pair<uint32_t, uint32_t> line_column(uint32_t offset) const;

private:
    Template();
    std::string source_;
    std::vector<uint32_t> line_starts_;
    std::unique_ptr<Program> program_;
};

}  // namespace pagoda::jinja
