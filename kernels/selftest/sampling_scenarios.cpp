#include "sampling_scenarios.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "parity_util.h"
#include "sample/logits_processors.h"
#include "sample/row_sampler.h"
#include "sample/token_sampler.h"

namespace pagoda::gpu_parity {

std::vector<float> sampling_logits(int64_t vocab, uint64_t seed) {
    std::vector<float> l = random_normal(static_cast<size_t>(kSamplingRows * vocab), seed, 3.0f);
    auto row = [&](int r) { return l.data() + r * vocab; };
    const float inf = std::numeric_limits<float>::infinity();
    // 1: a tie for the maximum in two threads' strides: the lower id wins.
    row(1)[10] = 50.0f;
    row(1)[vocab - 7] = 50.0f;
    // 2: nothing above -inf.
    for (int64_t i = 0; i < vocab; ++i) row(2)[i] = -inf;
    // 3: NaNs (never picked) around a clear maximum.
    for (int64_t i = 0; i < vocab; i += 5) row(3)[i] = std::numeric_limits<float>::quiet_NaN();
    row(3)[33] = 40.0f;
    // 4: the maximum in the last column, most of the row -inf.
    for (int64_t i = 0; i < vocab / 2; ++i) row(4)[i] = -inf;
    row(4)[vocab - 1] = 30.0f;
    // 5: a constant row: id 0.
    for (int64_t i = 0; i < vocab; ++i) row(5)[i] = 1.25f;
    // 6: large magnitudes (the softmax must subtract the maximum).
    for (int64_t i = 0; i < vocab; ++i) row(6)[i] *= 100.0f;
    return l;
}

std::vector<int32_t> reference_argmax(std::span<const float> logits, int64_t vocab) {
    std::vector<int32_t> ids;
    for (size_t r = 0; r * vocab < logits.size(); ++r) {
        ids.push_back(TokenSampler::argmax(logits.subspan(r * vocab, static_cast<size_t>(vocab))));
    }
    return ids;
}

std::vector<float> reference_softmax(std::span<const float> logits, int64_t vocab, float temperature,
                                     std::vector<bool>& defined) {
    std::vector<float> p(logits.size(), std::numeric_limits<float>::quiet_NaN());
    defined.clear();
    for (size_t r = 0; r * vocab < logits.size(); ++r) {
        const float* row = logits.data() + r * vocab;
        double m = -INFINITY;
        bool nan = false;
        for (int64_t i = 0; i < vocab; ++i) {
            const double v = static_cast<double>(row[i] * (1.0f / temperature));
            nan = nan || std::isnan(v);
            if (v > m) m = v;
        }
        defined.push_back(!nan && m > -INFINITY);
        if (!defined.back()) continue;
        double sum = 0.0;
        for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i] * (1.0f / temperature)) - m);
        for (int64_t i = 0; i < vocab; ++i) {
            p[r * vocab + i] = static_cast<float>(std::exp(static_cast<double>(row[i] * (1.0f / temperature)) - m) / sum);
        }
    }
    return p;
}

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int32_t kDeviceSortLimit = 1024;  // kMaxSortedCandidates of kernels/sampling_launch.h

