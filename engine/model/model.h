// A loaded model: the GGUF file (mapped), its config, its weights on a backend, the
// transformer over them and the tokenizer the file describes. A small facade so the CLI,
// benchmarks and the engine load models the same way.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "model/gguf_file.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/transformer.h"
#include "pagoda/status.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

class Model {
public:
    // Opens and validates `path`, uploads the weights to `backend` (which must outlive
    // the Model and must not be used for weights after the Model is gone). A tokenizer
    // that fails to load does not fail the model: tokenizer() is then null and
    // tokenizer_status() says why (token-id workflows still run).
    static Result<std::unique_ptr<Model>> load(const std::string& path, Backend& backend);
    // The same from an already opened file (tests build GGUFs in memory).
    static Result<std::unique_ptr<Model>> load(std::unique_ptr<GgufFile> gguf, Backend& backend);

    ~Model();
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    const GgufFile& gguf() const { return *gguf_; }
    const ModelConfig& config() const { return config_; }
    const ModelWeights& weights() const { return *weights_; }
    Transformer& transformer() { return *transformer_; }
    const Tokenizer* tokenizer() const { return tokenizer_.get(); }
    const Status& tokenizer_status() const { return tokenizer_status_; }

private:
    Model() = default;

    std::unique_ptr<GgufFile> gguf_;
    ModelConfig config_;
    std::unique_ptr<ModelWeights> weights_;
    std::unique_ptr<Transformer> transformer_;
    std::unique_ptr<Tokenizer> tokenizer_;
    Status tokenizer_status_;
};

}  // namespace pagoda
