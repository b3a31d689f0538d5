// `pagoda tokenize`: prints the token ids a model's tokenizer gives a text, separated by
// single spaces, on one line. Ids only, so the output can be compared with other tools.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "model/gguf_file.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::cli {

int run_tokenize(int argc, char** argv) {
    Args args("pagoda tokenize (--model PATH | --tokenizer PATH) --text TEXT [options]",
              "Print the token ids of TEXT under the tokenizer of a GGUF model or a Hugging Face\n"
              "tokenizer.json (tokenizer_config.json beside it is read too).");
    args.option("--model", "PATH", "GGUF file whose tokenizer to use");
    args.option("--tokenizer", "PATH", "Hugging Face tokenizer.json to use instead of --model");
    args.option("--text", "TEXT", "text to tokenize");
    args.flag("--no-bos", "do not add the BOS/EOS tokens the vocabulary asks for");
    args.flag("--parse-special", "text spelling a control token becomes that token");
    if (!args.parse(argc, argv)) return args.exit_code();
    if (args.has("--model") == args.has("--tokenizer")) {
        std::fprintf(stderr, "error: give exactly one of --model PATH and --tokenizer PATH\n\n%s", args.help().c_str());
        return 2;
    }
    if (!args.has("--text")) {
        std::fprintf(stderr, "error: --text TEXT is required\n\n%s", args.help().c_str());
        return 2;
    }

    Result<std::unique_ptr<Tokenizer>> tokenizer = Status::error(ErrorCode::internal, "no tokenizer");
    if (args.has("--tokenizer")) {
        tokenizer = load_hf_tokenizer(args.get("--tokenizer"));
    } else {
        Result<std::unique_ptr<GgufFile>> gguf = GgufFile::open(args.get("--model"));
        if (!gguf) {
            std::fprintf(stderr, "error: %s\n", gguf.status().to_string().c_str());
            return 1;
        }
        // The tokenizer keeps no reference into the file, so the file may close here.
        tokenizer = load_tokenizer(**gguf);
    }
    if (!tokenizer) {
        std::fprintf(stderr, "error: %s\n", tokenizer.status().to_string().c_str());
        return 1;
    }

    const std::string text = args.get("--text");
    const std::vector<TokenId> ids = (*tokenizer)->encode(text, !args.has("--no-bos"), args.has("--parse-special"));
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) line += ' ';
        line += std::to_string(ids[i]);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    return 0;
}

}  // namespace pagoda::cli