uint64_t splitmix(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
double uniform01(uint64_t& state) { return static_cast<double>(splitmix(state) >> 11) * 0x1.0p-53; }

enum class BiasKind { none, mixed, mask_best, force };
enum class PenaltyKind { none, all, repetition };

struct ParamSet {
    const char* name;
    float temperature = 0.0f;
    int32_t top_k = 0;
    float top_p = 1.0f;
    float min_p = 0.0f;
    BiasKind bias = BiasKind::none;
    PenaltyKind penalties = PenaltyKind::none;
    bool logprobs = false;
    int32_t top_logprobs = 0;
};

struct Family {
    const char* name;
    std::vector<ParamSet> sets;
};

const std::vector<Family>& families() {
    static const std::vector<Family> all = [] {
        std::vector<Family> f;
        auto set = [](const char* name, float t) {
            ParamSet p;
            p.name = name;
            p.temperature = t;
            return p;
        };
        {
            ParamSet lp = set("greedy+top5", 0.0f);
            lp.logprobs = true;
            lp.top_logprobs = 5;
            f.push_back({"greedy", {set("greedy", 0.0f), lp}});
        }
        {
            ParamSet hot = set("t=1.5+logprob", 1.5f);
            hot.logprobs = true;
            f.push_back({"temperature", {set("t=0.7", 0.7f), hot}});
        }
        {
            ParamSet k1 = set("top_k=1 t=0.8", 0.8f), k5 = set("top_k=5", 1.0f);
            ParamSet k40 = set("top_k=40 t=0.9 top20", 0.9f);
            k1.top_k = 1;
            k5.top_k = 5;
            k40.top_k = 40;
            k40.logprobs = true;
            k40.top_logprobs = 20;
            f.push_back({"top_k", {k1, k5, k40}});
        }
        {
            ParamSet p1 = set("top_p=0.1", 1.0f), p9 = set("top_p=0.9", 1.0f), p9t = set("top_p=0.9 t=0.7 top5", 0.7f);
            p1.top_p = 0.1f;
            p9.top_p = 0.9f;
            p9t.top_p = 0.9f;
            p9t.logprobs = true;
            p9t.top_logprobs = 5;
            f.push_back({"top_p", {p1, p9, p9t}});
        }
        {
            ParamSet a = set("top_k=40 top_p=0.9", 1.0f), b = set("top_k=5 top_p=0.5 t=1.2", 1.2f);
            a.top_k = 40;
            a.top_p = 0.9f;
            b.top_k = 5;
            b.top_p = 0.5f;
            f.push_back({"top_k_top_p", {a, b}});
        }
        {
            ParamSet a = set("min_p=0.05", 1.0f), b = set("min_p=0.1 top_k=40 top_p=0.9 t=0.8", 0.8f),
                     c = set("min_p=0.2 top_p=0.5", 1.0f);
            a.min_p = 0.05f;
            b.min_p = 0.1f;
            b.top_k = 40;
            b.top_p = 0.9f;
            c.min_p = 0.2f;
            c.top_p = 0.5f;
            f.push_back({"min_p", {a, b, c}});
        }
        {
            ParamSet a = set("bias top_k=40 t=0.8", 0.8f), b = set("bias -inf on the best, greedy", 0.0f),
                     c = set("bias +inf", 1.0f), d = set("bias top_p=0.9", 1.0f);
            a.bias = BiasKind::mixed;
            a.top_k = 40;
            b.bias = BiasKind::mask_best;
            c.bias = BiasKind::force;
            d.bias = BiasKind::mixed;
            d.top_p = 0.9f;
            d.logprobs = true;
            d.top_logprobs = 3;
            f.push_back({"bias", {a, b, c, d}});
        }
        {
            ParamSet a = set("penalties top_k=40", 1.0f), b = set("repetition greedy", 0.0f),
                     c = set("penalties min_p=0.05 t=0.9", 0.9f), d = set("penalties+bias top_p=0.8", 1.0f);
            a.penalties = PenaltyKind::all;
            a.top_k = 40;
            b.penalties = PenaltyKind::repetition;
            c.penalties = PenaltyKind::all;
            c.min_p = 0.05f;
            d.penalties = PenaltyKind::all;
            d.bias = BiasKind::mixed;
            d.top_p = 0.8f;
            f.push_back({"penalties", {a, b, c, d}});
        }
        {
            ParamSet a = set("logprobs only", 1.0f), b = set("top5 top_k=40", 1.0f), c = set("top20 greedy", 0.0f);
            a.logprobs = true;
            b.logprobs = true;
            b.top_logprobs = 5;
            b.top_k = 40;
            c.logprobs = true;
            c.top_logprobs = 20;
            f.push_back({"logprobs", {a, b, c}});
        }
        {
            ParamSet a = set("top_k=1500", 1.0f), b = set("top_k=1024", 1.0f), c = set("top_p=0.99", 1.0f),
                     d = set("top_p=0.9 min_p=0.01", 1.0f);
            a.top_k = 1500;
            b.top_k = 1024;
            b.logprobs = true;
            b.top_logprobs = 20;
            c.top_p = 0.99f;
            d.top_p = 0.9f;
            d.min_p = 0.01f;
            f.push_back({"wide", {a, b, c, d}});
        }
        return f;
    }();
    return all;
}

std::vector<ParamSet> sets_of(const std::string& family) {
    std::vector<ParamSet> out;
    for (const Family& f : families()) {
        if (family == "all" || family == f.name) out.insert(out.end(), f.sets.begin(), f.sets.end());
    }
    return out;
}

void add_request(RowSamplingBatch& b, const ParamSet& p, int32_t row, uint64_t& rng) {
    const std::span<const float> values(b.logits.data() + static_cast<size_t>(row) * b.vocab,
                                        static_cast<size_t>(b.vocab));
    const TokenId best = TokenSampler::argmax(values);
    const auto token = [&](uint64_t r) { return static_cast<TokenId>(r % static_cast<uint64_t>(b.vocab)); };
    RowSamplingRequest r;
    r.row = row;
    r.temperature = p.temperature;
    r.top_k = p.top_k;
    r.top_p = p.top_p;
    r.min_p = p.min_p;
    // The first requests draw at the ends of [0, 1).
    const size_t i = b.requests.size();
    r.uniform = i == 0 ? 0.0 : i == 1 ? 1.0 - 0x1.0p-53 : uniform01(rng);
    if (p.bias != BiasKind::none) {
        std::vector<std::pair<TokenId, float>>& list = b.bias.emplace_back();
        if (p.bias == BiasKind::mixed) {
            // Duplicates add twice; ids outside the row are ignored; the best is pushed down.
            const TokenId t = token(splitmix(rng));
            list = {{t, 2.5f}, {token(splitmix(rng)), -1.0f}, {t, 1.75f}, {best, -4.0f},
                    {static_cast<TokenId>(b.vocab), 100.0f}, {-3, 100.0f}, {token(splitmix(rng)), 3.0f}};
        } else if (p.bias == BiasKind::mask_best) {
            list = {{best, -kInf}, {token(splitmix(rng)), -kInf}};
        } else {
            // Two forced tokens: the lower id wins.
            const TokenId a = token(splitmix(rng)), c = token(splitmix(rng));
            list = {{std::max(a, c), kInf}, {std::min(a, c), kInf}};
        }
        r.logit_bias = list;
    }
    if (p.penalties != PenaltyKind::none) {
        std::vector<PenaltyEntry>& list = b.penalties.emplace_back();
        const int32_t n = static_cast<int32_t>(std::min<int64_t>(60, b.vocab / 4));
        std::vector<bool> used(static_cast<size_t>(b.vocab), false);
        list.push_back({best, 2});
        used[static_cast<size_t>(best)] = true;
        while (static_cast<int32_t>(list.size()) < n) {
            const TokenId t = token(splitmix(rng));
            if (used[static_cast<size_t>(t)]) continue;
            used[static_cast<size_t>(t)] = true;
            list.push_back({t, static_cast<int32_t>(splitmix(rng) % 4)});
        }
        r.penalties = list;
        r.repetition_penalty = p.penalties == PenaltyKind::repetition ? 1.2f : 1.3f;
        if (p.penalties == PenaltyKind::all) {
            r.presence_penalty = 0.5f;
            r.frequency_penalty = 0.3f;
        }
    }
    r.logprobs = p.logprobs;
    r.top_logprobs = p.top_logprobs;
    b.requests.push_back(r);
    b.labels.push_back("row " + std::to_string(row) + ", " + p.name);
}

// Whether the device hands the request back: top_k above its sort limit, or top_p alone
// with more candidates than it sorts and a nucleus wider than that.
bool device_declines(std::span<const float> raw, const RowSamplingRequest& r) {
    if (!(r.temperature > 0.0f)) return false;
    std::vector<float> row(raw.begin(), raw.end());
    apply_logit_bias(row, r.logit_bias);
    apply_penalties(row, r.penalties, {r.repetition_penalty, r.presence_penalty, r.frequency_penalty});
    std::vector<float> cand;
    for (float v : row) {
        if (v == kInf) return false;
        if (v > -kInf) cand.push_back(v);
    }
    const int64_t n = static_cast<int64_t>(cand.size());
    const bool k_active = r.top_k > 0 && r.top_k < n;
    if (k_active) return r.top_k > kDeviceSortLimit;
    if (!(r.top_p < 1.0f) || n <= kDeviceSortLimit) return false;
    std::sort(cand.begin(), cand.end(), std::greater<float>());
    double sum = 0.0;
    for (float v : cand) sum += std::exp(static_cast<double>(v) - cand[0]);
    const double target = static_cast<double>(std::max(r.top_p, 0.0f)) * sum;
    double cumulative = 0.0;
    for (int64_t i = 0; i < kDeviceSortLimit; ++i) {
        cumulative += std::exp(static_cast<double>(cand[static_cast<size_t>(i)]) - cand[0]);
        if (cumulative >= target) return false;
    }
    return true;
}

bool close_logprob(float a, float b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (std::isinf(a) || std::isinf(b)) return a == b;
    return std::fabs(a - b) <= 1e-5f;
}

}  // namespace

