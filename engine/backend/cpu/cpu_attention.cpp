// attention: causal attention of each token's query heads over its sequence's paged KV.
//
// Work item = (token, KV head): the n_heads / n_kv_heads query heads that share a KV
// head are done together, so each K and V row is read once for all of them. The KV range
// of an item is cut into fixed chunks of kChunk positions; a chunk gets an exact
// two-pass softmax (scores buffered), and chunk results (max, sum, weighted V) are merged
// in chunk order, flash-attention style. Memory per thread is O(chunk), whatever the
// context length.
//
// When there are fewer items than threads (decode of a few sequences), chunks of one
// item are spread over threads and merged afterwards in the same order, so results are
// bit-identical whichever way the work was split, and so for any thread count.
//
// Like llama.cpp, the query is seen through the KV cache's vec_dot_type for the QK dot:
// rounded to fp16 for an F16 cache (then dotted in fp32 with the K row widened to fp32,
// which is exact per product), quantized to Q8_0 for a Q8_0 cache (the quant library's
// integer vec_dot).
#include <algorithm>
#include <cmath>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_math.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda::cpu {
namespace {

constexpr int32_t kChunk = 256;  // KV positions per chunk
// Partial results for split items are kept only up to this size; above it, items run whole.
constexpr size_t kMaxPartialBytes = size_t{64} << 20;

// What every work item of one attention call shares.
struct AttentionJob {
    const KvCache* kv = nullptr;
    int32_t layer = 0;
    int32_t n_heads = 0;
    int32_t n_kv_heads = 0;
    int32_t group = 0;  // query heads per KV head
    int32_t head_dim = 0;
    float scale = 1.0f;
    GgmlType kv_type = GgmlType::F16;
    GgmlType q_type = GgmlType::F32;  // encoding of q_enc: F32 (fp16-rounded for an F16 cache) or Q8_0
    VecDotFn k_dot = nullptr;         // Q8_0 cache: the quant library's dot of a K row with a Q8_0 query
    bool float_dot = false;           // F32/F16 cache: K widened to fp32, dotted with the query's fp32 values
    size_t q_head_bytes = 0;          // one encoded query head
    int64_t block_size = 0;
    const float* q = nullptr;  // [n_tokens, n_heads * head_dim]
    float* out = nullptr;      // [n_tokens, n_heads * head_dim]

