// pagoda-tokenizer-bench: Pagoda's tokenizer.json encoding speed, the Pagoda side of
// bench/tokenizer/compare.sh (the other side is tokenizer_bench.mjs, @huggingface/tokenizers).
//
//   pagoda-tokenizer-bench --tokenizer tokenizer.json --corpus texts.json [--reps N] [--json]
//
// texts.json is a JSON array of strings (compare.sh writes it from the parity corpus
// generator). Each text is encoded on its own, with add_special and parse_special on (what
// @huggingface/tokenizers' encode() does by default). One untimed warm-up pass, then --reps
// timed passes over the whole corpus; MB/s counts the texts' UTF-8 bytes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/tokenizer.h"

namespace {

using Json = nlohmann::json;

struct Options {
    std::string tokenizer, corpus;
    int reps = 5;
    bool json = false;
};

int usage() {
    std::fprintf(stderr,
                 "usage: pagoda-tokenizer-bench --tokenizer tokenizer.json --corpus texts.json [--reps N] [--json]\n");
    return 2;
}

bool parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        std::string v;
        if (a == "--tokenizer") {
            if (!value(o.tokenizer)) return false;
        } else if (a == "--corpus") {
            if (!value(o.corpus)) return false;
        } else if (a == "--reps") {
            if (!value(v)) return false;
            o.reps = std::atoi(v.c_str());
            if (o.reps < 1) return false;
        } else if (a == "--json") {
            o.json = true;
        } else {
            return false;
        }
    }
    return !o.tokenizer.empty() && !o.corpus.empty();
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, o)) return usage();

    const auto load_start = std::chrono::steady_clock::now();
    auto tok = pagoda::load_hf_tokenizer(o.tokenizer);
    if (!tok) {
        std::fprintf(stderr, "%s\n", tok.status().to_string().c_str());
        return 1;
    }
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const pagoda::Tokenizer& t = **tok;

    std::ifstream in(o.corpus, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot open %s\n", o.corpus.c_str());
        return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const Json parsed = Json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_array()) {
        std::fprintf(stderr, "%s: expected a JSON array of strings\n", o.corpus.c_str());
        return 1;
    }
    std::vector<std::string> texts;
    size_t bytes = 0;
    for (const auto& item : parsed) {
        if (!item.is_string()) continue;
        texts.push_back(item.get<std::string>());
        bytes += texts.back().size();
    }

    // Returns the token count so the work cannot be optimized away.
    auto pass = [&]() {
        size_t tokens = 0;
        for (const std::string& text : texts) tokens += t.encode(text, true, true).size();
        return tokens;
    };
    const size_t tokens = pass();  // warm-up
    std::vector<double> mbps;
    for (int r = 0; r < o.reps; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const size_t n = pass();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (n != tokens) {
            std::fprintf(stderr, "token count changed between passes (%zu vs %zu)\n", n, tokens);
            return 1;
        }
        mbps.push_back(static_cast<double>(bytes) / 1e6 / std::max(s, 1e-9));
    }
    double mean = 0;
    for (double x : mbps) mean += x;
    mean /= static_cast<double>(mbps.size());
    double var = 0;
    for (double x : mbps) var += (x - mean) * (x - mean);
    const double stddev = mbps.size() > 1 ? std::sqrt(var / static_cast<double>(mbps.size() - 1)) : 0.0;
    const double best = *std::max_element(mbps.begin(), mbps.end());

    if (o.json) {
        const Json out = {{"engine", "pagoda"},          {"tokenizer", o.tokenizer}, {"texts", texts.size()},
                          {"bytes", bytes},              {"tokens", tokens},         {"reps", o.reps},
                          {"load_seconds", load_seconds}, {"mb_per_second", mean},   {"stddev", stddev},
                          {"best_mb_per_second", best}};
        std::printf("%s\n", out.dump().c_str());
    } else {
        std::printf("pagoda: %s\n  %zu texts, %zu bytes, %zu tokens; load %.3f s\n  encode %.2f ± %.2f MB/s (best %.2f, %d reps)\n",
                    o.tokenizer.c_str(), texts.size(), bytes, tokens, load_seconds, mean, stddev, best, o.reps);
    }
    return 0;
}