std::vector<float> row_sampling_logits(int64_t vocab, int32_t rows, uint64_t seed) {
    std::vector<float> l = random_normal(static_cast<size_t>(rows * vocab), seed, 3.0f);
    const std::vector<float> special = sampling_logits(vocab, seed + 1);
    for (int32_t r = 1; r < rows && r < 7; ++r) {
        std::copy_n(special.begin() + r * vocab, vocab, l.begin() + r * vocab);
    }
    auto row = [&](int32_t r) { return l.data() + static_cast<int64_t>(r) * vocab; };
    if (rows > 7) {  // heavy ties
        for (int64_t i = 0; i < vocab; ++i) row(7)[i] = std::round(row(7)[i] * 2.0f) / 2.0f;
    }
    if (rows > 8) {  // flat: every candidate ties, +0 and -0 alike
        for (int64_t i = 0; i < vocab; ++i) row(8)[i] = i % 3 == 1 ? -0.0f : 0.0f;
    }
    if (rows > 9) {  // peaked
        for (int64_t i = 0; i < vocab; ++i) row(9)[i] = -2.0f + 0.001f * static_cast<float>(i % 17);
        row(9)[vocab / 3] = 12.0f;
        row(9)[vocab / 2] = 11.5f;
    }
    if (rows > 10) {  // three candidates
        for (int64_t i = 0; i < vocab; ++i) row(10)[i] = -kInf;
        row(10)[5] = 1.0f;
        row(10)[vocab - 2] = 1.5f;
        row(10)[vocab / 2] = 1.0f;
    }
    if (rows > 11) row(11)[vocab / 4] = kInf;  // certain (and log-probabilities of NaN)
    return l;
}

