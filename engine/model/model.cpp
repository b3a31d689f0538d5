#include "model/model.h"

namespace pagoda {

Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::load(const std::string& path, Backend& backend) {
    auto gguf = GgufFile::open(path);
    if (!gguf) return gguf.status();
    auto model = load(std::move(gguf.value()), backend);
    if (!model) {
        const Status s = model.status();
        return Status::error(s.code(), path + ": " + s.message());
    }
    return model;
}

Result<std::unique_ptr<Model>> Model::load(std::unique_ptr<GgufFile> gguf, Backend& backend) {
    if (!gguf) return invalid_argument("no GGUF file");
    std::unique_ptr<Model> m(new Model());
    m->gguf_ = std::move(gguf);
    auto config = parse_model_config(*m->gguf_);
    if (!config) return config.status();
    m->config_ = std::move(config.value());
    auto weights = ModelWeights::load(*m->gguf_, m->config_, backend);
    if (!weights) return weights.status();
    m->weights_ = std::move(weights.value());
    m->transformer_ = std::make_unique<Transformer>(m->config_, *m->weights_, backend);
    auto tokenizer = load_tokenizer(*m->gguf_);
    if (tokenizer) {
        m->tokenizer_ = std::move(tokenizer.value());
    } else {
        m->tokenizer_status_ = tokenizer.status();
    }
    return m;
}

}  // namespace pagoda
