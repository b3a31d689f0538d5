// Turns a conversation into the prompt token ids a reply continues.
//
// A model with a chat template gets the template's rendering (as the API server does).
// A model without one is treated as a base model: the conversation is continued as plain
// text (the system prompt, then each message, a blank line between an assistant reply and
// the next user message), which is what a story model like stories260K can do.
#pragma once

#include <QVector>
#include <string>
#include <vector>

#include "bridge/bridge_types.h"
#include "pagoda/status.h"
#include "server/served_model.h"

namespace pagoda::bridge {

// Whether replies use the model's own chat template (false: plain continuation).
bool usesChatTemplate(const server::ServedModel& model);

// The text a template-less model continues.
std::string plainContinuationText(const QVector<ChatTurn>& turns);

// Fails with a clear message when the model has no tokenizer, the template cannot render
// the conversation, or there is nothing to continue.
Result<std::vector<TokenId>> buildChatPrompt(const server::ServedModel& model, const QVector<ChatTurn>& turns);

}  // namespace pagoda::bridge
