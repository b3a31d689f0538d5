// Server counters and latency histograms, rendered in the Prometheus text format
// (GET /metrics) together with each loaded model's engine stats (KV usage, queue).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/served_model.h"

namespace pagoda::server {

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    // `count` observations of `value` (a request's mean inter-token latency counts once per gap).
    void observe(double value, int64_t count = 1);
    void render(std::string& out, const std::string& name, const std::string& help) const;

private:
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::vector<int64_t> buckets_;  // per bound, not cumulative; plus +Inf
    double sum_ = 0.0;
    int64_t count_ = 0;
};

class ServerMetrics {
public:
    ServerMetrics();

    void count_request(const std::string& endpoint, int status);
    // Labels request counts with this replica's id and adds pagoda_replica_info (set once, at start).
    void set_replica(const std::string& id);
    // A finished generation request.
    void observe_generation(int64_t prompt_tokens, int64_t completion_tokens, double ttft_s, double total_s);

    // models: the loaded ones; active: API requests in flight (queue-limit count).
    std::string render(const std::vector<std::shared_ptr<ServedModel>>& models, int active) const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, int64_t> requests_;
    std::string replica_;  // guarded by mutex_
    std::atomic<int64_t> prompt_tokens_{0};
    std::atomic<int64_t> generation_tokens_{0};
    Histogram ttft_;
    Histogram itl_;
    Histogram e2e_;
};

}  // namespace pagoda::server
