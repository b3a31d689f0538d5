// Paged attention, one query token at a time (decode), flash-decoding style.
//
// Block (split, kv_head * g_chunks + g_chunk, token): the GMAX query heads of one GQA
// group that share a KV head, over keys [split * split_len, (split + 1) * split_len)
// of the token's visible range 0..positions[token]. Each warp takes every n_warps-th key;
// a lane holds value pairs (2 lane + 64 j) of head_dim, so K and V rows are read
// coalesced and shared by all GMAX heads. Each warp keeps an online softmax (max m,
// sum l, acc); warps then merge in shared memory. With one split the block writes the
// normalized output; with several it writes (m, l, acc) partials that
// attention_combine_kernel merges.
#include <algorithm>
#include <cfloat>

#include "attention_common.cuh"
#include "kernel_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarpSize;

template <GgmlType KV, int HDL, int GMAX>
__global__ void __launch_bounds__(kThreads) attention_decode_kernel(AttentionDecodeArgs da) {
    const AttentionArgs& a = da.attn;
    const int t = da.first_token + blockIdx.z;
    const int group = a.n_heads / a.n_kv_heads;
    const int g_chunks = (group + GMAX - 1) / GMAX;
    const int kvh = blockIdx.y / g_chunks;
    const int g0 = (blockIdx.y % g_chunks) * GMAX;
    const int ng = min(GMAX, group - g0);
    const int warp = threadIdx.x / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    const int hd = a.head_dim;
    const int row_values = a.n_kv_heads * hd;

    const int n_keys = a.positions[t] + 1;
    const int k_begin = blockIdx.x * da.split_len;
    const int k_end = min(n_keys, k_begin + da.split_len);
    const int32_t* table = a.block_tables + static_cast<int64_t>(a.token_seq[t]) * a.max_blocks_per_seq;

    // Queries, rounded as the CPU rounds them (round_query) and pre-scaled:
    // q[g][j] = values (2 lane + 64 j, +1) of head kvh * group + g0 + g.
    float2 q[GMAX][HDL];
    const float* q_tok = a.q + static_cast<int64_t>(t) * a.n_heads * hd;
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
#pragma unroll
        for (int j = 0; j < HDL; ++j) {
            const int e = 2 * lane + 64 * j;
            float2 v = make_float2(0.0f, 0.0f);
            if (g < ng && e < hd) v = *reinterpret_cast<const float2*>(q_tok + (kvh * group + g0 + g) * hd + e);
            // Lanes 0-15 hold one Q8_0 block of 32 values, lanes 16-31 the next.
            const float amax = KV == GgmlType::Q8_0 ? group_max<16>(fmaxf(fabsf(v.x), fabsf(v.y))) : 0.0f;
            v.x = round_query<KV>(v.x, amax) * a.scale;
            v.y = round_query<KV>(v.y, amax) * a.scale;
            q[g][j] = v;
        }
    }

    float m[GMAX], l[GMAX];
    float2 acc[GMAX][HDL];
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
#pragma unroll
        for (int j = 0; j < HDL; ++j) acc[g][j] = make_float2(0.0f, 0.0f);
    }

    for (int k = k_begin + warp; k < k_end; k += kWarps) {
        const int64_t slot = kv_slot(table, a.block_size, k);
        float2 kv[HDL], vv[HDL];
#pragma unroll
        for (int j = 0; j < HDL; ++j) {
            const int e = 2 * lane + 64 * j;
            if (e < hd) {
                kv[j] = load_kv2<KV>(a.k_pool, slot, row_values, kvh * hd + e);
                vv[j] = load_kv2<KV>(a.v_pool, slot, row_values, kvh * hd + e);
            } else {
                kv[j] = vv[j] = make_float2(0.0f, 0.0f);
            }
        }
#pragma unroll
        for (int g = 0; g < GMAX; ++g) {
            float s = 0.0f;
#pragma unroll
            for (int j = 0; j < HDL; ++j) s += q[g][j].x * kv[j].x + q[g][j].y * kv[j].y;
            s = warp_sum(s);
            const float m_new = fmaxf(m[g], s);
            const float corr = __expf(m[g] - m_new);  // 0 on the first key (m = -inf)
            const float p = __expf(s - m_new);
            l[g] = l[g] * corr + p;
#pragma unroll
            for (int j = 0; j < HDL; ++j) {
                acc[g][j].x = acc[g][j].x * corr + p * vv[j].x;
                acc[g][j].y = acc[g][j].y * corr + p * vv[j].y;
            }
            m[g] = m_new;
        }
    }

    // Merge the warps: [kWarps][GMAX] maxima and sums, [kWarps][GMAX][64 HDL] accumulators.
    __shared__ float s_m[kWarps][GMAX];
    __shared__ float s_l[kWarps][GMAX];
    __shared__ float s_acc[kWarps][GMAX][64 * HDL];
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
        if (lane == 0) {
            s_m[warp][g] = m[g];
            s_l[warp][g] = l[g];
        }
