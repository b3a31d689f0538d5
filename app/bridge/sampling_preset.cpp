#include "bridge/sampling_preset.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "bridge/structured_output.h"

namespace pagoda::bridge {

namespace {

SamplingPreset makePreset(const char* id, const char* label, const char* description, float temperature,
                          int32_t topK, float topP, float minP, float repetitionPenalty) {
    SamplingPreset p;
    p.id = QString::fromLatin1(id);
    p.label = QString::fromLatin1(label);
    p.description = QString::fromLatin1(description);
    p.params.temperature = temperature;
    p.params.top_k = topK;
    p.params.top_p = topP;
    p.params.min_p = minP;
    p.params.repetition_penalty = repetitionPenalty;
    // A chat reply runs until the model ends it or the user stops it; the context bounds it.
    p.params.max_tokens = -1;
    return p;
}

// Reads a number field into `out` when present; an error when it is not a number or is
// outside [lo, hi].
template <typename T>
Status readNumber(const nlohmann::json& j, const char* key, double lo, double hi, T& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return Status::ok();
    if (!it->is_number()) return invalid_argument(std::string("sampling preset: '") + key + "' must be a number");
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi)) {
        return invalid_argument(std::string("sampling preset: '") + key + "' = " + std::to_string(v) +
                                " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    out = static_cast<T>(v);
    return Status::ok();
}

}  // namespace

const QVector<SamplingPreset>& samplingPresets() {
    static const QVector<SamplingPreset> presets = {
        makePreset("balanced", "Balanced", "Varied but focused replies (temperature 0.7, top-p 0.95)", 0.7f, 40,
                   0.95f, 0.05f, 1.0f),
        makePreset("precise", "Precise", "Close to the most likely reply (temperature 0.2)", 0.2f, 40, 0.9f, 0.0f,
                   1.0f),
        makePreset("creative", "Creative", "More surprising replies (temperature 1.0, min-p 0.02)", 1.0f, 0, 1.0f,
                   0.02f, 1.0f),
        makePreset("greedy", "Greedy", "Always the most likely token: the same prompt gives the same reply", 0.0f,
                   0, 1.0f, 0.0f, 1.0f),
    };
    return presets;
}

const SamplingPreset& defaultSamplingPreset() { return samplingPresets().front(); }

const SamplingPreset& samplingPresetById(const QString& id) {
    for (const SamplingPreset& p : samplingPresets()) {
        if (p.id == id) return p;
    }
    return defaultSamplingPreset();
}

QString samplingPresetId(const std::string& json) {
    const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
        auto it = j.find("preset");
        if (it != j.end() && it->is_string()) {
            const QString id = QString::fromStdString(it->get<std::string>());
            if (samplingPresetById(id).id == id) return id;
        }
    }
    return defaultSamplingPreset().id;
}

Result<SamplingParams> parseSamplingPreset(const std::string& json) {
    const nlohmann::json j = nlohmann::json::parse(json.empty() ? std::string("{}") : json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return invalid_argument("sampling preset: not a JSON object");
    SamplingParams p = samplingPresetById(samplingPresetId(json)).params;
    PAGODA_RETURN_IF_ERROR(readNumber(j, "temperature", 0.0, 100.0, p.temperature));
    PAGODA_RETURN_IF_ERROR(readNumber(j, "top_k", 0.0, 1e9, p.top_k));
    PAGODA_RETURN_IF_ERROR(readNumber(j, "top_p", 0.0, 1.0, p.top_p));
    PAGODA_RETURN_IF_ERROR(readNumber(j, "min_p", 0.0, 1.0, p.min_p));
    PAGODA_RETURN_IF_ERROR(readNumber(j, "repetition_penalty", 0.01, 100.0, p.repetition_penalty));
    PAGODA_RETURN_IF_ERROR(readNumber(j, "presence_penalty", -2.0, 2.0, p.presence_penalty));
    PAGODA_RETURN_IF_ERROR(readNumber(j, "frequency_penalty", -2.0, 2.0, p.frequency_penalty));
    PAGODA_RETURN_IF_ERROR(readNumber(j, "max_tokens", -1.0, 1e9, p.max_tokens));
    if (p.max_tokens == 0) return invalid_argument("sampling preset: 'max_tokens' must be -1 or positive");
    if (auto it = j.find("ignore_eos"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) return invalid_argument("sampling preset: 'ignore_eos' must be true or false");
        p.ignore_eos = it->get<bool>();
    }
    if (auto it = j.find("seed"); it != j.end() && !it->is_null()) {
        if (!it->is_number_unsigned()) return invalid_argument("sampling preset: 'seed' must be a non-negative integer");
        p.seed = it->get<uint64_t>();
    }
    PAGODA_RETURN_IF_ERROR(readStructuredOutput(json, p));
    return p;
}

std::string samplingPresetJson(const QString& id) {
    const SamplingPreset& preset = samplingPresetById(id);
    const SamplingParams& p = preset.params;
    // Floats go out rounded, so the JSON says 0.7 and not 0.699999988.
    auto r = [](float f) { return std::round(static_cast<double>(f) * 1e4) / 1e4; };
    nlohmann::ordered_json j;
    j["preset"] = preset.id.toStdString();
    j["temperature"] = r(p.temperature);
    j["top_k"] = p.top_k;
    j["top_p"] = r(p.top_p);
    j["min_p"] = r(p.min_p);
    j["repetition_penalty"] = r(p.repetition_penalty);
    j["max_tokens"] = p.max_tokens;
    return j.dump();
}

}  // namespace pagoda::bridge
