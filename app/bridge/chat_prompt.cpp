#include "bridge/chat_prompt.h"

#include "server/prompt_builder.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::bridge {

bool usesChatTemplate(const server::ServedModel& model) {
    return model.traits.chat_template.has_value() && !model.traits.chat_template->is_fallback();
}

std::string plainContinuationText(const QVector<ChatTurn>& turns) {
    std::string text;
    QString previousRole;
    for (const ChatTurn& t : turns) {
        if (t.content.isEmpty()) continue;
        // The reply continues the user's words directly ("Once upon a time" -> ", there was");
        // a new user message after a reply starts a new paragraph.
        if (!text.empty() && (previousRole == QLatin1String("system") ||
                              (previousRole == QLatin1String("assistant") && t.role != QLatin1String("assistant")))) {
            text += "\n\n";
        }
        text += t.content.toStdString();
        previousRole = t.role;
    }
    return text;
}

Result<std::vector<TokenId>> buildChatPrompt(const server::ServedModel& model, const QVector<ChatTurn>& turns) {
    if (!model.engine) return invalid_argument("no model is loaded");
    const Tokenizer* tok = model.engine->tokenizer();
    if (!tok) return unsupported("the model '" + model.id + "' has no usable tokenizer, so it cannot chat");
    if (usesChatTemplate(model)) {
        nlohmann::ordered_json messages = nlohmann::ordered_json::array();
        for (const ChatTurn& t : turns) {
            messages.push_back({{"role", t.role.toStdString()}, {"content", t.content.toStdString()}});
        }
        auto ids = server::build_chat_prompt(model, messages, nullptr, nlohmann::ordered_json::object(),
                                             /*add_generation_prompt=*/true);
        if (!ids) return invalid_argument(ids.error().message);
        if (ids->empty()) return invalid_argument("the chat template produced an empty prompt");
        return std::move(ids.value());
    }
    const std::string text = plainContinuationText(turns);
    if (text.empty()) return invalid_argument("there is no text to continue: write a message first");
    std::vector<TokenId> ids = tok->encode(text, /*add_special=*/true, /*parse_special=*/false);
    if (ids.empty()) return invalid_argument("the message has no tokens");
    return ids;
}

}  // namespace pagoda::bridge
