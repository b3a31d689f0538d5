// pagoda-jinja-render: renders a batch of (template, conversation) cases with Pagoda's
// ChatTemplate, for jinja_parity.mjs to compare with @huggingface/jinja.
//
//   pagoda-jinja-render CASES.json OUT.json
//
// CASES.json: {"now_epoch": N, "cases": [{"id", "template", "bos_token", "eos_token",
//   "messages", "tools", "add_generation_prompt", "variables"}]}
// OUT.json:   {"<id>": {"ok": true, "output": "..."} or {"ok": false, "error": "..."}}
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"

using nlohmann::ordered_json;

namespace {

std::optional<std::string> opt_string(const ordered_json& c, const char* key) {
    auto it = c.find(key);
    if (it == c.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s CASES.json OUT.json\n", argv[0]);
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const ordered_json spec = ordered_json::parse(buf.str(), nullptr, false);
    if (spec.is_discarded()) {
        std::fprintf(stderr, "%s: not JSON\n", argv[1]);
        return 2;
    }
    pagoda::jinja::RenderOptions options;
    if (spec.contains("now_epoch")) {
        // The same instant the reference's mocked Date reports, in the local time zone.
        const std::time_t now = spec["now_epoch"].get<std::time_t>();
        std::tm t{};
        localtime_r(&now, &t);
        options.now = t;
    }
    ordered_json out = ordered_json::object();
    for (const auto& c : spec["cases"]) {
        const std::string id = c["id"].get<std::string>();
        ordered_json result;
        auto tpl = pagoda::ChatTemplate::create(c["template"].get<std::string>(), opt_string(c, "bos_token"),
                                                opt_string(c, "eos_token"));
        if (!tpl) {
            result = {{"ok", false}, {"error", tpl.status().to_string()}};
        } else {
            pagoda::ChatTemplateInputs inputs;
            inputs.messages = c.value("messages", ordered_json::array());
            inputs.tools = c.value("tools", ordered_json());
            inputs.add_generation_prompt = c.value("add_generation_prompt", true);
            inputs.variables = c.value("variables", ordered_json::object());
            auto text = tpl->render(inputs, options);
            if (text) {
                result = {{"ok", true}, {"output", text.value()}};
            } else {
                result = {{"ok", false}, {"error", text.status().to_string()}};
            }
        }
        out[id] = result;
    }
    std::ofstream o(argv[2], std::ios::binary);
    o << out.dump(1, ' ', false, ordered_json::error_handler_t::replace);
    return o.good() ? 0 : 1;
}
