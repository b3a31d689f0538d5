// Plain records the store reads and writes: models in the library, LoRA adapters, chat sessions
// and their messages. Times are milliseconds since the Unix epoch (UTC); ids are SQLite rowids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pagoda::store {

// A GGUF (or safetensors) model the user added to the library. Removing it from the library
// never touches the file itself.
struct NewModel {
    std::string path;  // unique key: adding the same path again refreshes the metadata
    std::string display_name;
    std::string architecture;
    int64_t parameter_count = 0;
    std::string quantization;  // "Q4_K_M", "F16", ... as the file reports it
    int64_t file_size = 0;     // bytes
    int64_t context_length = 0;
    bool has_chat_template = false;
};

struct Model : NewModel {
    int64_t id = 0;
    int64_t added_at = 0;
    std::optional<int64_t> last_used_at;
};

struct NewAdapter {
    std::string path;  // unique key, like models
    std::string name;
    std::optional<int64_t> base_model_id;  // the library model it was trained on, when known
    std::string base_architecture;         // from the adapter's own metadata ("llama", ...)
};

struct Adapter : NewAdapter {
    int64_t id = 0;
    int64_t added_at = 0;
};

struct NewSession {
    std::string title;
    std::string system_prompt;
    std::optional<int64_t> model_id;
    std::string sampling_preset_json = "{}";  // a JSON object: {"temperature":0.7,...}
    std::string adapters_json = "[]";         // a JSON array: [{"adapter_id":3,"scale":0.8},...]
};

struct Session : NewSession {
    int64_t id = 0;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    // The last message of the branch the user is looking at. Messages form a tree (parent
    // links); the "active path" is this leaf and its ancestors.
    std::optional<int64_t> active_leaf_id;
};

enum class Role { system, user, assistant, tool };

const char* role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

struct NewMessage {
    int64_t session_id = 0;
    // The message this one answers or follows. Unset: the session's current leaf (append to the
    // active branch); use `root = true` to start a new root explicitly.
    std::optional<int64_t> parent_id;
    bool root = false;
    Role role = Role::user;
    std::string content;
    bool completed = true;  // false for an assistant reply that is about to stream
};

// Filled in when generation ends.
struct MessageStats {
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    double tokens_per_s = 0.0;
};

struct Message {
    int64_t id = 0;
    int64_t session_id = 0;
    std::optional<int64_t> parent_id;
    Role role = Role::user;
    std::string content;
    int64_t created_at = 0;
    bool completed = true;
    MessageStats stats;
};

}  // namespace pagoda::store
