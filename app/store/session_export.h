// A chat session written out for the user: Markdown (the branch on screen, for reading and
// sharing) and JSON (every branch with parent links, for tools and re-import).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store_types.h"

namespace pagoda::store {

struct SessionExport {
    Session session;
    std::optional<Model> model;  // the session's model, when it is still in the library
    std::map<std::string, std::string> settings;
    std::vector<Message> messages;     // every message, oldest first
    std::vector<int64_t> active_path;  // ids, root to active leaf
};

// "# Title", a short metadata list, the system prompt, then one "## User" / "## Assistant"
// section per message on the active path. Message text is Markdown already and goes in as is.
std::string session_to_markdown(const SessionExport& data);

// {"format":"pagoda.chat_session","format_version":1,"title":...,"model":{...}|null,
//  "sampling_preset":{...},"adapters":[...],"settings":{...},"active_path":[ids],
//  "messages":[{"id","parent_id","role","content","created_at","completed",
//               "prompt_tokens","completion_tokens","tokens_per_s"}...]}
// Times are milliseconds since the Unix epoch. Invalid UTF-8 in text becomes U+FFFD.
std::string session_to_json(const SessionExport& data);

// "2024-05-01 12:34:56 UTC"
std::string format_utc(int64_t unix_ms);

}  // namespace pagoda::store
