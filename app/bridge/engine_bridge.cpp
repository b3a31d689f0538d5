#include "bridge/engine_bridge.h"

#include <unistd.h>

#include <QFileInfo>
#include <QTimer>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>

#include "backend/backend.h"
#include "backend/cpu/create_cpu_backend.h"
#include "bridge/chat_prompt.h"
#include "bridge/gguf_summary.h"
#include "model/gguf_file.h"
#include "model/model.h"
#include "model/model_config.h"
#include "server/served_model.h"
#include "store/store.h"

namespace pagoda::bridge {

BackendFactory cpuBackendFactory(int nThreads) {
    return [nThreads]() -> Result<BackendChoice> {
        BackendChoice choice;
        choice.backend = create_cpu_backend(nThreads);
        choice.reason = "CPU";
        return choice;
    };
}

// What one reply's Sink shares with the bridge. The engine thread writes, the GUI thread
// drains; `target` is cleared when the bridge goes away, so late callbacks post nothing.
struct StreamChannel : std::enable_shared_from_this<StreamChannel> {
    quint64 ticket = 0;
    qint64 persistId = 0;
    store::Store* store = nullptr;

    std::mutex mutex;  // guards everything below
    EngineBridge* target = nullptr;
    std::string pending;  // text not yet handed to the GUI
    std::optional<RequestFinish> finish;
    bool posted = false;  // a drain is queued on the GUI thread
    bool done = false;
    bool submitted = false;
    RequestId engineId = 0;

    // Called with `mutex` held: queues one drain unless one is already queued.
    void postLocked() {
        if (posted || !target) return;
        posted = true;
        EngineBridge* bridge = target;
        auto self = shared_from_this();
        QMetaObject::invokeMethod(bridge, [bridge, self] { bridge->drainChannel(self); }, Qt::QueuedConnection);
    }

    void appendText(const std::string& text) {
        if (text.empty()) return;
        // Persist first, from this thread: the GUI may be busy, the text must not wait for it.
        if (store && persistId > 0) store->append_to_message(persistId, text);
        std::lock_guard<std::mutex> lock(mutex);
        pending += text;
        postLocked();
    }

    void end(const RequestFinish& f) {
        if (store && persistId > 0) {
            store::MessageStats stats;
            stats.prompt_tokens = f.usage.prompt_tokens;
            stats.completion_tokens = f.usage.completion_tokens;
            stats.tokens_per_s = tokensPerSecond(f);
            (void)store->finish_message(persistId, stats);  // a promise's future: dropping it does not wait
        }
        std::lock_guard<std::mutex> lock(mutex);
        if (done) return;
        finish = f;
        done = true;
        postLocked();
    }

    static double tokensPerSecond(const RequestFinish& f) {
        // Decode speed: tokens after the first over the time after the first.
        const double decodeTime = f.total_time_s - f.time_to_first_token_s;
        if (f.usage.completion_tokens > 1 && decodeTime > 0) return (f.usage.completion_tokens - 1) / decodeTime;
        return 0.0;
    }
};

namespace {

class BridgeSink : public Sink {
public:
    explicit BridgeSink(std::shared_ptr<StreamChannel> channel) : m_channel(std::move(channel)) {}

