// lora_add: out[r] += scale * (x[r] · Aᵀ) · Bᵀ for every segment holding row r.
//
// Two parallel passes over all segments at once (a decode step has one segment per
// request, often of a single row, so a parallel region per segment would cost more than
// the arithmetic):
//   1. shrink: tmp_s = x[rows of s] · A_sᵀ          [n_rows_s, rank_s] per segment
//      tasks = (segment, rank row r, chunk of up to kShrinkRows rows): A_s[r] is widened
//      once per task and dotted with each row of the chunk (a long prompt under one
//      adapter still spreads over every thread).
//   2. expand: out[rows of s] += scale_s * tmp_s · B_sᵀ, as rank multiply-adds of
//      contiguous rows of Bᵀ [rank, out] (B transposed once per adapter and cached: with
//      B's own [out, rank] rows the pass is out x rank-long dot products, which cost far
//      more in call and reduction overhead than their rank multiply-adds).
//      tasks = chunks of output columns; each walks every segment in order. Overlapping
//      segments (an adapter stack) touch the same out rows, and splitting by column keeps
//      two threads off the same value and the addition order fixed, so the result does
//      not depend on the thread count or on which other requests share the step.
#include <algorithm>
#include <new>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kv_cache.h"
#include "backend/cpu/cpu_math.h"

