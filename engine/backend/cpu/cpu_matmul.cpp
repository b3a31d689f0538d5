// matmul: out[t][o] = dot(x[t], w[o]) for weights in any runnable encoding.
//
// Quantized and BF16 weights go llama.cpp's CPU way: each activation row is encoded once
// into the weight type's vec_dot_type (Q8_0, Q8_1, Q8_K, BF16), then every output is one
// vec_dot of a weight row with an encoded activation row; where the quant library has a
// tile kernel (quant::get_gemm) a whole tile goes to it instead, computing each output
// exactly as vec_dot does but decoding weight blocks once for 16 tokens, or streaming
// 16 weight rows at once for a single token. F32 and F16 weights are dotted
// with the fp32 activations (F16 rows widened exactly to fp32): llama.cpp's x86 prompt
// path (tinyBLAS) does the same for F16, and keeping activations unrounded makes a row's
// result independent of the batch it is in. Work is cut into tiles of
// (weight rows x tokens): inside a tile each weight row is dotted with every token of the
// tile while it sits in L1, and the tile's activation rows stay in L2 across the rows.
// Tiles are numbered weight-row-tile major, so threads running neighbouring tiles share
// weight rows through the last-level cache and each weight byte comes from DRAM about once.
#include <algorithm>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_math.h"
#include "model/ggml_type.h"
#include "model/quant/gemm_kernels.h"
#include "model/quant/quant.h"