    size_t partial_floats() const { return static_cast<size_t>(group) * (static_cast<size_t>(head_dim) + 2); }
};

// Per-thread scratch carved out of one buffer.
struct ThreadScratch {
    uint8_t* q_enc;  // [group, q_head_bytes]
    float* scores;   // [group, kChunk]
    int64_t* slots;  // [kChunk] KV slot of each position of the chunk
    float* k_row;    // [head_dim]
    float* v_row;    // [4, head_dim]
    float* partial;  // [group, 2 + head_dim]: max, sum, acc
    float* running;  // [group, 2 + head_dim]
};

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

size_t scratch_bytes(const AttentionJob& job) {
    const size_t row = align_up(static_cast<size_t>(job.head_dim) * sizeof(float));
    return align_up(static_cast<size_t>(job.group) * job.q_head_bytes) +
           align_up(static_cast<size_t>(job.group) * kChunk * sizeof(float)) + align_up(kChunk * sizeof(int64_t)) +
           5 * row + 2 * align_up(job.partial_floats() * sizeof(float));
}

ThreadScratch carve(const AttentionJob& job, AlignedBuffer& buffer) {
    const size_t row = align_up(static_cast<size_t>(job.head_dim) * sizeof(float));
    uint8_t* p = buffer.as<uint8_t>();
    ThreadScratch s;
    s.q_enc = p;
    p += align_up(static_cast<size_t>(job.group) * job.q_head_bytes);
    s.scores = reinterpret_cast<float*>(p);
    p += align_up(static_cast<size_t>(job.group) * kChunk * sizeof(float));
    s.slots = reinterpret_cast<int64_t*>(p);
    p += align_up(kChunk * sizeof(int64_t));
    s.k_row = reinterpret_cast<float*>(p);
    p += row;
    s.v_row = reinterpret_cast<float*>(p);
    p += 4 * row;
    s.partial = reinterpret_cast<float*>(p);
    p += align_up(job.partial_floats() * sizeof(float));
    s.running = reinterpret_cast<float*>(p);
    return s;
}

// A cache row as fp32: in place for F32, else widened into `buffer`.
inline const float* kv_row_f32(GgmlType type, const uint8_t* raw, float* buffer, int32_t n) {
    if (type == GgmlType::F32) return reinterpret_cast<const float*>(raw);
    if (type == GgmlType::F16) {
        f16_row_to_f32(reinterpret_cast<const uint16_t*>(raw), buffer, n);
    } else {
        kv_decode_row(type, raw, buffer, n);
    }
    return buffer;
}

// Encodes the group's query heads of token t for the QK dot: as Q8_0 for a Q8_0 cache;
// for an F16 cache rounded to fp16 (as llama.cpp's F16 dot sees it) and kept as fp32.
void encode_query(const AttentionJob& job, int64_t token, int32_t kv_head, uint8_t* q_enc) {
    const float* q =
        job.q + token * job.n_heads * job.head_dim + static_cast<int64_t>(kv_head) * job.group * job.head_dim;
    for (int32_t h = 0; h < job.group; ++h) {
        const float* src = q + static_cast<int64_t>(h) * job.head_dim;
        uint8_t* dst = q_enc + h * job.q_head_bytes;
        if (job.kv_type == GgmlType::F16) {
            auto* out = reinterpret_cast<float*>(dst);
            uint16_t half[256];
            for (int32_t d0 = 0; d0 < job.head_dim; d0 += 256) {
                const int32_t len = std::min(256, job.head_dim - d0);
                kv_encode_row(GgmlType::F16, src + d0, half, len);
                kv_decode_row(GgmlType::F16, half, out + d0, len);
            }
        } else {
            kv_encode_row(job.q_type, src, dst, job.head_dim);
        }
    }
}

// Attention of the group's heads over positions [p0, p1) of one sequence, as a partial:
// for each head, [max score, sum of exp(score - max), sum of exp(score - max) * V].
// Kept out of line so every path runs the very same instructions.
[[gnu::noinline]] void attend_chunk(const AttentionJob& job, const int32_t* block_table, int32_t kv_head, int64_t p0,
                                    int64_t p1, const ThreadScratch& s, float* partial) {
    const int32_t G = job.group;
    const int32_t D = job.head_dim;
    const int64_t n = p1 - p0;
    const size_t head_offset = static_cast<size_t>(kv_head) * job.kv->head_bytes();

    // The chunk's KV slots, walked block by block (a block's slots are contiguous).
    for (int64_t pos = p0; pos < p1;) {
        const int64_t offset = pos % job.block_size;
        const int64_t run = std::min(job.block_size - offset, p1 - pos);
        const int64_t first_slot = static_cast<int64_t>(block_table[pos / job.block_size]) * job.block_size + offset;
        for (int64_t r = 0; r < run; ++r) s.slots[pos - p0 + r] = first_slot + r;
        pos += run;
    }
    // Scores.  [G, n]
    auto q_of = [&](int32_t h) { return reinterpret_cast<const float*>(s.q_enc + h * job.q_head_bytes); };
    for (int64_t j = 0; j < n; ++j) {
        const uint8_t* k = job.kv->k_slot(job.layer, s.slots[j]) + head_offset;
        if (job.float_dot) {
            const float* kf = kv_row_f32(job.kv_type, k, s.k_row, D);
            int32_t h = 0;
            for (; h + 4 <= G; h += 4) {  // the K row is loaded once for four heads
                float r4[4];
                dot4_f32(kf, q_of(h), q_of(h + 1), q_of(h + 2), q_of(h + 3), D, r4);
                for (int32_t i = 0; i < 4; ++i) s.scores[(h + i) * kChunk + j] = r4[i] * job.scale;
            }
            for (; h < G; ++h) s.scores[h * kChunk + j] = dot_f32(kf, q_of(h), D) * job.scale;
        } else {
            for (int32_t h = 0; h < G; ++h) {
                s.scores[h * kChunk + j] = job.k_dot(D, k, s.q_enc + h * job.q_head_bytes) * job.scale;
            }
        }
    }
    // Softmax numerators, in place.
    for (int32_t h = 0; h < G; ++h) {
        float* sc = s.scores + h * kChunk;
        float m = sc[0];
        for (int64_t j = 1; j < n; ++j) m = sc[j] > m ? sc[j] : m;
        for (int64_t j = 0; j < n; ++j) sc[j] = exp_approx(sc[j] - m);  // vectorized
        float sum = 0.0f;
        for (int64_t j = 0; j < n; ++j) sum += sc[j];
        float* ph = partial + static_cast<size_t>(h) * (D + 2);
        ph[0] = m;
        ph[1] = sum;
        std::fill(ph + 2, ph + 2 + D, 0.0f);
    }
    // Weighted sum of V, four positions at a time so each accumulator is loaded and
    // stored once per four rows (the adds still go in position order).
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float* v[4];
        for (int i = 0; i < 4; ++i) {
            v[i] = kv_row_f32(job.kv_type, job.kv->v_slot(job.layer, s.slots[j + i]) + head_offset,
                              s.v_row + static_cast<size_t>(i) * D, D);
        }
        for (int32_t h = 0; h < G; ++h) {
            const float* p = s.scores + h * kChunk + j;
            float* acc = partial + static_cast<size_t>(h) * (D + 2) + 2;
            for (int32_t d = 0; d < D; ++d) {
                float a = acc[d];
                a += p[0] * v[0][d];
                a += p[1] * v[1][d];
                a += p[2] * v[2][d];
                a += p[3] * v[3][d];
                acc[d] = a;
            }
        }
    }
    for (; j < n; ++j) {
        const float* v = kv_row_f32(job.kv_type, job.kv->v_slot(job.layer, s.slots[j]) + head_offset, s.v_row, D);
        for (int32_t h = 0; h < G; ++h) {
            const float p = s.scores[h * kChunk + j];
            float* acc = partial + static_cast<size_t>(h) * (D + 2) + 2;
            for (int32_t d = 0; d < D; ++d) acc[d] += p * v[d];
        }
    }
}