    void on_delta(const RequestDelta& delta) override {
        std::string text;
        for (const SampleDelta& s : delta.samples) {
            if (s.index == 0) text += s.text;
        }
        m_channel->appendText(text);
    }
    void on_finish(const RequestFinish& finish) override { m_channel->end(finish); }

private:
    std::shared_ptr<StreamChannel> m_channel;
};

RequestFinish errorFinish(const std::string& message) {
    RequestFinish f;
    f.reason = FinishReason::error;
    f.message = message;
    return f;
}

qint64 residentBytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long long sizePages = 0, residentPages = 0;
    const int n = std::fscanf(f, "%lld %lld", &sizePages, &residentPages);
    std::fclose(f);
    if (n != 2) return 0;
    return static_cast<qint64>(residentPages) * static_cast<qint64>(sysconf(_SC_PAGESIZE));
}

QString qs(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

EngineBridge::EngineBridge(BackendFactory backendFactory, QObject* parent)
    : QObject(parent), m_backendFactory(std::move(backendFactory)) {
    qRegisterMetaType<LoadedModelInfo>();
    qRegisterMetaType<EngineStatus>();
    qRegisterMetaType<GenerationResult>();
    if (!m_backendFactory) m_backendFactory = cpuBackendFactory();
    m_thread.setObjectName(QStringLiteral("pagoda-engine-bridge"));
    m_workerContext = new QObject;
    m_workerContext->moveToThread(&m_thread);
    m_thread.start();
    onWorker([this] {
        m_statsTimer = new QTimer(m_workerContext);
        m_statsTimer->setInterval(250);
        connect(m_statsTimer, &QTimer::timeout, m_workerContext, [this] { workerPollStats(); });
        m_statsTimer->start();
    });
}

EngineBridge::~EngineBridge() {
    // Sinks still running on the engine thread must not post to a dead object.
    for (auto& [ticket, channel] : m_active) {
        std::lock_guard<std::mutex> lock(channel->mutex);
        channel->target = nullptr;
    }
    // Blocking: every call queued before runs first, then the model goes away on the worker
    // (the worker never waits for the GUI thread, so this cannot deadlock).
    QMetaObject::invokeMethod(
        m_workerContext,
        [this] {
            workerUnload(false);
            delete m_statsTimer;  // timers die on their own thread
            m_statsTimer = nullptr;
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    delete m_workerContext;
}

template <typename F>
void EngineBridge::onWorker(F fn) {
    QMetaObject::invokeMethod(m_workerContext, std::move(fn), Qt::QueuedConnection);
}

void EngineBridge::setStore(store::Store* store) { m_store = store; }

std::shared_ptr<server::ServedModel> EngineBridge::servedModel() const {
    std::lock_guard<std::mutex> lock(m_modelMutex);
    return m_model;
}

Status EngineBridge::setSessionAdapters(qint64 sessionId, const QVector<AdapterAttachment>& adapters) {
    for (const AdapterAttachment& a : adapters) {
        if (a.path.isEmpty()) {
            return invalid_argument("LoRA adapter " + std::to_string(a.adapterId) +
                                    " has no file: add it to the library again");
        }
        if (!(a.scale >= 0.0 && a.scale <= 2.0)) {
            return invalid_argument("the scale of " + QFileInfo(a.path).fileName().toStdString() +
                                    " is outside 0..2");
        }
    }
    // Loading reads and checks the adapter's matrices: the worker's job, never the GUI's.
    onWorker([this, sessionId, adapters] {
        const bool checked = m_model != nullptr;
        QString error;
        if (checked) {
            auto refs = workerAdapterRefs(adapters);
            if (!refs) error = qs(refs.status().message());
        }
        QMetaObject::invokeMethod(
            this, [this, sessionId, checked, error] { emit sessionAdaptersChecked(sessionId, checked, error); },
            Qt::QueuedConnection);
    });
    return Status::ok();
}

void EngineBridge::setMaxContextLength(int tokens) { m_maxContext = std::max(16, tokens); }

void EngineBridge::loadModel(qint64 modelId, const QString& path) {
    m_loading = true;
    emit loadStarted(modelId, path);
    const int maxContext = m_maxContext;
    onWorker([this, modelId, path, maxContext] { workerLoad(modelId, path, maxContext); });
}

void EngineBridge::unloadModel() {
    onWorker([this] { workerUnload(true); });
}

quint64 EngineBridge::generate(GenerationRequest request) {
    auto channel = std::make_shared<StreamChannel>();
    channel->ticket = m_nextTicket++;
    channel->persistId = request.persistMessageId;
    channel->store = m_store;
    channel->target = this;
    m_active[channel->ticket] = channel;
    onWorker([this, ticket = channel->ticket, request = std::move(request), channel]() mutable {
        workerGenerate(ticket, std::move(request), channel);
    });
    return channel->ticket;
}

void EngineBridge::cancel(quint64 ticket) {
    if (m_active.find(ticket) == m_active.end()) return;
    // Queued behind the generate() that created the ticket, so the worker has submitted it.
    onWorker([this, ticket] { workerCancel(ticket); });
}

void EngineBridge::drainChannel(const std::shared_ptr<StreamChannel>& channel) {
    std::string text;
    std::optional<RequestFinish> finish;
    {
        std::lock_guard<std::mutex> lock(channel->mutex);
        text.swap(channel->pending);
        finish.swap(channel->finish);
        channel->posted = false;
    }
    if (!text.empty()) emit tokenReceived(channel->ticket, QString::fromStdString(text));
    if (!finish) return;
    m_active.erase(channel->ticket);
    GenerationResult r;
    r.ticket = channel->ticket;
    r.reason = QString::fromLatin1(finish_reason_name(finish->reason));
    r.message = qs(finish->message);
    r.persistMessageId = channel->persistId;
    r.promptTokens = finish->usage.prompt_tokens;
    r.completionTokens = finish->usage.completion_tokens;
    r.timeToFirstTokenSeconds = finish->time_to_first_token_s;
    r.tokensPerSecond = StreamChannel::tokensPerSecond(*finish);
    // The status bar shows the engine idle again at once, not at the next periodic poll.
    onWorker([this] { workerPollStats(); });
    emit finished(r);
}

// ---- worker thread ----

void EngineBridge::workerLoad(qint64 modelId, const QString& path, int maxContext) {
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    auto progress = [this](const QString& stage, int percent) {
        QMetaObject::invokeMethod(this, [this, stage, percent] { emit loadProgress(stage, percent); },
                                  Qt::QueuedConnection);
    };
    auto fail = [this, path](const std::string& message) {
        QMetaObject::invokeMethod(
            this,
            [this, path, message = qs(message)] {
                m_loading = false;
                emit loadFailed(path, message);
            },
            Qt::QueuedConnection);
    };

    if (m_model) workerUnload(true);
    progress(tr("Reading %1").arg(QFileInfo(path).fileName()), 5);
    auto gguf = GgufFile::open(path.toStdString());
    if (!gguf) return fail(gguf.status().message());
    auto config = parse_model_config(*gguf.value());
    if (!config) return fail(config.status().message());
    server::ModelTraits traits = server::read_model_traits(*gguf.value());
    const ModelConfig cfg = config.value();

    progress(tr("Choosing a device"), 15);
    auto choice = m_backendFactory();
    if (!choice) return fail(choice.status().message());
    std::unique_ptr<Backend> backend = std::move(choice->backend);
    const std::string deviceReason = choice->reason;

    progress(tr("Loading weights"), -1);
    auto model = Model::load(std::move(gguf.value()), *backend);
    if (!model) return fail(model.status().message());

    progress(tr("Allocating the KV cache"), 90);
    EngineConfig ec;
    // One person chatting: a few sequences (regenerate while another streams), a context
    // no longer than the model was trained for.
    ec.max_num_seqs = 4;
    ec.max_model_len = std::min(cfg.n_ctx_train, maxContext);
    // [n_layers, K and V, kv_dim] F16 per token; sized as the Models page estimated it.
    ec.kv_memory_bytes = desktopKvCacheBytes(int64_t{cfg.n_layers} * 2 * cfg.kv_dim() * 2, ec.max_model_len);
    // The Engine owns the backend from here on; asked once, on this thread, before any
    // request runs: the weights and the KV pool are allocated by then.
    const Backend* device = backend.get();
    auto engine = Engine::create(std::move(backend), std::move(model.value()), ec);
    if (!engine) return fail(engine.status().message());

    auto served = std::make_shared<server::ServedModel>();
    served->path = path.toStdString();
    served->id = QFileInfo(path).completeBaseName().toStdString();
    served->engine = std::move(engine.value());
    served->traits = std::move(traits);
    served->created = static_cast<int64_t>(std::time(nullptr));
    {
        std::lock_guard<std::mutex> lock(m_modelMutex);
        m_model = served;
    }

    LoadedModelInfo info;
    info.modelId = modelId;
    info.path = path;
    info.name = qs(served->id);
    info.architecture = qs(cfg.arch_name);
    info.device = qs(served->engine->backend_name());
    info.deviceReason = qs(deviceReason);
    info.contextLength = served->engine->max_model_len();
    info.hasChatTemplate = usesChatTemplate(*served);
    info.templateError = qs(served->traits.template_error);
    const EngineStats stats = served->engine->stats();
    // [kv_blocks, block_size, n_layers, 2 (K and V), kv_dim], F16
    info.kvCacheBytes = int64_t{stats.kv_blocks_total} * stats.block_size * cfg.n_layers * 2 * cfg.kv_dim() * 2;
    info.loadSeconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (const std::optional<MemoryInfo> mem = device->device_memory()) {
        info.deviceMemoryTotalBytes = static_cast<qint64>(mem->total_bytes);
        const uint64_t free = std::min(mem->free_bytes, mem->total_bytes);
        info.deviceMemoryUsedBytes = static_cast<qint64>(mem->total_bytes - free);
    }

    QMetaObject::invokeMethod(
        this,
        [this, info] {
            m_loading = false;
            m_loaded = info;
            emit loadProgress(tr("Ready"), 100);
            emit modelLoaded(info);
        },
        Qt::QueuedConnection);
    workerPollStats();
}

void EngineBridge::workerUnload(bool announce) {
    const bool had = m_model != nullptr;
    // Destroying the Engine ends its requests as cancelled (their sinks post that) and
    // joins its thread, here rather than on the GUI thread (outside the lock).
    std::shared_ptr<server::ServedModel> old;
    {
        std::lock_guard<std::mutex> lock(m_modelMutex);
        old.swap(m_model);
    }
    old.reset();
    m_submitted.clear();
    m_adapterIds.clear();
    if (!announce || !had) return;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_loaded = LoadedModelInfo{};
            emit modelUnloaded();
        },
        Qt::QueuedConnection);
    workerPollStats();
}

void EngineBridge::workerGenerate(quint64 ticket, GenerationRequest request, std::shared_ptr<StreamChannel> channel) {
    for (auto it = m_submitted.begin(); it != m_submitted.end();) {
        std::lock_guard<std::mutex> lock(it->second->mutex);
        it = it->second->done ? m_submitted.erase(it) : std::next(it);
    }
    if (!m_model) return channel->end(errorFinish("No model is loaded. Load one on the Models page first."));
    auto prompt = buildChatPrompt(*m_model, request.messages);
    if (!prompt) return channel->end(errorFinish(prompt.status().message()));
    Request r;
    r.prompt = std::move(prompt.value());
    r.sampling = request.sampling;
    r.priority = Priority::interactive;
    // The chat's LoRA adapters; one that cannot load fails the reply before it starts.
    auto adapters = workerAdapterRefs(request.adapters);
    if (!adapters) return channel->end(errorFinish(adapters.status().message()));
    r.adapters = std::move(adapters.value());
    auto id = m_model->engine->submit(std::move(r), std::make_shared<BridgeSink>(channel));
    if (!id) return channel->end(errorFinish(id.status().message()));
    {
        std::lock_guard<std::mutex> lock(channel->mutex);
        channel->submitted = true;
        channel->engineId = id.value();
    }
    m_submitted[ticket] = channel;
    workerPollStats();  // the status bar shows the new request at once
}

void EngineBridge::workerCancel(quint64 ticket) {
    auto it = m_submitted.find(ticket);
    if (it == m_submitted.end() || !m_model) return;
    RequestId id = 0;
    {
        std::lock_guard<std::mutex> lock(it->second->mutex);
        if (!it->second->submitted) return;
        id = it->second->engineId;
    }
    m_model->engine->cancel(id);
}

Result<std::vector<AdapterRef>> EngineBridge::workerAdapterRefs(const QVector<AdapterAttachment>& adapters) {
    std::vector<AdapterRef> refs;
    if (adapters.isEmpty()) return refs;
    if (!m_model) return invalid_argument("No model is loaded. Load one on the Models page first.");
    Engine& engine = *m_model->engine;
    for (const AdapterAttachment& a : adapters) {
        const QString file = QFileInfo(a.path).fileName();
        if (a.path.isEmpty()) {
            return invalid_argument("LoRA adapter " + std::to_string(a.adapterId) +
                                    " of this chat has no file: attach it again on the Adapters page");
        }
        const std::string path = a.path.toStdString();
        auto it = m_adapterIds.find(path);
        if (it == m_adapterIds.end()) {
            // Named by its path: names are unique per engine, and two library adapters may
            // share a general.name. The local server shares this engine; reuse its load.
            Result<int32_t> id = engine.adapter_id(path);
            if (!id) id = engine.load_adapter(path, path);
            if (!id) {
                const std::string what = "LoRA adapter " + file.toStdString() + " cannot be used with " + m_model->id;
                return Status::error(id.status().code(), what + ": " + id.status().message());
            }
            it = m_adapterIds.emplace(path, id.value()).first;
        }
        // The engine takes each id once: the same file attached twice adds its scales.
        auto same = std::find_if(refs.begin(), refs.end(), [&](const AdapterRef& r) { return r.id == it->second; });
        if (same != refs.end()) {
            same->scale += static_cast<float>(a.scale);
        } else {
            refs.push_back({it->second, static_cast<float>(a.scale)});
        }
    }
    return refs;
}

void EngineBridge::workerPollStats() {
    EngineStatus s;
    s.residentBytes = residentBytes();
    if (m_model) {
        const EngineStats e = m_model->engine->stats();
        s.loaded = true;
        s.running = e.running;
        s.waiting = e.waiting;
        s.kvBlocksUsed = e.kv_blocks_used;
        s.kvBlocksTotal = e.kv_blocks_total;
        s.generatedTokensPerSecond = e.generated_tokens_per_s;
        s.promptTokensPerSecond = e.prompt_tokens_per_s;
    }
    QMetaObject::invokeMethod(this, [this, s] { emit statsChanged(s); }, Qt::QueuedConnection);
}

}  // namespace pagoda::bridge