namespace pagoda::cpu {
namespace {

// Bytes of activation rows a tile keeps hot (well inside a core's L2).
constexpr size_t kActTileBytes = 128 * 1024;
constexpr int64_t kMaxTokTile = 32;
constexpr int64_t kMinRowTile = 4;
constexpr int64_t kMaxRowTile = 256;
// Below this many multiply-adds a matmul runs on the calling thread alone.
constexpr int64_t kSerialWork = 1 << 16;

// An F16 row widened to fp32 and dotted with x, chunk by chunk; the same arithmetic as
// dot_f32 on the widened row.
float dot_f16_f32(const uint8_t* w, const float* x, int64_t n) {
    constexpr int64_t kChunk = 256;  // a multiple of kDotLanes
    float acc[kDotLanes] = {};
    float buf[kChunk];
    const auto* h = reinterpret_cast<const uint16_t*>(w);
    const int64_t n16 = n / kDotLanes * kDotLanes;
    for (int64_t i = 0; i < n16; i += kChunk) {
        const int64_t len = std::min(kChunk, n16 - i);
        kv_decode_row(GgmlType::F16, h + i, buf, len);
        dot_accumulate(acc, buf, x + i, len);
    }
    kv_decode_row(GgmlType::F16, h + n16, buf, n - n16);
    return dot_fold(acc, dot_tail(buf, x + n16, n - n16));
}

bool overlaps(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
    const auto* pa = static_cast<const uint8_t*>(a);
    const auto* pb = static_cast<const uint8_t*>(b);
    return pa < pb + b_bytes && pb < pa + a_bytes;
}

}  // namespace

void CpuBackend::matmul(const Tensor& w, const Tensor& x, Tensor& out) {
    if (failed()) return;
    const auto info = ggml_type_info(static_cast<uint32_t>(w.type));
    if (!info || !info->runnable || !w.data || w.rows <= 0 || w.cols <= 0 || !ggml_row_bytes(w.type, w.cols)) {
        fail(invalid_argument("matmul: w is not a usable weight tensor"));
        return;
    }
    if (!check_f32("matmul", "x", x, -1, w.cols) || !check_f32("matmul", "out", out, x.rows, w.rows)) return;
    const int64_t n = x.rows;  // tokens
    const int64_t m = w.rows;  // output features
    const int64_t k = w.cols;  // input features
    if (n == 0) return;
    if (overlaps(x.data, static_cast<size_t>(n * k) * sizeof(float), out.data,
                 static_cast<size_t>(n * m) * sizeof(float))) {
        fail(invalid_argument("matmul: out overlaps x"));
        return;
    }

    // F32 and F16 weights use the fp32 kernels; the rest the quant library's vec_dot.
    const bool float_kernel = w.type == GgmlType::F32 || w.type == GgmlType::F16;
    const GgmlType act_type = float_kernel ? GgmlType::F32 : vec_dot_type(w.type);
    const VecDotFn dot = float_kernel ? nullptr : get_vec_dot(w.type);
    // Tile kernel: several weight rows x several tokens per call, each output computed
    // exactly as `dot` computes it (gemm_kernels.h), so batches stay invariant.
    const quant::GemmFn gemm = float_kernel ? nullptr : quant::get_gemm(w.type);
    const auto act_row_bytes_opt = ggml_row_bytes(act_type, k);
    if ((!float_kernel && !dot) || !act_row_bytes_opt) {
        fail(unsupported(std::string("matmul: cannot multiply ") + info->name + " weights with " + std::to_string(k) +
                         " columns"));
        return;
    }
    const size_t act_row_bytes = static_cast<size_t>(*act_row_bytes_opt);
    const size_t w_row_bytes = static_cast<size_t>(*ggml_row_bytes(w.type, k));
    const bool serial = m * k * n < kSerialWork;
    if (w.type == GgmlType::F16 && n > 1) {
        // Each F16 weight row is widened once per tile into the thread's scratch.
        for (AlignedBuffer& b : thread_scratch_) {
            if (!b.reserve(static_cast<size_t>(k) * sizeof(float))) {
                fail(out_of_memory("matmul: cannot allocate scratch"));
                return;
            }
        }
    }

    // 1. Encode the activations once.  [n, k] fp32 -> [n, act_row_bytes]
    const uint8_t* acts = static_cast<const uint8_t*>(x.data);
    if (act_type != GgmlType::F32) {
        if (!matmul_act_.reserve(static_cast<size_t>(n) * act_row_bytes)) {
            fail(out_of_memory("matmul: cannot allocate the encoded activations"));
            return;
        }
        uint8_t* dst = matmul_act_.as<uint8_t>();
        const float* src = static_cast<const float*>(x.data);
        auto encode = [&](int64_t begin, int64_t end, int) {
            for (int64_t t = begin; t < end; ++t) {
                (void)quantize_row(act_type, src + t * k, dst + static_cast<size_t>(t) * act_row_bytes, k);
            }
        };
        if (serial) {
            encode(0, n, 0);
        } else {
            pool_.parallel_for(n, std::max<int64_t>(1, 16384 / k), encode);
        }
        acts = dst;
    }

    // 2. Tiles of [row_tile weight rows] x [tok_tile tokens].
    // The fp32 kernels take tokens four at a time, so their tiles hold at least four.
    const int64_t min_tok_tile = std::min<int64_t>(n, float_kernel ? 4 : 1);
    int64_t tok_tile =
        std::clamp<int64_t>(static_cast<int64_t>(kActTileBytes / std::max<size_t>(act_row_bytes, 1)), min_tok_tile,
                            std::min<int64_t>(n, kMaxTokTile));
    // The tile kernels take tokens sixteen at a time (one per vector lane): no ragged
    // group inside a full tile.
    if (gemm && tok_tile > 16 && tok_tile < n) tok_tile = tok_tile / 16 * 16;
    const int64_t n_tok_tiles = (n + tok_tile - 1) / tok_tile;
    const int64_t wanted_tasks = 8 * static_cast<int64_t>(pool_.size());
    const int64_t wanted_row_tiles = std::max<int64_t>(1, (wanted_tasks + n_tok_tiles - 1) / n_tok_tiles);
    int64_t row_tile = std::clamp<int64_t>((m + wanted_row_tiles - 1) / wanted_row_tiles, kMinRowTile, kMaxRowTile);
    // ... and, for one token, weight rows sixteen at a time.
    if (gemm) row_tile = (row_tile + 15) / 16 * 16;
    const int64_t n_row_tiles = (m + row_tile - 1) / row_tile;

    const auto* wbase = static_cast<const uint8_t*>(w.data);
    float* obase = static_cast<float*>(out.data);
    const float* xf = static_cast<const float*>(x.data);
    auto run_tile = [&](int64_t task, int thread) {
        const int64_t rt = task / n_tok_tiles;
        const int64_t tt = task % n_tok_tiles;
        const int64_t o_begin = rt * row_tile;
        const int64_t o_end = std::min(m, o_begin + row_tile);
        const int64_t t_begin = tt * tok_tile;
        const int64_t t_end = std::min(n, t_begin + tok_tile);
        if (gemm) {
            gemm(k, wbase + static_cast<size_t>(o_begin) * w_row_bytes, w_row_bytes, o_end - o_begin,
                 acts + static_cast<size_t>(t_begin) * act_row_bytes, act_row_bytes, t_end - t_begin,
                 obase + t_begin * m + o_begin, static_cast<size_t>(m));
            return;
        }
        for (int64_t o = o_begin; o < o_end; ++o) {
            const uint8_t* wr = wbase + static_cast<size_t>(o) * w_row_bytes;
            if (!float_kernel) {
                for (int64_t t = t_begin; t < t_end; ++t) {
                    obase[t * m + o] = dot(k, wr, acts + static_cast<size_t>(t) * act_row_bytes);
                }
                continue;
            }
            if (w.type == GgmlType::F16 && t_end - t_begin == 1) {
                obase[t_begin * m + o] = dot_f16_f32(wr, xf + t_begin * k, k);
                continue;
            }
            const float* wf = reinterpret_cast<const float*>(wr);
            if (w.type == GgmlType::F16) {
                float* widened = thread_scratch_[static_cast<size_t>(thread)].as<float>();
                kv_decode_row(GgmlType::F16, wr, widened, k);
                wf = widened;
            }
            int64_t t = t_begin;
            for (; t + 4 <= t_end; t += 4) {
                float r[4];
                dot4_f32(wf, xf + t * k, xf + (t + 1) * k, xf + (t + 2) * k, xf + (t + 3) * k, k, r);
                for (int j = 0; j < 4; ++j) obase[(t + j) * m + o] = r[j];
            }
            for (; t < t_end; ++t) obase[t * m + o] = dot_f32(wf, xf + t * k, k);
        }
    };
    const int64_t n_tasks = n_row_tiles * n_tok_tiles;
    if (serial) {
        for (int64_t task = 0; task < n_tasks; ++task) run_tile(task, 0);
    } else {
        pool_.run(n_tasks, run_tile);
    }
}

}  // namespace pagoda::cpu