// running = running (+) part, for the group's heads; `first` starts the running value.
[[gnu::noinline]] void merge_partial(int32_t group, int32_t head_dim, bool first, const float* part, float* running) {
    const size_t stride = static_cast<size_t>(head_dim) + 2;
    if (first) {
        std::copy(part, part + group * stride, running);
        return;
    }
    for (int32_t h = 0; h < group; ++h) {
        float* r = running + h * stride;
        const float* p = part + h * stride;
        const float m = std::max(r[0], p[0]);
        const float a = std::exp(r[0] - m);
        const float b = std::exp(p[0] - m);
        r[0] = m;
        r[1] = r[1] * a + p[1] * b;
        for (int32_t d = 0; d < head_dim; ++d) r[2 + d] = r[2 + d] * a + p[2 + d] * b;
    }
}

// out = acc / sum for the group's heads of token t.
[[gnu::noinline]] void finish(const AttentionJob& job, int64_t token, int32_t kv_head, const float* running) {
    const int32_t D = job.head_dim;
    float* out = job.out + token * job.n_heads * D + static_cast<int64_t>(kv_head) * job.group * D;
    for (int32_t h = 0; h < job.group; ++h) {
        const float* r = running + static_cast<size_t>(h) * (D + 2);
        const float inv = 1.0f / r[1];
        for (int32_t d = 0; d < D; ++d) out[static_cast<int64_t>(h) * D + d] = r[2 + d] * inv;
    }
}

int64_t chunks_of(int64_t n_pos) { return (n_pos + kChunk - 1) / kChunk; }

}  // namespace

