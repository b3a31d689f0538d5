#include <chrono>

#include "pagoda/request.h"

namespace pagoda {

void CollectingSink::on_delta(const RequestDelta& delta) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++n_deltas_;
    if (!delta.prompt_logits.empty()) prompt_logits_ = delta.prompt_logits;
    for (const SampleDelta& d : delta.samples) {
        if (d.index < 0) continue;
        if (samples_.size() <= static_cast<size_t>(d.index)) samples_.resize(static_cast<size_t>(d.index) + 1);
        Sample& s = samples_[static_cast<size_t>(d.index)];
        s.token_ids.insert(s.token_ids.end(), d.token_ids.begin(), d.token_ids.end());
        s.text += d.text;
        s.logprobs.insert(s.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
        if (d.finish_reason) s.finish_reason = d.finish_reason;
    }
}

void CollectingSink::on_finish(const RequestFinish& finish) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        finish_ = finish;
        if (samples_.size() < finish.sample_reasons.size()) samples_.resize(finish.sample_reasons.size());
    }
    cv_.notify_all();
}

bool CollectingSink::wait(double timeout_s) const {
    std::unique_lock<std::mutex> lock(mutex_);
    if (timeout_s < 0) {
        cv_.wait(lock, [&] { return finish_.has_value(); });
        return true;
    }
    return cv_.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return finish_.has_value(); });
}

bool CollectingSink::finished() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return finish_.has_value();
}

std::vector<CollectingSink::Sample> CollectingSink::samples() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return samples_;
}

std::optional<RequestFinish> CollectingSink::finish() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return finish_;
}

std::vector<float> CollectingSink::prompt_logits() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return prompt_logits_;
}

int32_t CollectingSink::n_deltas() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return n_deltas_;
}

}  // namespace pagoda
