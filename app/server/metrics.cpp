#include "server/metrics.h"

#include <cstdio>

namespace pagoda::server {

namespace {

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.9g", v);
    return buf;
}

// Label values are model names (file names): escape as the text format requires.
std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value, int64_t count) {
    if (count <= 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) ++i;
    buckets_[i] += count;
    sum_ += value * static_cast<double>(count);
    count_ += count;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
    std::lock_guard<std::mutex> lock(mutex_);
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
    int64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += buckets_[i];
        out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    cumulative += buckets_.back();
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
    out += name + "_sum " + num(sum_) + "\n";
    out += name + "_count " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics()
    : ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
            0.75, 1.0, 2.5}),
      e2e_({0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0}) {}

void ServerMetrics::set_replica(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    replica_ = id;
}

void ServerMetrics::count_request(const std::string& endpoint, int status) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{endpoint, status}];
}

void ServerMetrics::observe_generation(int64_t prompt_tokens, int64_t completion_tokens, double ttft_s,
                                       double total_s) {
    prompt_tokens_ += prompt_tokens;
    generation_tokens_ += completion_tokens;
    if (completion_tokens > 0) ttft_.observe(ttft_s);
    if (completion_tokens > 1) {
        itl_.observe((total_s - ttft_s) / static_cast<double>(completion_tokens - 1), completion_tokens - 1);
    }
    e2e_.observe(total_s);
}

std::string ServerMetrics::render(const std::vector<std::shared_ptr<ServedModel>>& models, int active) const {
    std::string out;
    out += "# HELP pagoda_requests_total HTTP requests by endpoint and status.\n# TYPE pagoda_requests_total counter\n";
    std::string replica;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        replica = replica_;
        // Behind a load balancer the replica label tells which process answered.
        const std::string first = replica.empty() ? std::string() : "replica=\"" + label(replica) + "\",";
        for (const auto& [key, n] : requests_) {
            out += "pagoda_requests_total{" + first + "endpoint=\"" + label(key.first) + "\",status=\"" +
                   std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
        }
    }
    if (!replica.empty()) {
        out += "# HELP pagoda_replica_info This replica's id (pagoda serve --replica-id).\n"
               "# TYPE pagoda_replica_info gauge\npagoda_replica_info{replica=\"" +
               label(replica) + "\"} 1\n";
    }
    out += "# HELP pagoda_prompt_tokens_total Prompt tokens of finished requests.\n"
           "# TYPE pagoda_prompt_tokens_total counter\npagoda_prompt_tokens_total " +
           std::to_string(prompt_tokens_.load()) + "\n";
    out += "# HELP pagoda_generation_tokens_total Generated tokens of finished requests.\n"
           "# TYPE pagoda_generation_tokens_total counter\npagoda_generation_tokens_total " +
           std::to_string(generation_tokens_.load()) + "\n";
    ttft_.render(out, "pagoda_time_to_first_token_seconds", "Time from submission to the first generated token.");
    itl_.render(out, "pagoda_inter_token_latency_seconds", "Time between generated tokens.");
    e2e_.render(out, "pagoda_request_latency_seconds", "Time from submission to the end of generation.");
    out += "# HELP pagoda_api_requests_active Generation requests admitted and not finished.\n"
           "# TYPE pagoda_api_requests_active gauge\npagoda_api_requests_active " +
           std::to_string(active) + "\n";

    struct Gauge {
        const char* name;
        const char* help;
    };
    const Gauge gauges[] = {
        {"pagoda_sequences_running", "Sequences in the running batch."},
        {"pagoda_sequences_waiting", "Sequences waiting for admission (the engine queue)."},
        {"pagoda_kv_blocks_total", "KV cache blocks."},
        {"pagoda_kv_blocks_used", "KV cache blocks referenced by sequences."},
        {"pagoda_kv_usage_ratio", "Fraction of KV cache blocks in use."},
        {"pagoda_prefix_cache_hit_rate", "Prompt tokens found in the prefix cache / looked up."},
    };
    std::vector<std::pair<std::string, EngineStats>> stats;
    for (const auto& m : models) stats.emplace_back(m->id, m->engine->stats());
    for (const Gauge& g : gauges) {
        out += std::string("# HELP ") + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
        for (const auto& [id, s] : stats) {
            double v = 0.0;
            const std::string n = g.name;
            if (n == "pagoda_sequences_running") v = s.running;
            if (n == "pagoda_sequences_waiting") v = s.waiting;
            if (n == "pagoda_kv_blocks_total") v = s.kv_blocks_total;
            if (n == "pagoda_kv_blocks_used") v = s.kv_blocks_used;
            if (n == "pagoda_kv_usage_ratio") v = s.kv_blocks_total > 0 ? double(s.kv_blocks_used) / s.kv_blocks_total : 0;
            if (n == "pagoda_prefix_cache_hit_rate") v = s.prefix_cache_hit_rate;
            out += std::string(g.name) + "{model=\"" + label(id) + "\"} " + num(v) + "\n";
        }
    }
    return out;
}

}  // namespace pagoda::server
