// Named sampling presets a chat session can pick, stored in the session's
// sampling_preset_json as {"preset": "balanced", "temperature": 0.7, ...}: the named preset
// gives the defaults and any field present overrides it.
#pragma once

#include <QString>
#include <QStringList>
#include <string>

#include "pagoda/request.h"
#include "pagoda/status.h"

namespace pagoda::bridge {

struct SamplingPreset {
    QString id;     // "balanced"
    QString label;  // "Balanced"
    QString description;
    SamplingParams params;
};

// balanced (the default), precise, creative, greedy.
const QVector<SamplingPreset>& samplingPresets();
const SamplingPreset& defaultSamplingPreset();
// The preset with this id, or the default.
const SamplingPreset& samplingPresetById(const QString& id);

// Reads a session's preset JSON. "{}" or an unknown preset name gives the default preset;
// malformed JSON or out-of-range values are an error naming the field. A "json_schema"
// entry (structured_output.h) becomes the params' grammar.
Result<SamplingParams> parseSamplingPreset(const std::string& json);
// The preset id a session's JSON names ("balanced" when none).
QString samplingPresetId(const std::string& json);
// {"preset": id} plus the preset's values, so the stored session says what was used.
std::string samplingPresetJson(const QString& id);

}  // namespace pagoda::bridge
