// Helpers for the Jinja tests: render a template source with JSON variables.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pagoda/status.h"
#include "tokenizer/jinja/json_input.h"
#include "tokenizer/jinja/template.h"

namespace pagoda::jinja::testing {

inline Result<std::string> render(std::string_view source,
                                  const nlohmann::ordered_json& vars = nlohmann::ordered_json::object(),
                                  const RenderOptions& options = {}) {
    auto tpl = Template::parse(source, options.limits);
    if (!tpl) return tpl.status();
    Object globals;
    for (auto it = vars.begin(); it != vars.end(); ++it) {
        auto v = value_from_json(it.value());
        if (!v) return v.status();
        globals.set(it.key(), std::move(v).value());
    }
    return tpl->render(globals, options);
}

// The rendered text, or "ERROR: <message>".
inline std::string r(std::string_view source, const nlohmann::ordered_json& vars = nlohmann::ordered_json::object()) {
    auto out = render(source, vars);
    return out ? out.value() : "ERROR: " + out.status().message();
}

}  // namespace pagoda::jinja::testing
