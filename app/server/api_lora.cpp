// LoRA adapters in the API: "model" resolution, their /v1/models entries, and vLLM's
// runtime endpoints POST /v1/load_lora_adapter and /v1/unload_lora_adapter (same request
// fields, same plain-text success bodies, 400 for a bad request or file, 404 for an
// unknown adapter). The endpoints are off unless `pagoda serve --allow-lora-loading`
// (they read files the server can see); the API key, when set, guards them like every route.
#include <ctime>

#include "server/api_service.h"

namespace pagoda::server {

using Json = nlohmann::ordered_json;

namespace {

// The body as a JSON object, or the 400 that says why not.
ApiResult<Json> parse_object(std::string_view body) {
    Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_request("The request body is not valid JSON");
    if (!j.is_object()) return invalid_request("The request body must be a JSON object");
    return j;
}

// An optional string field; an error when present with another type.
ApiResult<std::string> string_field(const Json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return std::string();
    if (!it->is_string()) return invalid_param(name, std::string("'") + name + "' must be a string");
    return it->get<std::string>();
}

HttpReply text_reply(const std::string& text) {
    HttpReply r;
    r.status = 200;
    r.content_type = "text/plain; charset=utf-8";
    r.body = text;
    return r;
}

ApiError updates_disabled() {
    ApiError e;
    e.status = 403;
    e.type = "permission_error";
    e.code = "lora_updates_disabled";
    e.message = "Loading LoRA adapters at run time is off on this server (start it with --allow-lora-loading)";
    return e;
}

}  // namespace

ApiResult<ResolvedModel> ApiService::resolve_model(const std::string& requested, std::string_view body) {
    auto r = lora_->resolve(*models_, requested);
    // Pagoda's extension: "lora": [{"name": "a", "scale": 0.5}, ...] applies these adapters
    // of the model's base as well (a stack). The body parsed again only when it mentions it.
    if (!r || body.find("\"lora\"") == std::string_view::npos) return r;
    const Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("lora") || j["lora"].is_null()) return r;
    const Json& list = j["lora"];
    if (!list.is_array()) return invalid_param("lora", "'lora' must be an array of {\"name\", \"scale\"} objects");
    if (list.size() > 16) return invalid_param("lora", "at most 16 adapters may be stacked");
    ResolvedModel& m = r.value();
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string param = "lora[" + std::to_string(i) + "]";
        const Json& item = list[i];
        if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
            return invalid_param(param, param + " must be an object with a string \"name\"");
        }
        const std::string name = item["name"].get<std::string>();
        auto entry = lora_->find(name);
        if (!entry || entry->base != m.model->id) {
            return invalid_param(param, "no LoRA adapter '" + name + "' on the model '" + m.model->id + "'");
        }
        float scale = entry->scale;
        if (item.contains("scale") && !item["scale"].is_null()) {
            const Json& sv = item["scale"];
            if (!sv.is_number() || !(sv.get<double>() >= -100.0 && sv.get<double>() <= 100.0)) {
                return invalid_param(param + ".scale", "scale must be a number between -100 and 100");
            }
            scale = sv.get<float>();
        }
        auto id = lora_->ensure_loaded(*m.model->engine, *entry);
        if (!id) return server_error("The LoRA adapter '" + name + "' could not be loaded: " + id.status().message());
        for (const AdapterRef& a : m.adapters) {
            if (a.id == id.value()) return invalid_param(param, "the LoRA adapter '" + name + "' is applied twice");
        }
        m.adapters.push_back(AdapterRef{id.value(), scale});
        m.adapter_keys.push_back(lora_cache_identity(*entry, scale));
    }
    return r;
}

std::vector<Json> ApiService::lora_model_objects(const std::string& only) const {
    std::vector<Json> out;
    for (const LoraEntry& e : lora_->list()) {
        if (!only.empty() && only != e.name && only != e.base + ":" + e.name) continue;
        Json m = Json::object();
        m["id"] = e.name;
        m["object"] = "model";
        m["created"] = static_cast<int64_t>(0);
        m["owned_by"] = "pagoda";
        // vLLM's fields for adapters: the file it came from and the base model's id.
        m["root"] = e.path;
        m["parent"] = e.base;
        m["lora_scale"] = e.scale;
        bool loaded = false;
        for (const auto& model : models_->loaded_models()) {
            if (model->id == e.base && model->engine && model->engine->adapter_id(e.name)) loaded = true;
        }
        m["loaded"] = loaded;
        out.push_back(std::move(m));
    }
    return out;
}

HttpReply ApiService::load_lora_adapter(std::string_view body) {
    if (!options_.allow_lora_updates) return HttpReply::error(updates_disabled());
    auto j = parse_object(body);
    if (!j) return HttpReply::error(j.error());
    LoraEntry entry;
    auto name = string_field(j.value(), "lora_name");
    if (!name) return HttpReply::error(name.error());
    auto path = string_field(j.value(), "lora_path");
    if (!path) return HttpReply::error(path.error());
    auto base = string_field(j.value(), "base_model_name");
    if (!base) return HttpReply::error(base.error());
    entry.name = name.value();
    entry.path = path.value();
    entry.base = base.value();
    // "name" may also say the base: "BASE:NAME".
    if (const size_t colon = entry.name.find(':'); entry.base.empty() && colon != std::string::npos) {
        entry.base = entry.name.substr(0, colon);
        entry.name = entry.name.substr(colon + 1);
    }
    if (auto it = j.value().find("scale"); it != j.value().end() && !it->is_null()) {
        if (!it->is_number() || !(it->get<double>() >= -100.0 && it->get<double>() <= 100.0)) {
            return HttpReply::error(invalid_param("scale", "'scale' must be a number between -100 and 100"));
        }
        entry.scale = it->get<float>();
    }
    auto loaded = lora_->load(*models_, std::move(entry));
    if (!loaded) return HttpReply::error(loaded.error());
    return text_reply("Success: LoRA adapter '" + loaded->name + "' added successfully.");
}

HttpReply ApiService::unload_lora_adapter(std::string_view body) {
    if (!options_.allow_lora_updates) return HttpReply::error(updates_disabled());
    auto j = parse_object(body);
    if (!j) return HttpReply::error(j.error());
    auto name = string_field(j.value(), "lora_name");
    if (!name) return HttpReply::error(name.error());
    std::string n = name.value();
    // "BASE:NAME" names the same adapter.
    if (const size_t colon = n.find(':'); colon != std::string::npos && !lora_->find(n)) n = n.substr(colon + 1);
    auto removed = lora_->unload(*models_, n);
    if (!removed) return HttpReply::error(removed.error());
    return text_reply("Success: LoRA adapter '" + removed->name + "' removed successfully.");
}

}  // namespace pagoda::server
