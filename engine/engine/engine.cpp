// The Engine: EngineCore on its own thread. Callers' threads only touch the inbox
// (mutex + condvar) and the stats snapshot; everything else belongs to the engine thread.
#include "pagoda/engine.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <variant>

#include "backend/backend.h"
#include "engine/engine_core.h"
#include "lora/adapter_set.h"
#include "lora/load_lora_adapter.h"
#include "model/model.h"

namespace pagoda {

struct Engine::Impl {
    struct Submit {
        RequestId id;
        Request request;
        std::shared_ptr<Sink> sink;
        EngineCore::Clock::time_point submitted;
        bool adapters_held = false;  // submit() took the request's adapter references
    };
    struct Cancel {
        RequestId id;
    };
    // An adapter was unloaded: free what no request holds (backend calls stay on this thread).
    struct CollectAdapters {};
    using Command = std::variant<Submit, Cancel, CollectAdapters>;

    std::unique_ptr<Backend> backend;  // declared first: destroyed after the model
    std::unique_ptr<Model> model;
    std::unique_ptr<EngineCore> core;

    mutable std::mutex mutex;
    mutable std::condition_variable wake;  // commands for the engine thread
    mutable std::condition_variable idle;  // the engine thread ran out of work
    std::deque<Command> inbox;
    bool shutdown = false;
    bool busy = false;  // inbox drained into the core and work remains
    EngineStats snapshot;
    std::atomic<RequestId> next_id{1};
    std::thread thread;

    void run();
    void post(Command command);
};

void Engine::Impl::post(Command command) {
    {
        std::lock_guard<std::mutex> lock(mutex);
        inbox.push_back(std::move(command));
        busy = true;
    }
    wake.notify_one();
}

void Engine::Impl::run() {
    std::vector<Command> commands;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex);
            if (!core->has_work()) {
                busy = false;
                snapshot = core->stats();
                idle.notify_all();
                wake.wait(lock, [&] { return shutdown || !inbox.empty(); });
            }
            if (shutdown) break;
            commands.assign(std::make_move_iterator(inbox.begin()), std::make_move_iterator(inbox.end()));
            inbox.clear();
            busy = true;
        }
        for (Command& c : commands) {
            if (auto* s = std::get_if<Submit>(&c)) {
                core->add_request(s->id, std::move(s->request), std::move(s->sink), s->submitted, s->adapters_held);
            } else if (auto* x = std::get_if<Cancel>(&c)) {
                core->cancel(x->id);
            } else {
                core->collect_adapter_garbage();
            }
        }
        commands.clear();
        const Status st = core->step();
        if (!st) std::fprintf(stderr, "pagoda: engine step failed: %s\n", st.to_string().c_str());
        EngineStats snap = core->stats();
        std::lock_guard<std::mutex> lock(mutex);
        snapshot = std::move(snap);
    }
    // Shut down: whatever was submitted or is running ends as cancelled.
    std::vector<Command> rest;
    {
        std::lock_guard<std::mutex> lock(mutex);
        rest.assign(std::make_move_iterator(inbox.begin()), std::make_move_iterator(inbox.end()));
        inbox.clear();
    }
    for (Command& c : rest) {
        if (auto* s = std::get_if<Submit>(&c))
            core->add_request(s->id, std::move(s->request), std::move(s->sink), s->submitted, s->adapters_held);
    }
    core->cancel_all();
    std::lock_guard<std::mutex> lock(mutex);
    busy = false;
    snapshot = core->stats();
    idle.notify_all();
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
    if (!impl_) return;
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        impl_->shutdown = true;
    }
    impl_->wake.notify_all();
    if (impl_->thread.joinable()) impl_->thread.join();
    impl_->core.reset();
    impl_->model.reset();
    impl_->backend.reset();
}

