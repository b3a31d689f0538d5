// CudaBackend::lora_add: host-side checks of the segments (the same refusals as any
// other op: a Status through end_step, never a launch with bad shapes), then per chunk
// of kLoraMaxSegments segments one shrink and one expand launch (launch_lora, kernels/lora.cu).
// The [n_rows, rank] intermediates of all segments live in the per-op workspace.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_backend.h"
#include "model/ggml_type.h"

namespace pagoda::cuda {
namespace {

// Generous: real adapters use ranks 8..256; this only keeps grids and scratch sane.
constexpr int64_t kMaxLoraRank = 1 << 15;

bool lora_matrix_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16; }

}  // namespace

void CudaBackend::lora_add(const Tensor& x, std::span<const LoraSegment> segments, Tensor& out) {
    if (failed()) return;
    if (!check_f32("lora_add", "x", x, -1, -1) || !check_f32("lora_add", "out", out, x.rows, -1)) return;
    if (segments.empty() || x.rows == 0) return;
    if (x.rows > INT32_MAX || x.cols == 0 || out.cols == 0 || segments.size() > INT32_MAX) {
        fail(invalid_argument("lora_add: x is [" + std::to_string(x.rows) + ", " + std::to_string(x.cols) +
                              "] and out has " + std::to_string(out.cols) + " columns (" +
                              std::to_string(segments.size()) + " segments)"));
        return;
    }
    if (x.data == out.data) {
        fail(invalid_argument("lora_add: out must not be x"));
        return;
    }
    // Validate every segment first, so a bad one leaves out untouched.
    uint64_t scratch_floats = 0;
    for (size_t i = 0; i < segments.size(); ++i) {
        const LoraSegment& s = segments[i];
        const std::string where = "lora_add: segment " + std::to_string(i);
        if (s.n_rows < 0 || s.first_row < 0 || static_cast<int64_t>(s.first_row) + s.n_rows > x.rows) {
            fail(invalid_argument(where + ": rows [" + std::to_string(s.first_row) + ", +" + std::to_string(s.n_rows) +
                                  ") outside the " + std::to_string(x.rows) + " rows of x"));
            return;
        }
        if (!s.a || !s.b || !s.a->data || !s.b->data) {
            fail(invalid_argument(where + ": missing A or B"));
            return;
        }
        if (!lora_matrix_type(s.a->type) || !lora_matrix_type(s.b->type)) {
            fail(invalid_argument(where + ": A and B must be f32 or f16"));
            return;
        }
        const int64_t rank = s.a->rows;
        if (rank <= 0 || rank > kMaxLoraRank || s.a->cols != x.cols || s.b->rows != out.cols || s.b->cols != rank) {
            fail(invalid_argument(where + ": A is [" + std::to_string(s.a->rows) + ", " + std::to_string(s.a->cols) +
                                  "] and B [" + std::to_string(s.b->rows) + ", " + std::to_string(s.b->cols) +
                                  "], expected [rank, " + std::to_string(x.cols) + "] and [" +
                                  std::to_string(out.cols) + ", rank] with 0 < rank <= " +
                                  std::to_string(kMaxLoraRank)));
            return;
        }
        if (!std::isfinite(s.scale)) {
            fail(invalid_argument(where + ": scale is not finite"));
            return;
        }
        scratch_floats += static_cast<uint64_t>(s.n_rows) * static_cast<uint64_t>(rank);
    }
    if (scratch_floats == 0) return;  // only empty segments
    if (scratch_floats > (uint64_t{1} << 34)) {
        fail(out_of_memory("lora_add: " + std::to_string(scratch_floats) + " intermediate values are too many"));
        return;
    }
    auto* scratch = static_cast<float*>(workspace(static_cast<size_t>(scratch_floats) * sizeof(float), "lora_add"));
    if (!scratch) return;

    std::vector<LoraSegmentDesc> descs;
    descs.reserve(segments.size());
    for (const LoraSegment& s : segments) {
        LoraSegmentDesc d{};
        d.a = s.a->data;
        d.b = s.b->data;
        d.a_type = s.a->type;
        d.b_type = s.b->type;
        d.rank = static_cast<int32_t>(s.a->rows);
        d.first_row = s.first_row;
        d.n_rows = s.n_rows;
        d.scale = s.scale;
        descs.push_back(d);
    }
    LoraLaunchArgs a{};
    a.x = static_cast<const float*>(x.data);
    a.out = static_cast<float*>(out.data);
    a.in_features = x.cols;
    a.out_features = out.cols;
    a.segments = descs.data();
    a.n_segments = static_cast<int32_t>(descs.size());
    a.scratch = scratch;
    launched(launch_lora(a, stream_), "lora_add");
}

}  // namespace pagoda::cuda