void CpuBackend::attention(int32_t layer, const Tensor& q, Tensor& out, const AttentionParams& params) {
    if (failed() || !check_step("attention") || !check_kv("attention", layer)) return;
    const KvCacheConfig& kvc = kv_.config();
    if (params.n_heads <= 0 || params.n_kv_heads <= 0 || params.n_heads % params.n_kv_heads != 0 ||
        params.n_kv_heads != kvc.n_kv_heads || params.head_dim != kvc.head_dim || !std::isfinite(params.scale)) {
        fail(invalid_argument("attention: n_heads " + std::to_string(params.n_heads) + ", n_kv_heads " +
                              std::to_string(params.n_kv_heads) + ", head_dim " + std::to_string(params.head_dim) +
                              " do not fit the KV cache (" + std::to_string(kvc.n_kv_heads) + " heads of " +
                              std::to_string(kvc.head_dim) + ")"));
        return;
    }
    const int32_t n_tokens = step_.n_tokens();
    const int64_t cols = static_cast<int64_t>(params.n_heads) * params.head_dim;
    if (!check_f32("attention", "q", q, n_tokens, cols) || !check_f32("attention", "out", out, n_tokens, cols)) return;
    if (n_tokens == 0) return;

    AttentionJob job;
    job.kv = &kv_;
    job.layer = layer;
    job.n_heads = params.n_heads;
    job.n_kv_heads = params.n_kv_heads;
    job.group = params.n_heads / params.n_kv_heads;
    job.head_dim = params.head_dim;
    job.scale = params.scale;
    job.kv_type = kvc.type;
    job.float_dot = kvc.type != GgmlType::Q8_0;
    job.q_type = job.float_dot ? GgmlType::F32 : vec_dot_type(kvc.type);
    job.k_dot = job.float_dot ? nullptr : get_vec_dot(kvc.type);
    const auto q_head_bytes = ggml_row_bytes(job.q_type, job.head_dim);
    if ((!job.float_dot && !job.k_dot) || !q_head_bytes) {
        fail(unsupported("attention: no dot product for this KV cache type"));
        return;
    }
    job.q_head_bytes = static_cast<size_t>(*q_head_bytes);
    job.block_size = kvc.block_size;
    job.q = static_cast<const float*>(q.data);
    job.out = static_cast<float*>(out.data);

    const size_t per_thread = scratch_bytes(job);
    for (AlignedBuffer& b : thread_scratch_) {
        if (!b.reserve(per_thread)) {
            fail(out_of_memory("attention: cannot allocate scratch"));
            return;
        }
    }

    // Items are (token, KV head); later tokens of a prompt see more KV, so they go first.
    const int64_t n_items = static_cast<int64_t>(n_tokens) * job.n_kv_heads;
    auto item_token = [&](int64_t item) { return item / job.n_kv_heads; };
    auto item_head = [&](int64_t item) { return static_cast<int32_t>(item % job.n_kv_heads); };
    auto item_positions = [&](int64_t item) {
        return static_cast<int64_t>(step_.positions[static_cast<size_t>(item_token(item))]) + 1;
    };
    auto item_table = [&](int64_t item) {
        return step_.block_table(step_.seq_of_token[static_cast<size_t>(item_token(item))]);
    };

    // Split items into chunk tasks when there are too few items to keep the threads busy.
    std::vector<int64_t> chunk_offset;  // [n_items + 1] first chunk task of each item
    bool split = false;
    if (pool_.size() > 1 && n_items < 2 * static_cast<int64_t>(pool_.size())) {
        chunk_offset.resize(static_cast<size_t>(n_items) + 1, 0);
        for (int64_t it = 0; it < n_items; ++it)
            chunk_offset[it + 1] = chunk_offset[it] + chunks_of(item_positions(it));
        const int64_t total_chunks = chunk_offset.back();
        const size_t partial_bytes = static_cast<size_t>(total_chunks) * job.partial_floats() * sizeof(float);
        split =
            total_chunks > n_items && partial_bytes <= kMaxPartialBytes && attention_partials_.reserve(partial_bytes);
    }

    if (!split) {
        pool_.run(n_items, [&](int64_t task, int thread) {
            const int64_t item = n_items - 1 - task;
            const ThreadScratch s = carve(job, thread_scratch_[static_cast<size_t>(thread)]);
            const int64_t t = item_token(item);
            const int32_t g = item_head(item);
            const int64_t n_pos = item_positions(item);
            const int32_t* table = item_table(item);
            encode_query(job, t, g, s.q_enc);
            for (int64_t c = 0; c < chunks_of(n_pos); ++c) {
                attend_chunk(job, table, g, c * kChunk, std::min(n_pos, (c + 1) * kChunk), s, s.partial);
                merge_partial(job.group, job.head_dim, c == 0, s.partial, s.running);
            }
            finish(job, t, g, s.running);
        });
        return;
    }

    // Split: every chunk of every item is a task writing its partial; then each item
    // merges its partials in chunk order.
    float* partials = attention_partials_.as<float>();
    const int64_t total_chunks = chunk_offset.back();
    pool_.run(total_chunks, [&](int64_t task, int thread) {
        const int64_t item =
            std::upper_bound(chunk_offset.begin(), chunk_offset.end(), task) - chunk_offset.begin() - 1;
        const int64_t c = task - chunk_offset[static_cast<size_t>(item)];
        const ThreadScratch s = carve(job, thread_scratch_[static_cast<size_t>(thread)]);
        const int64_t n_pos = item_positions(item);
        const int32_t g = item_head(item);
        encode_query(job, item_token(item), g, s.q_enc);
        attend_chunk(job, item_table(item), g, c * kChunk, std::min(n_pos, (c + 1) * kChunk), s,
                     partials + static_cast<size_t>(task) * job.partial_floats());
    });
    pool_.run(n_items, [&](int64_t item, int thread) {
        const ThreadScratch s = carve(job, thread_scratch_[static_cast<size_t>(thread)]);
        for (int64_t task = chunk_offset[static_cast<size_t>(item)]; task < chunk_offset[static_cast<size_t>(item) + 1];
             ++task) {
            merge_partial(job.group, job.head_dim, task == chunk_offset[static_cast<size_t>(item)],
                          partials + static_cast<size_t>(task) * job.partial_floats(), s.running);
        }
        finish(job, item_token(item), item_head(item), s.running);
    });
}

}  // namespace pagoda::cpu
