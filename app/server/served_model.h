// A model the server can answer with: its Engine plus what the API layer needs beside
// it (chat template, fill-in-the-middle tokens, how its tool calls are spelled).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pagoda/engine.h"
#include "pagoda/types.h"
#include "server/tool_calls.h"
#include "tokenizer/chat_template.h"

namespace pagoda {
class GgufFile;
}

namespace pagoda::server {

struct FimTokens {
    TokenId prefix = -1, suffix = -1, middle = -1;
    bool available() const { return prefix >= 0 && suffix >= 0 && middle >= 0; }
};

// What the API layer reads from the GGUF besides the weights.
struct ModelTraits {
    std::optional<ChatTemplate> chat_template;  // ChatML when the model ships none
    std::string template_error;                 // why chat_template is unset
    FimTokens fim;
    ToolCallFormat tool_format = ToolCallFormat::none;
};
ModelTraits read_model_traits(const GgufFile& gguf);

struct ServedModel {
    std::string id;    // the API's model name: the file's base name without .gguf
    std::string path;  // "" for models registered in memory
    std::unique_ptr<Engine> engine;
    ModelTraits traits;
    int64_t created = 0;  // unix seconds when it was loaded
};

}  // namespace pagoda::server
