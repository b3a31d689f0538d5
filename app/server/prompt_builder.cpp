#include "server/prompt_builder.h"

#include "tokenizer/tokenizer.h"

namespace pagoda::server {

namespace {

std::vector<TokenId> encode_with_bos(const Tokenizer& tok, const std::string& text) {
    std::vector<TokenId> ids = tok.encode(text, /*add_special=*/false, /*parse_special=*/true);
    // Templates that write the BOS text themselves already produced it: never twice.
    const SpecialTokens& sp = tok.special();
    if (sp.add_bos && sp.bos >= 0 && (ids.empty() || ids.front() != sp.bos)) ids.insert(ids.begin(), sp.bos);
    return ids;
}

ApiError no_tokenizer(const ServedModel& model) {
    return invalid_request("The model '" + model.id + "' has no usable tokenizer; send token ids instead of text");
}

}  // namespace

ApiResult<std::vector<TokenId>> build_chat_prompt(const ServedModel& model, const nlohmann::ordered_json& messages,
                                                  const nlohmann::ordered_json& tools,
                                                  const nlohmann::ordered_json& variables,
                                                  bool add_generation_prompt, std::string* rendered) {
    const Tokenizer* tok = model.engine->tokenizer();
    if (!tok) return no_tokenizer(model);
    if (!model.traits.chat_template) {
        return invalid_request("The model '" + model.id +
                               "' has a chat template that cannot be used: " + model.traits.template_error);
    }
    ChatTemplateInputs in;
    in.messages = messages;
    in.tools = tools;
    in.add_generation_prompt = add_generation_prompt;
    if (variables.is_object()) in.variables = variables;
    auto text = model.traits.chat_template->render(in);
    if (!text) {
        // Templates reject conversations they do not support (roles out of order, ...).
        return invalid_param("messages", "The chat template could not render these messages: " +
                                             text.status().message());
    }
    if (rendered) *rendered = text.value();
    return encode_with_bos(*tok, text.value());
}

ApiResult<std::vector<TokenId>> build_completion_prompt(const ServedModel& model, const PromptInput& prompt,
                                                        const std::optional<std::string>& suffix) {
    const Tokenizer* tok = model.engine->tokenizer();
    if (suffix) {
        if (!model.traits.fim.available()) {
            return invalid_param("suffix", "The model '" + model.id +
                                               "' has no fill-in-the-middle tokens, so 'suffix' is not supported.");
        }
        if (!tok) return no_tokenizer(model);
        // PSM order: <PRE> prefix <SUF> suffix <MID>, as the FIM models are trained.
        std::vector<TokenId> ids;
        const SpecialTokens& sp = tok->special();
        if (sp.add_bos && sp.bos >= 0) ids.push_back(sp.bos);
        ids.push_back(model.traits.fim.prefix);
        if (prompt.is_tokens) {
            ids.insert(ids.end(), prompt.tokens.begin(), prompt.tokens.end());
        } else {
            auto p = tok->encode(prompt.text, false, false);
            ids.insert(ids.end(), p.begin(), p.end());
        }
        ids.push_back(model.traits.fim.suffix);
        auto s = tok->encode(*suffix, false, false);
        ids.insert(ids.end(), s.begin(), s.end());
        ids.push_back(model.traits.fim.middle);
        return ids;
    }
    if (prompt.is_tokens) return prompt.tokens;
    if (!tok) return no_tokenizer(model);
    return encode_with_bos(*tok, prompt.text);
}

SamplingParams to_sampling_params(const SamplingFields& f, int32_t default_max_tokens, bool logprobs,
                                  int32_t top_logprobs) {
    SamplingParams p;
    p.temperature = f.temperature.value_or(1.0f);
    p.top_p = f.top_p.value_or(1.0f);
    p.top_k = f.top_k.value_or(0);
    p.min_p = f.min_p.value_or(0.0f);
    p.repetition_penalty = f.repetition_penalty.value_or(1.0f);
    p.presence_penalty = f.presence_penalty;
    p.frequency_penalty = f.frequency_penalty;
    p.logit_bias = f.logit_bias;
    p.seed = f.seed;
    p.max_tokens = f.max_tokens.value_or(default_max_tokens);
    p.stop = f.stop;
    p.stop_token_ids = f.stop_token_ids;
    p.ignore_eos = f.ignore_eos;
    p.n = f.n;
    p.logprobs = logprobs;
    p.top_logprobs = logprobs ? top_logprobs : 0;
    p.grammar = f.grammar;
    return p;
}

ApiError submit_error(const Status& status, const std::string& prompt_param) {
    if (status.code() == ErrorCode::not_found) {
        // The request named a LoRA adapter that was unloaded after its name was resolved:
        // to the client that is a model that no longer exists.
        return model_not_found_because(status.message());
    }
    ApiError e = invalid_param(prompt_param, status.message());
    if (status.code() == ErrorCode::internal) {
        e = server_error(status.message(), 503);
    }
    return e;
}

}  // namespace pagoda::server
