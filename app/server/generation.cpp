#include "server/generation.h"

#include <algorithm>

#include "server/prompt_builder.h"

namespace pagoda::server {

namespace {

class QueueSink : public Sink {
public:
    QueueSink(std::shared_ptr<EventQueue> queue, int32_t slot) : queue_(std::move(queue)), slot_(slot) {}
    void on_delta(const RequestDelta& delta) override {
        GenerationEvent e;
        e.slot = slot_;
        e.delta = delta;
        queue_->push(std::move(e));
    }
    void on_finish(const RequestFinish& finish) override {
        GenerationEvent e;
        e.slot = slot_;
        e.finish = finish;
        queue_->push(std::move(e));
    }

private:
    std::shared_ptr<EventQueue> queue_;
    int32_t slot_;
};

}  // namespace

void EventQueue::push(GenerationEvent event) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        events_.push_back(std::move(event));
    }
    cv_.notify_one();
}

void EventQueue::wait_pop(std::vector<GenerationEvent>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return !events_.empty(); });
    for (auto& e : events_) out.push_back(std::move(e));
    events_.clear();
}

ApiResult<std::shared_ptr<Generation>> Generation::start(std::shared_ptr<ServedModel> model,
                                                         std::vector<Request> requests,
                                                         const std::string& prompt_param,
                                                         GenerationRegistry* registry) {
    std::shared_ptr<Generation> g(new Generation());
    g->model_ = std::move(model);
    for (size_t i = 0; i < requests.size(); ++i) {
        auto sink = std::make_shared<QueueSink>(g->queue_, static_cast<int32_t>(i));
        auto id = g->model_->engine->submit(std::move(requests[i]), sink);
        if (!id) {
            const std::string param = requests.size() > 1 && prompt_param == "prompt"
                                          ? "prompt[" + std::to_string(i) + "]"
                                          : prompt_param;
            return submit_error(id.status(), param);  // ~Generation cancels the earlier ones
        }
        g->ids_.push_back(*id);
        g->done_.push_back(false);
    }
    if (registry) {
        g->registry_ = registry;
        registry->add(g.get());
    }
    return g;
}

Generation::~Generation() {
    if (registry_) registry_->remove(this);
    cancel();
}

void Generation::poll(std::vector<GenerationEvent>& out, std::chrono::milliseconds timeout) {
    queue_->wait_pop(out, timeout);
}

void Generation::note(const GenerationEvent& event) {
    if (!event.finish) return;
    const auto slot = static_cast<size_t>(event.slot);
    if (slot < done_.size() && !done_[slot]) {
        done_[slot] = true;
        ++n_finished_;
    }
}

void Generation::cancel() {
    for (size_t i = 0; i < ids_.size(); ++i) {
        // Frees the request's KV blocks at the engine's next step boundary.
        if (!done_[i]) model_->engine->cancel(ids_[i]);
    }
}

void Generation::cut_short_and_cancel() {
    cut_short_ = true;
    // done_ is the HTTP thread's; Engine::cancel ignores finished ids, so cancel them all.
    for (RequestId id : ids_) model_->engine->cancel(id);
}

bool GenerationRegistry::try_reserve(int limit) {
    int current = active_.load();
    do {
        if (limit > 0 && current >= limit) return false;
    } while (!active_.compare_exchange_weak(current, current + 1));
    return true;
}

void GenerationRegistry::release() { active_.fetch_sub(1); }

void GenerationRegistry::add(Generation* g) {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.push_back(g);
}

void GenerationRegistry::remove(Generation* g) {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(std::remove(running_.begin(), running_.end(), g), running_.end());
}

void GenerationRegistry::cancel_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Generation* g : running_) g->cut_short_and_cancel();
}

}  // namespace pagoda::server
