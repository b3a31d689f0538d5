// pagoda-tokenizer-dump: the Pagoda side of the tokenizer parity tests.
//
//   encode:      --gguf PATH | --tokenizer tokenizer.json, --input texts.json (array of
//                strings), --output out.json [--add-special] [--parse-special]
//                Writes {"ids": [[...]], "decoded": [...], "decoded_special": [...],
//                "pieces": [...], "encode_seconds": s, "bytes": n}.
//   gguf-from-hf: --tokenizer tokenizer.json --pre NAME --output vocab.gguf
//                Writes a vocabulary-only GGUF the way convert_hf_to_gguf.py would, so
//                llama.cpp (node-llama-cpp) can tokenize with the same vocabulary.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/tokenizer.h"

namespace {

using Json = nlohmann::json;
using pagoda::Result;
using pagoda::TokenId;
using pagoda::Tokenizer;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Options {
    std::string mode, gguf, tokenizer, input, output, pre;
    bool add_special = false, parse_special = false;
};

int usage() {
    std::fprintf(stderr,
                 "usage: pagoda-tokenizer-dump encode (--gguf PATH | --tokenizer PATH) --input IN.json --output "
                 "OUT.json [--add-special] [--parse-special]\n"
                 "       pagoda-tokenizer-dump gguf-from-hf --tokenizer tokenizer.json --pre NAME --output OUT.gguf\n");
    return 2;
}

int run_encode(const Options& o) {
    std::unique_ptr<pagoda::GgufFile> gguf;
    Result<std::unique_ptr<Tokenizer>> tok = pagoda::Status::error(pagoda::ErrorCode::internal, "unset");
    if (!o.gguf.empty()) {
        auto g = pagoda::GgufFile::open(o.gguf);
        if (!g) {
            std::fprintf(stderr, "%s\n", g.status().to_string().c_str());
            return 1;
        }
        gguf = std::move(g).value();
        tok = pagoda::load_tokenizer(*gguf);
    } else {
        tok = pagoda::load_hf_tokenizer(o.tokenizer);
    }
    if (!tok) {
        std::fprintf(stderr, "%s\n", tok.status().to_string().c_str());
        return 1;
    }
    const Tokenizer& t = **tok;
    const Json texts = Json::parse(read_file(o.input));
    Json ids = Json::array(), decoded = Json::array(), decoded_special = Json::array(), pieces = Json::array();
    double seconds = 0;
    size_t bytes = 0;
    for (const auto& item : texts) {
        const std::string text = item.get<std::string>();
        const auto start = std::chrono::steady_clock::now();
        const std::vector<TokenId> v = t.encode(text, o.add_special, o.parse_special);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        bytes += text.size();
        ids.push_back(v);
        decoded.push_back(t.decode(v, false));
        decoded_special.push_back(t.decode(v, true));
        std::string joined;
        for (TokenId id : v) joined += t.token_to_piece(id, true);
        pieces.push_back(joined);
    }
    Json out = {{"ids", ids},       {"decoded", decoded},        {"decoded_special", decoded_special},
                {"pieces", pieces}, {"encode_seconds", seconds}, {"bytes", bytes}};
    std::ofstream(o.output) << out.dump(-1, ' ', false, Json::error_handler_t::replace);
    return 0;
}

// convert_hf_to_gguf.py's does_token_look_special.
bool looks_special(const std::string& t) {
    auto ends = [&](const char* s) {
        return t.size() >= std::strlen(s) && t.compare(t.size() - std::strlen(s), std::string::npos, s) == 0;
    };
    return (t.rfind("<|", 0) == 0 && ends("|>")) || (t.rfind("<\xEF\xBD\x9C", 0) == 0 && ends("\xEF\xBD\x9C>")) ||
           t == "<pad>" || t == "<mask>";
}

int run_gguf_from_hf(const Options& o) {
    const Json root = Json::parse(read_file(o.tokenizer));
    const Json& model = root["model"];
    std::map<TokenId, std::string> by_id;
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it)
        by_id[it.value().get<TokenId>()] = it.key();
    std::map<TokenId, bool> added_special;
    for (const auto& a : root["added_tokens"]) {
        by_id[a["id"].get<TokenId>()] = a["content"].get<std::string>();
        added_special[a["id"].get<TokenId>()] = a["special"].get<bool>();
    }
    const TokenId n = by_id.rbegin()->first + 1;
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    for (TokenId i = 0; i < n; ++i) {
        auto it = by_id.find(i);
        if (it == by_id.end()) {
            tokens.push_back("[PAD" + std::to_string(i) + "]");
            types.push_back(static_cast<int32_t>(pagoda::TokenType::unused));
            continue;
        }
        tokens.push_back(it->second);
        auto a = added_special.find(i);
        if (a == added_special.end()) {
            types.push_back(static_cast<int32_t>(pagoda::TokenType::normal));
        } else if (a->second || looks_special(it->second)) {
            types.push_back(static_cast<int32_t>(pagoda::TokenType::control));
        } else {
            types.push_back(static_cast<int32_t>(pagoda::TokenType::user_defined));
        }
    }
    std::vector<std::string> merges;
    for (const auto& m : model["merges"]) {
        merges.push_back(m.is_string() ? m.get<std::string>()
                                       : m[0].get<std::string>() + " " + m[1].get<std::string>());
    }
    pagoda::GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("general.name", "pagoda tokenizer parity vocab");
    w.set_u32("llama.context_length", 4096);
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", o.pre);
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_string_array("tokenizer.ggml.merges", merges);
    auto set_id = [&](const char* key, const std::string& text) {
        for (TokenId i = 0; i < n; ++i) {
            if (tokens[static_cast<size_t>(i)] == text) {
                w.set_u32(key, static_cast<uint32_t>(i));
                return;
            }
        }
    };
    set_id("tokenizer.ggml.bos_token_id", o.pre == "qwen2" ? "<|endoftext|>" : "<|begin_of_text|>");
    set_id("tokenizer.ggml.eos_token_id", o.pre == "qwen2" ? "<|im_end|>" : "<|end_of_text|>");
    w.set_bool("tokenizer.ggml.add_bos_token", o.pre != "qwen2");
    pagoda::Status st = w.write(o.output);
    if (!st.is_ok()) {
        std::fprintf(stderr, "%s\n", st.to_string().c_str());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    Options o;
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](std::string& dst) {
            if (i + 1 >= argc) return false;
            dst = argv[++i];
            return true;
        };
        bool ok = true;
        if (a == "--gguf")
            ok = value(o.gguf);
        else if (a == "--tokenizer")
            ok = value(o.tokenizer);
        else if (a == "--input")
            ok = value(o.input);
        else if (a == "--output")
            ok = value(o.output);
        else if (a == "--pre")
            ok = value(o.pre);
        else if (a == "--add-special")
            o.add_special = true;
        else if (a == "--parse-special")
            o.parse_special = true;
        else
            ok = false;
        if (!ok) return usage();
    }
    try {
        if (o.mode == "encode" && (o.gguf.empty() != o.tokenizer.empty()) && !o.input.empty() && !o.output.empty()) {
            return run_encode(o);
        }
        if (o.mode == "gguf-from-hf" && !o.tokenizer.empty() && !o.pre.empty() && !o.output.empty()) {
            return run_gguf_from_hf(o);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pagoda-tokenizer-dump: %s\n", e.what());
        return 1;
    }
    return usage();
}
