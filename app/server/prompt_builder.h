// From parsed API requests to what the Engine runs: prompt token ids (chat template,
// BOS, fill-in-the-middle) and SamplingParams with the server's defaults.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pagoda/request.h"
#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/served_model.h"

namespace pagoda::server {

// Renders the conversation with the model's template and tokenizes it (special tokens
// in the template's text are parsed; BOS is added once when the vocabulary wants it).
// `rendered` receives the prompt text.
ApiResult<std::vector<TokenId>> build_chat_prompt(const ServedModel& model, const nlohmann::ordered_json& messages,
                                                  const nlohmann::ordered_json& tools,
                                                  const nlohmann::ordered_json& variables,
                                                  bool add_generation_prompt, std::string* rendered = nullptr);

// A /v1/completions prompt: token ids as given, or text tokenized with BOS; with a
// suffix, the model's FIM layout <PRE> prompt <SUF> suffix <MID> (400 without FIM tokens).
ApiResult<std::vector<TokenId>> build_completion_prompt(const ServedModel& model, const PromptInput& prompt,
                                                        const std::optional<std::string>& suffix);

// OpenAI defaults (temperature 1, top_p 1) over the request's fields. max_tokens unset:
// default_max_tokens (-1 = until the context is full).
SamplingParams to_sampling_params(const SamplingFields& fields, int32_t default_max_tokens, bool logprobs,
                                  int32_t top_logprobs);

// Engine::submit's refusal (prompt too long, token id out of range, ...) as a 400.
ApiError submit_error(const Status& status, const std::string& prompt_param);

}  // namespace pagoda::server
