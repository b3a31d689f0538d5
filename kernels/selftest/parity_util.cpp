#include "parity_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda::gpu_parity {
namespace {

uint64_t splitmix(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::string format_double(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3g", v);
    return buf;
}

}  // namespace

std::vector<float> random_normal(size_t n, uint64_t seed, float stddev) {
    std::vector<float> v(n);
    uint64_t state = seed * 0x2545F4914F6CDD1Dull + 1;
    for (size_t i = 0; i < n; i += 2) {
        const double u1 = (static_cast<double>(splitmix(state) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        const double u2 = static_cast<double>(splitmix(state) >> 11) * (1.0 / 9007199254740992.0);
        const double r = std::sqrt(-2.0 * std::log(u1));
        v[i] = static_cast<float>(r * std::cos(2.0 * M_PI * u2)) * stddev;
        if (i + 1 < n) v[i + 1] = static_cast<float>(r * std::sin(2.0 * M_PI * u2)) * stddev;
    }
    return v;
}

std::vector<uint8_t> random_weight(GgmlType type, int64_t rows, int64_t cols, uint64_t seed, float stddev) {
    const uint64_t row_bytes = ggml_row_bytes(type, cols).value_or(0);
    std::vector<uint8_t> data(static_cast<size_t>(row_bytes * rows));
    const std::vector<float> values = random_normal(static_cast<size_t>(rows * cols), seed, stddev);
    for (int64_t r = 0; r < rows; ++r) {
        (void)quantize_row(type, values.data() + r * cols, data.data() + r * row_bytes, cols);
    }
    return data;
}

CaseResult compare(std::span<const float> gpu, std::span<const float> cpu, double threshold) {
    if (gpu.size() != cpu.size()) {
        return CaseResult::fail("size mismatch: cuda " + std::to_string(gpu.size()) + ", cpu " +
                                std::to_string(cpu.size()));
    }
    double err = 0.0, ref = 0.0;
    size_t worst = 0;
    double worst_diff = -1.0;
    for (size_t i = 0; i < gpu.size(); ++i) {
        if (!std::isfinite(gpu[i]) && std::isfinite(cpu[i])) {
            return CaseResult::fail("non-finite cuda value " + format_double(gpu[i]) + " at " + std::to_string(i) +
                                    " (cpu " + format_double(cpu[i]) + ")");
        }
        const double d = static_cast<double>(gpu[i]) - cpu[i];
        err += d * d;
        ref += static_cast<double>(cpu[i]) * cpu[i];
        if (std::fabs(d) > worst_diff) {
            worst_diff = std::fabs(d);
            worst = i;
        }
    }
    const double nmse = ref > 0.0 ? err / ref : err;
    std::string detail = "nmse " + format_double(nmse) + (nmse <= threshold ? " <= " : " > ") +
                         format_double(threshold) + " (" + std::to_string(gpu.size()) + " values";
    if (!gpu.empty()) {
        detail += ", worst at " + std::to_string(worst) + ": cuda " + format_double(gpu[worst]) + " cpu " +
                  format_double(cpu[worst]);
    }
    detail += ")";
    return nmse <= threshold ? CaseResult::pass(detail) : CaseResult::fail(detail);
}

// ---- StepBuilder ---------------------------------------------------------------------

StepBuilder::StepBuilder(std::vector<SeqSpec> seqs, int32_t block_size, int32_t n_blocks, int32_t vocab, uint64_t seed)
    : block_size_(block_size) {
    // A seeded shuffle of the pool: every sequence's blocks are scattered.
    std::vector<int32_t> pool(static_cast<size_t>(n_blocks));
    std::iota(pool.begin(), pool.end(), 0);
    uint64_t state = seed ^ 0xB10C;
    for (size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[splitmix(state) % i]);
    size_t next = 0;
    for (const SeqSpec& s : seqs) {
        const int32_t ctx = s.cached + s.n_new;
        const int32_t blocks = (ctx + block_size - 1) / block_size;
        std::vector<int32_t> table;
        for (int32_t i = 0; i < blocks && next < pool.size(); ++i) table.push_back(pool[next++]);
        max_blocks_ = std::max(max_blocks_, blocks);
        tables_.push_back(std::move(table));
    }
    fill(seqs, vocab, seed);
}

void StepBuilder::fill(const std::vector<SeqSpec>& seqs, int32_t vocab, uint64_t seed) {
    seqs_ = seqs;
    uint64_t state = seed ^ 0x70C3;
    query_start_.push_back(0);
    for (size_t s = 0; s < seqs.size(); ++s) {
        const SeqSpec& spec = seqs[s];
        const std::vector<int32_t>& table = tables_[s];
        for (int32_t i = 0; i < spec.n_new; ++i) {
            const int32_t pos = spec.cached + i;
            tokens_.push_back(static_cast<TokenId>(splitmix(state) % static_cast<uint64_t>(vocab)));
            positions_.push_back(pos);
            slots_.push_back(static_cast<int64_t>(table[pos / block_size_]) * block_size_ + pos % block_size_);
        }
        query_start_.push_back(static_cast<int32_t>(tokens_.size()));
        context_lens_.push_back(spec.cached + spec.n_new);
        if (spec.n_new > 0) logit_rows_.push_back(static_cast<int32_t>(tokens_.size()) - 1);
        for (int32_t b = 0; b < max_blocks_; ++b) {
            block_tables_.push_back(b < static_cast<int32_t>(table.size()) ? table[b] : 0);
        }
    }
}

StepInputs StepBuilder::inputs() const {
    StepInputs in;
    in.tokens = tokens_;
    in.positions = positions_;
    in.slot_mapping = slots_;
    in.query_start = query_start_;
    in.context_lens = context_lens_;
    in.block_tables = block_tables_;
    in.max_blocks_per_seq = max_blocks_;
    in.logit_rows = logit_rows_;
    return in;
}

StepBuilder StepBuilder::history() const {
    StepBuilder h;
    h.block_size_ = block_size_;
    std::vector<SeqSpec> seqs;
    for (size_t s = 0; s < seqs_.size(); ++s) {
        if (seqs_[s].cached == 0) continue;
        seqs.push_back({0, seqs_[s].cached});
        h.tables_.push_back(tables_[s]);
        h.max_blocks_ = std::max(h.max_blocks_, static_cast<int32_t>(tables_[s].size()));
    }
    h.fill(seqs, 2, 7);
    return h;
}

}  // namespace pagoda::gpu_parity
