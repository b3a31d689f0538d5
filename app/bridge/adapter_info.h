// LoRA adapters for the library (the Adapters page): what an adapter file says about itself,
// and the JSON a chat session keeps its attached adapters in.
#pragma once

#include <QString>
#include <QVector>
#include <optional>
#include <string>
#include <vector>

#include "bridge/bridge_types.h"
#include "pagoda/status.h"
#include "store/store_types.h"

namespace pagoda::bridge {

// Reads an adapter's own metadata (untrusted): a GGUF LoRA (general.type "adapter",
// general.architecture), or a PEFT adapter (a folder with adapter_config.json, or a
// .safetensors file beside one). Fills path, name and base_architecture; the base model id
// is left for the caller to match against the library.
Result<store::NewAdapter> inspectAdapter(const QString& path);

// The base model an adapter probably belongs to: the library model with its architecture
// (the one named `preferredId` first, then the first by name); none when no model matches.
std::optional<int64_t> guessBaseModel(const store::NewAdapter& adapter, const std::vector<store::Model>& library,
                                      qint64 preferredId = 0);

// Session::adapters_json <-> attachments ([{"adapter_id", "scale", "path"}]). Unknown fields
// are ignored; entries without an adapter id are dropped; scales are clamped to [0, 2].
QVector<AdapterAttachment> parseAdapterAttachments(const std::string& json);
std::string adapterAttachmentsJson(const QVector<AdapterAttachment>& attachments);

}  // namespace pagoda::bridge