Result<std::unique_ptr<Engine>> Engine::create(std::unique_ptr<Backend> backend, std::unique_ptr<Model> model,
                                               const EngineConfig& config) {
    if (!backend || !model) return invalid_argument("Engine::create needs a backend and a model loaded on it");
    auto impl = std::make_unique<Impl>();
    impl->backend = std::move(backend);
    impl->model = std::move(model);
    auto core = EngineCore::create(*impl->model, config);
    if (!core) return core.status();
    impl->core = std::move(core.value());
    impl->snapshot = impl->core->stats();
    Impl* raw = impl.get();
    try {
        impl->thread = std::thread([raw] { raw->run(); });
    } catch (const std::exception& e) {
        return internal_error(std::string("cannot start the engine thread: ") + e.what());
    }
    return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::unique_ptr<Engine>> Engine::load(const std::string& gguf_path, std::unique_ptr<Backend> backend,
                                             const EngineConfig& config) {
    if (!backend) return invalid_argument("Engine::load needs a backend");
    auto model = Model::load(gguf_path, *backend);
    if (!model) return model.status();
    return create(std::move(backend), std::move(model.value()), config);
}

Result<RequestId> Engine::submit(Request request, std::shared_ptr<Sink> sink) {
    // The checks read only what never changes after create(), so they run on the caller's thread.
    PAGODA_RETURN_IF_ERROR(impl_->core->check_request(request));
    // The adapters are held from here, so an unload racing with this submit cannot take
    // them away from an accepted request.
    const std::vector<AdapterRef> adapters = request_adapter_set(request);
    if (!adapters.empty()) PAGODA_RETURN_IF_ERROR(impl_->core->adapters().acquire(adapters));
    const RequestId id = impl_->next_id.fetch_add(1);
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        if (impl_->shutdown) {
            if (!adapters.empty()) impl_->core->adapters().release(adapters);
            return internal_error("the engine is shutting down");
        }
        impl_->inbox.push_back(
            Impl::Submit{id, std::move(request), std::move(sink), EngineCore::Clock::now(), !adapters.empty()});
        impl_->busy = true;
    }
    impl_->wake.notify_one();
    return id;
}

void Engine::cancel(RequestId id) {
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        impl_->inbox.push_back(Impl::Cancel{id});
    }
    impl_->wake.notify_one();
}

EngineStats Engine::stats() const {
    EngineStats s;
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        s = impl_->snapshot;
    }
    impl_->core->rates(s.prompt_tokens_per_s, s.generated_tokens_per_s);
    const AdapterRegistryStats a = impl_->core->adapters().stats();
    s.adapters_loaded = a.adapters;
    s.adapter_host_bytes = static_cast<int64_t>(a.host_bytes);
    s.adapter_backend_bytes = static_cast<int64_t>(a.backend_bytes);
    s.adapter_uploads = a.uploads;
    s.adapter_evictions = a.evictions;
    return s;
}

Result<int32_t> Engine::load_adapter(const LoraAdapter& adapter, const std::string& name) {
    return load_adapter(LoraAdapter(adapter), name);
}

Result<int32_t> Engine::load_adapter(LoraAdapter&& adapter, const std::string& name) {
    if (!impl_->backend->supports_lora())
        return unsupported("LoRA adapters are not supported on the " + impl_->backend->name() + " backend");
    if (!name.empty()) adapter.name = name;
    return impl_->core->adapters().add(std::move(adapter));
}

Result<int32_t> Engine::load_adapter(const std::string& path, const std::string& name) {
    if (!impl_->backend->supports_lora())
        return unsupported("LoRA adapters are not supported on the " + impl_->backend->name() + " backend");
    auto adapter = load_lora_adapter(path, impl_->model->config(), name);
    if (!adapter) return adapter.status();
    return impl_->core->adapters().add(std::move(adapter.value()));
}

Status Engine::unload_adapter(int32_t id) {
    PAGODA_RETURN_IF_ERROR(impl_->core->adapters().remove(id));
    impl_->post(Impl::CollectAdapters{});
    return Status::ok();
}

Status Engine::unload_adapter(const std::string& name) {
    auto id = impl_->core->adapters().find(name);
    if (!id) return id.status();
    return unload_adapter(id.value());
}

std::vector<AdapterInfo> Engine::list_adapters() const { return impl_->core->adapters().list(); }

Result<int32_t> Engine::adapter_id(const std::string& name) const { return impl_->core->adapters().find(name); }

bool Engine::wait_idle(double timeout_s) const {
    std::unique_lock<std::mutex> lock(impl_->mutex);
    auto done = [&] { return !impl_->busy && impl_->inbox.empty(); };
    if (timeout_s < 0) {
        impl_->idle.wait(lock, done);
        return true;
    }
    return impl_->idle.wait_for(lock, std::chrono::duration<double>(timeout_s), done);
}

const ModelConfig& Engine::model_config() const { return impl_->model->config(); }
const Tokenizer* Engine::tokenizer() const { return impl_->model->tokenizer(); }
int32_t Engine::max_model_len() const { return impl_->core->max_model_len(); }
std::string Engine::backend_name() const { return impl_->backend->name(); }

}  // namespace pagoda
