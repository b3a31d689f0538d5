// `pagoda template`: renders a conversation with a model's chat template and prints the
// prompt exactly as the model would see it (no trailing newline added).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "input_file.h"
#include "model/gguf_file.h"
#include "tokenizer/chat_template.h"

namespace pagoda::cli {

namespace {

using nlohmann::ordered_json;

Result<ordered_json> read_json(const std::string& path) {
    auto text = read_input_file(path);
    if (!text) return text.status();
    ordered_json j = ordered_json::parse(text.value(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_format(path + ": not valid JSON");
    return j;
}

// "--var key=value": the value is JSON when it parses as JSON (true, 3, "x", {...}),
// otherwise the text itself.
bool parse_var(const std::string& spec, ordered_json& vars) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    const std::string value = spec.substr(eq + 1);
    ordered_json parsed = ordered_json::parse(value, nullptr, false);
    vars[spec.substr(0, eq)] = parsed.is_discarded() ? ordered_json(value) : parsed;
    return true;
}

int fail_with(const Status& s) {
    std::fprintf(stderr, "pagoda template: %s\n", s.to_string().c_str());
    return 1;
}

}  // namespace

int run_template(int argc, char** argv) {
    Args args(
        "pagoda template (--model PATH | --tokenizer-config FILE | --template FILE) --messages FILE.json [options]",
        "Render a conversation with a model's chat template and print the prompt.");
    args.option("--model", "PATH", "GGUF model whose tokenizer.chat_template (and BOS/EOS) to use");
    args.option("--tokenizer-config", "FILE", "tokenizer_config.json with chat_template, bos_token, eos_token");
    args.option("--template", "FILE", "Jinja template file (overrides the model's template)");
    args.option("--template-name", "NAME", "a named template (tokenizer.chat_template.NAME, e.g. tool_use)");
    args.option("--messages", "FILE",
                "JSON list of messages, or a request object with \"messages\" (\"tools\", "
                "\"chat_template_kwargs\"); - reads stdin");
    args.option("--tools", "FILE", "JSON list of tool definitions");
    args.flag("--no-generation-prompt", "do not end with the assistant's turn header");
    args.option("--var", "KEY=VALUE", "extra template variable (repeatable), e.g. enable_thinking=false");
    args.option("--bos", "TEXT", "BOS token text (when the template source has none)");
    args.option("--eos", "TEXT", "EOS token text (when the template source has none)");

    // --var may repeat; Args keeps one value per flag, so collect them here first.
    ordered_json vars = ordered_json::object();
    std::vector<char*> rest;
    for (int i = 0; i < argc; ++i) {
        const bool split = std::strcmp(argv[i], "--var") == 0;
        const bool joined = std::strncmp(argv[i], "--var=", 6) == 0;
        if (i > 0 && (split || joined)) {
            if (split && i + 1 >= argc) {
                std::fprintf(stderr, "error: option '--var' needs a value (KEY=VALUE)\n");
                return 2;
            }
            const std::string spec = joined ? std::string(argv[i] + 6) : std::string(argv[++i]);
            if (!parse_var(spec, vars)) {
                std::fprintf(stderr, "error: --var expects KEY=VALUE, got '%s'\n", spec.c_str());
                return 2;
            }
            continue;
        }
        rest.push_back(argv[i]);
    }
    if (!args.parse(static_cast<int>(rest.size()), rest.data())) return args.exit_code();
    if (!args.has("--messages")) {
        std::fprintf(stderr, "error: --messages is required\n\n%s", args.help().c_str());
        return 2;
    }
    if (!args.has("--model") && !args.has("--tokenizer-config") && !args.has("--template")) {
        std::fprintf(stderr, "error: one of --model, --tokenizer-config or --template is required\n\n%s",
                     args.help().c_str());
        return 2;
    }

    // Where the template and the special tokens come from.
    std::unique_ptr<ChatTemplate> tpl;
    std::unique_ptr<GgufFile> gguf;
    const std::string name = args.get("--template-name");
    if (args.has("--model")) {
        auto opened = GgufFile::open(args.get("--model"));
        if (!opened) return fail_with(opened.status());
        gguf = std::move(opened).value();
        auto ct = ChatTemplate::from_gguf(*gguf, name);
        if (!ct) return fail_with(ct.status());
        tpl = std::make_unique<ChatTemplate>(std::move(ct).value());
    }
    if (args.has("--tokenizer-config")) {
        auto text = read_input_file(args.get("--tokenizer-config"));
        if (!text) return fail_with(text.status());
        auto ct = ChatTemplate::from_tokenizer_config(text.value(), name);
        if (!ct)
            return fail_with(
                Status::error(ct.status().code(), args.get("--tokenizer-config") + ": " + ct.status().message()));
        tpl = std::make_unique<ChatTemplate>(std::move(ct).value());
    }
    std::optional<std::string> bos = tpl ? tpl->bos_token() : std::nullopt;
    std::optional<std::string> eos = tpl ? tpl->eos_token() : std::nullopt;
    if (args.has("--bos")) bos = args.get("--bos");
    if (args.has("--eos")) eos = args.get("--eos");
    if (args.has("--template")) {
        auto text = read_input_file(args.get("--template"));
        if (!text) return fail_with(text.status());
        auto ct = ChatTemplate::create(text.value(), bos, eos);
        if (!ct)
            return fail_with(Status::error(ct.status().code(), args.get("--template") + ": " + ct.status().message()));
        tpl = std::make_unique<ChatTemplate>(std::move(ct).value());
    } else if (args.has("--bos") || args.has("--eos")) {
        auto ct = ChatTemplate::create(tpl->source(), bos, eos);
        if (!ct) return fail_with(ct.status());
        const bool fallback = tpl->is_fallback();
        tpl = std::make_unique<ChatTemplate>(std::move(ct).value());
        if (fallback) std::fprintf(stderr, "pagoda template: note: no chat template in the model; using ChatML\n");
    }
    if (tpl->is_fallback()) std::fprintf(stderr, "pagoda template: note: %s\n", tpl->origin().c_str());

    ChatTemplateInputs inputs;
    auto messages = read_json(args.get("--messages"));
    if (!messages) return fail_with(messages.status());
    if (messages->is_object()) {
        // An OpenAI-style request body: messages, tools, chat_template_kwargs.
        const ordered_json& body = messages.value();
        if (!body.contains("messages")) return fail_with(invalid_format(args.get("--messages") + ": no \"messages\""));
        inputs.messages = body["messages"];
        if (body.contains("tools")) inputs.tools = body["tools"];
        if (body.contains("add_generation_prompt") && body["add_generation_prompt"].is_boolean()) {
            inputs.add_generation_prompt = body["add_generation_prompt"].get<bool>();
        }
        if (body.contains("chat_template_kwargs") && body["chat_template_kwargs"].is_object()) {
            inputs.variables = body["chat_template_kwargs"];
        }
    } else {
        inputs.messages = std::move(messages).value();
    }
    if (args.has("--tools")) {
        auto tools = read_json(args.get("--tools"));
        if (!tools) return fail_with(tools.status());
        inputs.tools = tools->is_object() && tools->contains("tools") ? (*tools)["tools"] : tools.value();
    }
    if (args.has("--no-generation-prompt")) inputs.add_generation_prompt = false;
    for (auto it = vars.begin(); it != vars.end(); ++it) inputs.variables[it.key()] = it.value();

    auto prompt = tpl->render(inputs);
    if (!prompt) return fail_with(prompt.status());
    std::fwrite(prompt->data(), 1, prompt->size(), stdout);
    std::fflush(stdout);
    return 0;
}

}  // namespace pagoda::cli