namespace pagoda::cpu {
namespace {

// Multiply-adds below which pass 2's column chunks are not worth another thread.
constexpr int64_t kExpandGrainWork = 1 << 14;
// Rows of one shrink task.
constexpr int64_t kShrinkRows = 32;

bool usable_lora_matrix(const Tensor* t) {
    return t && t->data && (t->type == GgmlType::F32 || t->type == GgmlType::F16) && t->rows > 0 && t->cols > 0;
}

// Row `row` of an F32/F16 matrix as fp32: a pointer into the matrix, or into `buf` for F16.
const float* matrix_row(const Tensor& t, int64_t row, float* buf) {
    if (t.type == GgmlType::F32) return static_cast<const float*>(t.data) + row * t.cols;
    f16_row_to_f32(static_cast<const uint16_t*>(t.data) + row * t.cols, buf, t.cols);
    return buf;
}

}  // namespace

void CpuBackend::lora_add(const Tensor& x, std::span<const LoraSegment> segments, Tensor& out) {
    if (failed() || segments.empty()) return;
    if (!check_f32("lora_add", "x", x, -1, -1) || !check_f32("lora_add", "out", out, x.rows, -1)) return;
    const int64_t in = x.cols;
    const int64_t out_cols = out.cols;
    {
        // Refused as on CUDA, where the expand pass may write out while the shrink pass reads x.
        const auto* px = static_cast<const uint8_t*>(x.data);
        const auto* po = static_cast<const uint8_t*>(out.data);
        const size_t x_bytes = static_cast<size_t>(x.n_elements()) * sizeof(float);
        const size_t o_bytes = static_cast<size_t>(out.n_elements()) * sizeof(float);
        if (x_bytes > 0 && o_bytes > 0 && px < po + o_bytes && po < px + x_bytes) {
            fail(invalid_argument("lora_add: out overlaps x"));
            return;
        }
    }

    // Validate every segment before touching out; lay out each one's tmp block.
    std::vector<int64_t> tmp_offset(segments.size() + 1, 0);  // floats
    std::vector<int64_t> task_offset(segments.size() + 1, 0);  // pass-1 tasks: rank x row chunks
    int64_t max_rank = 0;
    for (size_t s = 0; s < segments.size(); ++s) {
        const LoraSegment& g = segments[s];
        // Named only on failure: this runs for every segment of every adapted projection.
        auto which = [s] { return "lora_add: segment " + std::to_string(s); };
        if (!usable_lora_matrix(g.a) || !usable_lora_matrix(g.b)) {
            fail(invalid_argument(which() + ": A and B must be F32 or F16 weight tensors"));
            return;
        }
        if (g.a->cols != in || g.b->rows != out_cols || g.b->cols != g.a->rows) {
            fail(invalid_argument(which() + ": A [" + std::to_string(g.a->rows) + ", " + std::to_string(g.a->cols) +
                                  "] and B [" + std::to_string(g.b->rows) + ", " + std::to_string(g.b->cols) +
                                  "] do not fit x [*, " + std::to_string(in) + "] and out [*, " +
                                  std::to_string(out_cols) + "]"));
            return;
        }
        if (g.first_row < 0 || g.n_rows < 0 || int64_t{g.first_row} + g.n_rows > x.rows) {
            fail(invalid_argument(which() + ": rows [" + std::to_string(g.first_row) + ", +" +
                                  std::to_string(g.n_rows) + ") outside the " + std::to_string(x.rows) + " rows"));
            return;
        }
        if (!std::isfinite(g.scale)) {
            fail(invalid_argument(which() + ": the scale is not finite"));
            return;
        }
        const int64_t rank = g.a->rows;
        max_rank = std::max(max_rank, rank);
        tmp_offset[s + 1] = tmp_offset[s] + int64_t{g.n_rows} * rank;
        task_offset[s + 1] = task_offset[s] + rank * ((g.n_rows + kShrinkRows - 1) / kShrinkRows);
    }
    const int64_t n_tasks = task_offset.back();
    if (n_tasks == 0) return;
    if (!lora_tmp_.reserve(static_cast<size_t>(tmp_offset.back()) * sizeof(float))) {
        fail(out_of_memory("lora_add: cannot allocate scratch"));
        return;
    }
    const size_t widen_floats = static_cast<size_t>(std::max(in, max_rank));
    for (AlignedBuffer& b : thread_scratch_) {
        if (!b.reserve(widen_floats * sizeof(float))) {
            fail(out_of_memory("lora_add: cannot allocate scratch"));
            return;
        }
    }
    float* tmp = lora_tmp_.as<float>();
    const float* xs = static_cast<const float*>(x.data);
    float* os = static_cast<float*>(out.data);

    // Pass 1: tmp_s[i][r] = dot(x[first + i], A_s[r]).
    pool_.run(n_tasks, [&](int64_t task, int thread) {
        const auto next = std::upper_bound(task_offset.begin(), task_offset.end(), task);
        const auto s = static_cast<size_t>(next - task_offset.begin() - 1);
        const LoraSegment& g = segments[s];
        const int64_t rank = g.a->rows;
        const int64_t local = task - task_offset[s];
        const int64_t r = local % rank;
        const int64_t row_begin = local / rank * kShrinkRows;
        const int64_t row_end = std::min<int64_t>(row_begin + kShrinkRows, g.n_rows);
        const float* a_row = matrix_row(*g.a, r, thread_scratch_[static_cast<size_t>(thread)].as<float>());
        float* t = tmp + tmp_offset[s];
        for (int64_t i = row_begin; i < row_end; ++i)
            t[i * rank + r] = dot_f32(a_row, xs + (g.first_row + i) * in, in);
    });

    // Pass 2: out[first + i][o] += scale * tmp_s[i][r] * Bᵀ_s[r][o], column chunks in parallel.
    std::vector<const float*> bt(segments.size());
    for (size_t s = 0; s < segments.size(); ++s) {
        bt[s] = lora_b_transposed(*segments[s].b);
        if (!bt[s]) return;
    }
    const int64_t work_per_col = std::max<int64_t>(tmp_offset.back(), 1);
    const int64_t grain = std::max<int64_t>(16, kExpandGrainWork / work_per_col);
    pool_.parallel_for(out_cols, grain, [&](int64_t begin, int64_t end, int) {
        const int64_t width = end - begin;
        for (size_t s = 0; s < segments.size(); ++s) {
            const LoraSegment& g = segments[s];
            const int64_t rank = g.a->rows;
            const float* t = tmp + tmp_offset[s];
            for (int64_t i = 0; i < g.n_rows; ++i) {
                float* o = os + (g.first_row + i) * out_cols + begin;
                for (int64_t r = 0; r < rank; ++r) {
                    const float c = g.scale * t[i * rank + r];
                    const float* b = bt[s] + r * out_cols + begin;
                    for (int64_t j = 0; j < width; ++j) o[j] += c * b[j];
                }
            }
        }
    });
}

const float* CpuBackend::lora_b_transposed(const Tensor& b) {
    // Shape, type and the bits of a few spread-out values.
    uint64_t fingerprint = static_cast<uint64_t>(b.rows) * 0x9e3779b97f4a7c15ull ^
                           static_cast<uint64_t>(b.cols) << 20 ^ static_cast<uint64_t>(b.type);
    const int64_t n = b.rows * b.cols;
    const size_t elem = b.type == GgmlType::F32 ? 4 : 2;
    for (int64_t k : {int64_t{0}, n / 3, n / 2, n - 1}) {
        uint32_t bits = 0;
        std::memcpy(&bits, static_cast<const uint8_t*>(b.data) + static_cast<size_t>(k) * elem, elem);
        fingerprint = (fingerprint ^ bits) * 0x100000001b3ull;
    }
    auto it = lora_bt_.find(b.data);
    if (it != lora_bt_.end() && it->second.fingerprint == fingerprint) return it->second.values.data();
    std::vector<float> t;
    try {
        t.resize(static_cast<size_t>(n));
    } catch (const std::bad_alloc&) {
        fail(out_of_memory("lora_add: cannot allocate B transposed"));
        return nullptr;
    }
    std::vector<float> row(static_cast<size_t>(b.cols));
    for (int64_t o = 0; o < b.rows; ++o) {
        const float* src = matrix_row(b, o, row.data());
        for (int64_t r = 0; r < b.cols; ++r) t[static_cast<size_t>(r * b.rows + o)] = src[r];
    }
    TransposedB& entry = lora_bt_[b.data];
    entry = {fingerprint, std::move(t)};
    return entry.values.data();
}

void CpuBackend::free_weight(const Tensor& weight) { lora_bt_.erase(weight.data); }

}  // namespace pagoda::cpu
