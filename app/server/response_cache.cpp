#include "server/response_cache.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "server/openai_request.h"
#include "server/redis_response_cache.h"
#include "server/sqlite_response_cache.h"

namespace pagoda::server {

using Json = nlohmann::json;

namespace {

// Payload layout (version 1), compact because entries travel to Redis on every hit:
// {"v":1,"slots":[{"r":"stop","sr":["stop",...],"u":[prompt,cached,completion],
//   "s":[{"f":"stop"|null,"d":[{"t":text,"i":[ids],"l":[[id,lp,[[id,lp],...]],...]}]}]}]}
constexpr int kPayloadVersion = 1;

std::optional<FinishReason> reason_from(const Json& j) {
    if (!j.is_string()) return std::nullopt;
    const std::string& s = j.get_ref<const std::string&>();
    if (s == "stop") return FinishReason::stop;
    if (s == "length") return FinishReason::length;
    if (s == "cancelled") return FinishReason::cancelled;
    if (s == "error") return FinishReason::error;
    return std::nullopt;
}

// -inf (a token the model rules out) has no JSON spelling: it is stored as null.
Json logprob_json(float v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
float logprob_from(const Json& j) {
    if (j.is_null()) return -std::numeric_limits<float>::infinity();
    return j.get<float>();
}

TokenId token_from(const Json& j) {
    const int64_t v = j.get<int64_t>();
    if (v < 0 || v > std::numeric_limits<int32_t>::max()) throw std::out_of_range("token id");
    return static_cast<TokenId>(v);
}

std::string metric_line(const std::string& name, const std::string& labels, int64_t v) {
    return name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
}

}  // namespace

std::optional<std::string> CachedGeneration::serialize() const {
    Json slots_j = Json::array();
    for (const CachedSlot& slot : request_slots) {
        Json samples = Json::array();
        for (const CachedSample& sample : slot.samples) {
            Json deltas = Json::array();
            for (const CachedDelta& d : sample.deltas) {
                Json lps = Json::array();
                for (const SampledLogprobs& lp : d.logprobs) {
                    Json top = Json::array();
                    for (const TokenLogprob& t : lp.top) top.push_back(Json::array({t.token, logprob_json(t.logprob)}));
                    lps.push_back(Json::array({lp.token, logprob_json(lp.logprob), std::move(top)}));
                }
                Json dj = Json::object();
                dj["t"] = d.text;
                dj["i"] = d.token_ids;
                if (!lps.empty()) dj["l"] = std::move(lps);
                deltas.push_back(std::move(dj));
            }
            Json sj = Json::object();
            sj["f"] = sample.finish ? Json(finish_reason_name(*sample.finish)) : Json(nullptr);
            sj["d"] = std::move(deltas);
            samples.push_back(std::move(sj));
        }
        Json reasons = Json::array();
        for (FinishReason r : slot.sample_reasons) reasons.push_back(finish_reason_name(r));
        Json sl = Json::object();
        sl["r"] = finish_reason_name(slot.reason);
        sl["sr"] = std::move(reasons);
        sl["u"] =
            Json::array({slot.usage.prompt_tokens, slot.usage.cached_prompt_tokens, slot.usage.completion_tokens});
        sl["s"] = std::move(samples);
        slots_j.push_back(std::move(sl));
    }
    Json root = Json::object();
    root["v"] = kPayloadVersion;
    root["slots"] = std::move(slots_j);
    try {
        // Strict UTF-8: a replacement character would change the text on a hit.
        return root.dump();
    } catch (const Json::exception&) {
        return std::nullopt;
    }
}

std::optional<CachedGeneration> CachedGeneration::parse(std::string_view payload) {
    ParseLimits limits;
    limits.max_body_bytes = 256u << 20;
    limits.max_depth = 16;
    auto parsed = parse_json_body(payload, limits);
    if (!parsed) return std::nullopt;
    try {
        const nlohmann::ordered_json& root = parsed.value();
        if (!root.is_object() || root.value("v", 0) != kPayloadVersion) return std::nullopt;
        CachedGeneration g;
        for (const auto& sl : root.at("slots")) {
            CachedSlot slot;
            auto reason = reason_from(sl.at("r"));
            if (!reason) return std::nullopt;
            slot.reason = *reason;
            for (const auto& r : sl.at("sr")) {
                auto sr = reason_from(r);
                if (!sr) return std::nullopt;
                slot.sample_reasons.push_back(*sr);
            }
            const auto& u = sl.at("u");
            if (!u.is_array() || u.size() != 3) return std::nullopt;
            slot.usage.prompt_tokens = u.at(0).get<int32_t>();
            slot.usage.cached_prompt_tokens = u.at(1).get<int32_t>();
            slot.usage.completion_tokens = u.at(2).get<int32_t>();
            for (const auto& sj : sl.at("s")) {
                CachedSample sample;
                if (!sj.at("f").is_null()) {
                    sample.finish = reason_from(sj.at("f"));
                    if (!sample.finish) return std::nullopt;
                }
                for (const auto& dj : sj.at("d")) {
                    CachedDelta d;
                    d.text = dj.at("t").get<std::string>();
                    for (const auto& id : dj.at("i")) d.token_ids.push_back(token_from(id));
                    if (dj.contains("l")) {
                        for (const auto& lj : dj.at("l")) {
                            if (!lj.is_array() || lj.size() != 3) return std::nullopt;
                            SampledLogprobs lp;
                            lp.token = token_from(lj.at(0));
                            lp.logprob = logprob_from(lj.at(1));
                            for (const auto& tj : lj.at(2)) {
                                if (!tj.is_array() || tj.size() != 2) return std::nullopt;
                                lp.top.push_back(TokenLogprob{token_from(tj.at(0)), logprob_from(tj.at(1))});
                            }
                            d.logprobs.push_back(std::move(lp));
                        }
                    }
                    sample.deltas.push_back(std::move(d));
                }
                slot.samples.push_back(std::move(sample));
            }
            g.request_slots.push_back(std::move(slot));
        }
        return g;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string ResponseCache::render_metrics() const {
    const CacheCounters& c = counters_;
    std::string out;
    out += "# HELP pagoda_response_cache_requests_total Generation requests by response-cache outcome.\n";
    out += "# TYPE pagoda_response_cache_requests_total counter\n";
    out += metric_line("pagoda_response_cache_requests_total", "result=\"hit\"", c.hits.load());
    out += metric_line("pagoda_response_cache_requests_total", "result=\"miss\"", c.misses.load());
    out += metric_line("pagoda_response_cache_requests_total", "result=\"bypass\"", c.bypassed.load());
    out += "# HELP pagoda_response_cache_stores_total Responses written to the response cache.\n";
    out += "# TYPE pagoda_response_cache_stores_total counter\n";
    out += metric_line("pagoda_response_cache_stores_total", "", c.stores.load());
    out += "# HELP pagoda_response_cache_store_failures_total Responses not cached (too large, backend down).\n";
    out += "# TYPE pagoda_response_cache_store_failures_total counter\n";
    out += metric_line("pagoda_response_cache_store_failures_total", "", c.store_failures.load());
    return out;
}

Result<std::string> default_response_cache_path() {
    namespace fs = std::filesystem;
    fs::path base;
    const char* xdg = std::getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/') {
        base = xdg;
    } else {
        const char* home = std::getenv("HOME");
        if (!home || home[0] != '/')
            return not_found("no home directory: set XDG_DATA_HOME or HOME, or give --cache sqlite:PATH");
        base = fs::path(home) / ".local" / "share";
    }
    return (base / "pagoda" / "response-cache.db").string();
}

Result<std::shared_ptr<ResponseCache>> open_response_cache(const std::string& spec, const ResponseCacheConfig& config) {
    if (spec == "sqlite" || spec.rfind("sqlite:", 0) == 0) {
        std::string path = spec.size() > 7 ? spec.substr(7) : std::string();
        if (path.empty()) {
            auto p = default_response_cache_path();
            if (!p) return p.status();
            path = p.value();
        }
        auto cache = SqliteResponseCache::open(path, config);
        if (!cache) return cache.status();
        return std::shared_ptr<ResponseCache>(std::move(cache.value()));
    }
    if (spec.rfind("redis://", 0) == 0) {
        auto cache = RedisResponseCache::open(spec, config);
        if (!cache) return cache.status();
        return std::shared_ptr<ResponseCache>(std::move(cache.value()));
    }
    return invalid_argument("unknown response cache '" + spec +
                            "': use off, sqlite, sqlite:PATH or redis://host:port[/db]");
}

}  // namespace pagoda::server
