// One API request's engine work: one Engine request per prompt (each with n samples),
// their events handed from the engine thread to the HTTP thread through a small
// queue, and cancellation when the client goes away or the server shuts down.
//
// The sinks only lock a mutex, append and notify: they never wait on the HTTP side,
// so a slow client cannot stall the engine thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "pagoda/engine.h"
#include "pagoda/request.h"
#include "server/api_error.h"
#include "server/served_model.h"

namespace pagoda::server {

struct GenerationEvent {
    int32_t slot = 0;  // which of the Generation's engine requests
    std::optional<RequestDelta> delta;
    std::optional<RequestFinish> finish;
};

// Filled on the engine thread, drained on an HTTP thread.
class EventQueue {
public:
    void push(GenerationEvent event);
    // Waits up to `timeout` for events and moves them all into `out` (appending).
    void wait_pop(std::vector<GenerationEvent>& out, std::chrono::milliseconds timeout);

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<GenerationEvent> events_;
};

class GenerationRegistry;

class Generation {
public:
    // Submits every request; on a refusal, cancels those already submitted and returns
    // the error (400 naming `prompt_param`).
    static ApiResult<std::shared_ptr<Generation>> start(std::shared_ptr<ServedModel> model,
                                                        std::vector<Request> requests,
                                                        const std::string& prompt_param,
                                                        GenerationRegistry* registry = nullptr);
    ~Generation();  // cancels what has not finished
    Generation(const Generation&) = delete;
    Generation& operator=(const Generation&) = delete;

    // Waits up to `timeout` for news; appends it to `out`.
    void poll(std::vector<GenerationEvent>& out, std::chrono::milliseconds timeout);
    // Marks finished slots; true once every request has finished.
    void note(const GenerationEvent& event);
    bool finished() const { return n_finished_ == static_cast<int32_t>(ids_.size()); }

    void cancel();
    // Set when the server cut the request short (shutdown), not the client.
    bool cut_short() const { return cut_short_.load(); }
    void cut_short_and_cancel();

    const ServedModel& model() const { return *model_; }
    size_t n_requests() const { return ids_.size(); }

private:
    Generation() = default;

    std::shared_ptr<ServedModel> model_;
    std::shared_ptr<EventQueue> queue_ = std::make_shared<EventQueue>();
    std::vector<RequestId> ids_;
    std::vector<bool> done_;
    int32_t n_finished_ = 0;
    std::atomic<bool> cut_short_{false};
    GenerationRegistry* registry_ = nullptr;
};

// Every running Generation, so a shutdown can end them, plus the count the queue limit
// is checked against.
class GenerationRegistry {
public:
    // Reserves a place for a new request; false when `limit` are already running.
    bool try_reserve(int limit);
    void release();
    int active() const { return active_.load(); }

    void add(Generation* g);
    void remove(Generation* g);
    // Cancels every running generation (marked cut short).
    void cancel_all();

private:
    std::atomic<int> active_{0};
    std::mutex mutex_;
    std::vector<Generation*> running_;
};

}  // namespace pagoda::server