#pragma unroll
        for (int j = 0; j < HDL; ++j) {
            s_acc[warp][g][2 * lane + 64 * j] = acc[g][j].x;
            s_acc[warp][g][2 * lane + 64 * j + 1] = acc[g][j].y;
        }
    }
    __syncthreads();

    for (int idx = threadIdx.x; idx < ng * hd; idx += kThreads) {
        const int g = idx / hd;
        const int e = idx % hd;
        float mx = -INFINITY;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, s_m[w][g]);
        float sum = 0.0f, val = 0.0f;
        if (mx != -INFINITY) {
#pragma unroll
            for (int w = 0; w < kWarps; ++w) {
                if (s_m[w][g] == -INFINITY) continue;
                const float f = __expf(s_m[w][g] - mx);
                sum += s_l[w][g] * f;
                val += s_acc[w][g][e] * f;
            }
        }
        const int h = kvh * group + g0 + g;
        if (da.n_splits == 1) {
            a.out[(static_cast<int64_t>(t) * a.n_heads + h) * hd + e] = sum > 0.0f ? val / sum : 0.0f;
        } else {
            float* p = da.partials + ((static_cast<int64_t>(t) * a.n_heads + h) * da.n_splits + blockIdx.x) * (hd + 2);
            if (e == 0) {
                p[0] = mx;
                p[1] = sum;
            }
            p[2 + e] = val;
        }
    }
}

// One block per (token, head): merges the n_splits partials into the output row.
__global__ void attention_combine_kernel(AttentionDecodeArgs da) {
    const AttentionArgs& a = da.attn;
    const int64_t th = blockIdx.x;  // token * n_heads + head
    const int hd = a.head_dim;
    const float* p = da.partials + th * da.n_splits * (hd + 2);
    float mx = -INFINITY;
    for (int s = 0; s < da.n_splits; ++s) mx = fmaxf(mx, p[s * (hd + 2)]);
    for (int e = threadIdx.x; e < hd; e += blockDim.x) {
        float sum = 0.0f, val = 0.0f;
        for (int s = 0; s < da.n_splits; ++s) {
            const float* ps = p + s * (hd + 2);
            if (ps[0] == -INFINITY) continue;  // a split past the token's keys
            const float f = __expf(ps[0] - mx);
            sum += ps[1] * f;
            val += ps[2 + e] * f;
        }
        a.out[th * hd + e] = sum > 0.0f ? val / sum : 0.0f;
    }
}

template <GgmlType KV, int HDL, int GMAX>
cudaError_t launch_for(const AttentionDecodeArgs& a, cudaStream_t stream) {
    const int group = a.attn.n_heads / a.attn.n_kv_heads;
    const int g_chunks = (group + GMAX - 1) / GMAX;
    // gridDim.z is limited to 65535: long token lists go in several launches.
    constexpr int32_t kMaxGridZ = 65535;
    for (int32_t first = 0; first < a.attn.n_tokens; first += kMaxGridZ) {
        AttentionDecodeArgs part = a;
        part.first_token = first;
        const dim3 grid(static_cast<unsigned int>(a.n_splits), static_cast<unsigned int>(a.attn.n_kv_heads * g_chunks),
                        static_cast<unsigned int>(std::min(kMaxGridZ, a.attn.n_tokens - first)));
        PAGODA_LAUNCH(grid, kThreads, 0, stream, attention_decode_kernel<KV, HDL, GMAX>)(part);
        const cudaError_t err = cudaGetLastError();
        if (err != cudaSuccess) return err;
    }
    if (a.n_splits == 1) return cudaSuccess;
    const auto rows = static_cast<unsigned int>(a.attn.n_tokens * a.attn.n_heads);
    PAGODA_LAUNCH(rows, 128, 0, stream, attention_combine_kernel)(a);
    return cudaGetLastError();
}

// GMAX: the smallest of 1, 2, 4, 8 that covers the group (4 at most for wide heads, to
// bound registers); larger groups take several g_chunks.
template <GgmlType KV, int HDL>
cudaError_t launch_hdl(const AttentionDecodeArgs& a, cudaStream_t stream) {
    const int group = a.attn.n_heads / a.attn.n_kv_heads;
    if (group <= 1) return launch_for<KV, HDL, 1>(a, stream);
    if (group <= 2) return launch_for<KV, HDL, 2>(a, stream);
    if (group <= 4 || HDL > 2) return launch_for<KV, HDL, 4>(a, stream);
    return launch_for<KV, HDL, 8>(a, stream);
}

template <GgmlType KV>
cudaError_t launch_kv(const AttentionDecodeArgs& a, cudaStream_t stream) {
    switch ((a.attn.head_dim + 63) / 64) {
        case 1:
            return launch_hdl<KV, 1>(a, stream);
        case 2:
            return launch_hdl<KV, 2>(a, stream);
        case 3:
            return launch_hdl<KV, 3>(a, stream);
        case 4:
            return launch_hdl<KV, 4>(a, stream);
        default:
            return cudaErrorInvalidValue;
    }
}

}  // namespace

bool attention_decode_supported(int32_t head_dim) { return head_dim > 0 && head_dim <= 256 && head_dim % 2 == 0; }

cudaError_t launch_attention_decode(const AttentionDecodeArgs& a, cudaStream_t stream) {
    if (a.attn.n_tokens <= 0) return cudaSuccess;
    if (!attention_decode_supported(a.attn.head_dim) || a.n_splits < 1 || a.split_len < 1) return cudaErrorInvalidValue;
    switch (a.attn.kv_type) {
        case GgmlType::F32:
            return launch_kv<GgmlType::F32>(a, stream);
        case GgmlType::F16:
            return launch_kv<GgmlType::F16>(a, stream);
        case GgmlType::Q8_0:
            return launch_kv<GgmlType::Q8_0>(a, stream);
        default:
            return cudaErrorInvalidValue;
    }
}

}  // namespace pagoda::cuda
