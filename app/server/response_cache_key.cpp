#include "server/response_cache_key.h"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>

#include "grammar/grammar.h"
#include "server/served_model.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::server {

using Json = nlohmann::json;  // std::map objects: keys come out sorted, whatever order they went in

namespace {

// Bumped when the meaning of a key or the stored payload changes, so old entries are
// never read by a server that would misread them.
constexpr int kKeyVersion = 2;  // 2: the output grammar

Json canonical_sampling(const SamplingParams& s) {
    Json j = Json::object();
    // Every temperature <= 0 is the same greedy argmax.
    j["temperature"] = s.temperature <= 0.0f ? 0.0 : static_cast<double>(s.temperature);
    j["top_k"] = s.top_k;
    j["top_p"] = s.top_p;
    j["min_p"] = s.min_p;
    j["repetition_penalty"] = s.repetition_penalty;
    j["presence_penalty"] = s.presence_penalty;
    j["frequency_penalty"] = s.frequency_penalty;
    // The biases are added per token: their order in the request does not matter.
    std::vector<std::pair<TokenId, float>> bias = s.logit_bias;
    std::stable_sort(bias.begin(), bias.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Json b = Json::array();
    for (const auto& [token, value] : bias) b.push_back(Json::array({token, value}));
    j["logit_bias"] = std::move(b);
    j["seed"] = s.seed ? Json(*s.seed) : Json(nullptr);
    j["max_tokens"] = s.max_tokens;
    j["stop_token_ids"] = s.stop_token_ids;
    j["stop"] = s.stop;
    j["ignore_eos"] = s.ignore_eos;
    j["n"] = s.n;
    j["logprobs"] = s.logprobs;
    j["top_logprobs"] = s.logprobs ? s.top_logprobs : 0;
    j["grammar"] = s.grammar ? Json(grammar::grammar_source(*s.grammar)) : Json(nullptr);
    return j;
}

}  // namespace

bool is_deterministic(const SamplingParams& sampling) {
    return sampling.temperature <= 0.0f || sampling.seed.has_value();
}

std::string model_cache_identity(const ServedModel& model) {
    Json j = Json::object();
    j["id"] = model.id;
    std::error_code ec;
    const uintmax_t size = model.path.empty() ? 0 : std::filesystem::file_size(model.path, ec);
    j["file_bytes"] = ec ? 0 : size;
    const Tokenizer* tok = model.engine ? model.engine->tokenizer() : nullptr;
    j["vocab"] = tok ? tok->vocab_size() : 0;
    j["max_model_len"] = model.engine ? model.engine->max_model_len() : 0;
    return j.dump();
}

std::optional<Json> canonical_cache_request(std::string_view kind, const std::string& model_identity,
                                            const std::vector<std::string>& adapters,
                                            const std::vector<Request>& requests) {
    if (requests.empty()) return std::nullopt;
    Json reqs = Json::array();
    for (const Request& r : requests) {
        if (!is_deterministic(r.sampling) || r.return_prompt_logits) return std::nullopt;
        Json j = Json::object();
        j["prompt"] = r.prompt;
        j["sampling"] = canonical_sampling(r.sampling);
        j["adapter_id"] = r.adapter_id;
        // The adapter stack (ids and scales): a set, so sorted by id.
        std::vector<AdapterRef> stack = r.adapters;
        std::sort(stack.begin(), stack.end(), [](const AdapterRef& a, const AdapterRef& b) { return a.id < b.id; });
        Json adapters_j = Json::array();
        for (const AdapterRef& a : stack) adapters_j.push_back(Json::array({a.id, a.scale}));
        j["adapters"] = std::move(adapters_j);
        reqs.push_back(std::move(j));
    }
    Json c = Json::object();
    c["version"] = kKeyVersion;
    c["kind"] = std::string(kind);
    c["model"] = model_identity;
    c["adapters"] = adapters;
    c["requests"] = std::move(reqs);
    return c;
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 15]);
    }
    return out;
}

std::string response_cache_key(const Json& canonical) {
    // Strict: two stop strings that are not UTF-8 must not collapse into one key through
    // replacement characters. Such a request is simply not cached ("" key).
    try {
        return sha256_hex(canonical.dump());
    } catch (const Json::exception&) {
        return {};
    }
}

}  // namespace pagoda::server
