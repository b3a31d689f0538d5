// Plain values the bridge hands to the GUI through queued signals. They are copied across
// threads, so they hold no pointers into engine state.
#pragma once

#include <QMetaType>
#include <QString>
#include <QVector>
#include <functional>
#include <memory>
#include <string>

#include "pagoda/request.h"
#include "pagoda/status.h"

namespace pagoda {
class Backend;
}

namespace pagoda::bridge {

// The device a model runs on, and why that one ("no CUDA driver found; using the CPU").
struct BackendChoice {
    std::unique_ptr<Backend> backend;
    std::string reason;
};
// Called on the bridge's worker thread, once per model load.
using BackendFactory = std::function<Result<BackendChoice>()>;
// The CPU backend (n_threads <= 0: one per physical core). The desktop passes a factory
// that prefers a GPU (see ui/desktop_main.cpp).
BackendFactory cpuBackendFactory(int nThreads = 0);

struct LoadedModelInfo {
    qint64 modelId = 0;  // the library id the GUI asked for (0: not from the library)
    QString path;
    QString name;          // general.name or the file's base name
    QString architecture;  // "llama", "qwen2", ...
    QString device;        // Engine::backend_name()
    QString deviceReason;  // why that device
    int contextLength = 0;  // tokens one conversation may use (Engine::max_model_len)
    bool hasChatTemplate = false;  // false: replies continue the text as is
    QString templateError;         // a template that exists but does not parse
    double loadSeconds = 0.0;
    qint64 kvCacheBytes = 0;
    // The device's memory right after loading (weights and KV cache are allocated up front),
    // for GPUs; 0 for the CPU.
    qint64 deviceMemoryUsedBytes = 0;
    qint64 deviceMemoryTotalBytes = 0;
};

struct EngineStatus {
    bool loaded = false;
    int running = 0;
    int waiting = 0;
    int kvBlocksUsed = 0;
    int kvBlocksTotal = 0;
    double generatedTokensPerSecond = 0.0;  // over the last few seconds
    double promptTokensPerSecond = 0.0;
    qint64 residentBytes = 0;  // this process's RAM (VmRSS); 0 when unknown
};

// A LoRA adapter from the library attached to a chat, with its strength.
struct AdapterAttachment {
    qint64 adapterId = 0;
    QString path;
    double scale = 1.0;
};

// One message of the conversation a reply continues.
struct ChatTurn {
    QString role;  // "system", "user", "assistant"
    QString content;
};

struct GenerationRequest {
    QVector<ChatTurn> messages;  // oldest first; a system prompt, if any, first
    SamplingParams sampling;
    // The Store message the reply streams into (written from the engine thread, so text
    // survives a GUI stall or a crash); 0: not persisted.
    qint64 persistMessageId = 0;
    // The chat's LoRA adapters (Session::adapters_json), loaded into the engine on demand
    // (EngineBridge::workerAdapterRefs); one that cannot load fails the reply before it starts.
    qint64 sessionId = 0;
    QVector<AdapterAttachment> adapters;
};

struct GenerationResult {
    quint64 ticket = 0;
    QString reason;   // "stop", "length", "cancelled", "error"
    QString message;  // why, for "error"
    qint64 persistMessageId = 0;
    int promptTokens = 0;
    int completionTokens = 0;
    double timeToFirstTokenSeconds = 0.0;
    double tokensPerSecond = 0.0;  // completion tokens over the time after the first one
};

}  // namespace pagoda::bridge

Q_DECLARE_METATYPE(pagoda::bridge::LoadedModelInfo)
Q_DECLARE_METATYPE(pagoda::bridge::EngineStatus)
Q_DECLARE_METATYPE(pagoda::bridge::GenerationResult)