const std::vector<std::string>& row_sampling_families() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const Family& f : families()) n.push_back(f.name);
        return n;
    }();
    return names;
}

RowSamplingBatch row_sampling_batch(const std::string& family, int64_t vocab, int32_t rows, uint64_t seed) {
    RowSamplingBatch b;
    b.vocab = vocab;
    b.rows = rows;
    b.logits = row_sampling_logits(vocab, rows, seed);
    uint64_t rng = seed * 7919 + 1;
    for (const ParamSet& p : sets_of(family)) {
        for (int32_t row = 0; row < rows; ++row) add_request(b, p, row, rng);
    }
    return b;
}

RowSamplingBatch row_sampling_mixed_batch(int64_t vocab, int32_t rows, int32_t count, uint64_t seed) {
    RowSamplingBatch b;
    b.vocab = vocab;
    b.rows = rows;
    b.logits = row_sampling_logits(vocab, rows, seed);
    uint64_t rng = seed * 7919 + 1;
    const std::vector<ParamSet> sets = sets_of("all");
    for (int32_t i = 0; i < count; ++i) add_request(b, sets[static_cast<size_t>(i) % sets.size()], i % rows, rng);
    return b;
}

CaseResult check_row_sampling(const RowSamplingBatch& b, std::span<const RowSamplingResult> got) {
    if (got.size() != b.requests.size()) return CaseResult::fail("result count differs from the requests");
    RowSampler sampler;
    size_t handed_back = 0, with_logprobs = 0;
    for (size_t i = 0; i < b.requests.size(); ++i) {
        const RowSamplingRequest& r = b.requests[i];
        const std::span<const float> raw(b.logits.data() + static_cast<size_t>(r.row) * b.vocab,
                                         static_cast<size_t>(b.vocab));
        const std::string where = "request " + std::to_string(i) + " (" + b.labels[i] + "): ";
        const bool declines = device_declines(raw, r);
        if (got[i].needs_host != declines) {
            return CaseResult::fail(where + (declines ? "should be handed to the host" : "was handed to the host"));
        }
        if (declines) {
            ++handed_back;
            continue;
        }
        const RowSamplingResult want = sampler.sample(raw, r);
        if (got[i].token != want.token) {
            return CaseResult::fail(where + "token " + std::to_string(got[i].token) + ", host " +
                                    std::to_string(want.token));
        }
        if (!r.logprobs && r.top_logprobs == 0) continue;
        ++with_logprobs;
        const SampledLogprobs& g = got[i].logprobs;
        const SampledLogprobs& w = want.logprobs;
        if (g.token != w.token || !close_logprob(g.logprob, w.logprob)) {
            return CaseResult::fail(where + "logprob " + std::to_string(g.logprob) + " of " + std::to_string(g.token) +
                                    ", host " + std::to_string(w.logprob) + " of " + std::to_string(w.token));
        }
        if (g.top.size() != w.top.size()) {
            return CaseResult::fail(where + std::to_string(g.top.size()) + " top log-probabilities, host " +
                                    std::to_string(w.top.size()));
        }
        for (size_t k = 0; k < w.top.size(); ++k) {
            if (g.top[k].token != w.top[k].token || !close_logprob(g.top[k].logprob, w.top[k].logprob)) {
                return CaseResult::fail(where + "top " + std::to_string(k) + ": " + std::to_string(g.top[k].token) +
                                        " " + std::to_string(g.top[k].logprob) + ", host " +
                                        std::to_string(w.top[k].token) + " " + std::to_string(w.top[k].logprob));
            }
        }
    }
    return CaseResult::pass(std::to_string(b.requests.size() - handed_back) + " tokens identical, " +
                            std::to_string(handed_back) + " handed to the host as expected, " +
                            std::to_string(with_logprobs) + " logprob lists within 1e-5");
}

}  // namespace pagoda::gpu_parity
