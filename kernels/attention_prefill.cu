// Paged attention for many queries per sequence (prefill and chunked prefill), tiled.
//
// Block (tile, head): up to kPrefillTileRows (16) consecutive tokens of one sequence
// against all keys 0..max position of the tile, BK keys at a time. K/V tiles are
// gathered through the block table into shared memory (fp32, rows padded by one float
// against bank conflicts). 128 threads: 8 per query row; thread (r, c) scores keys
// c + 8 jj and owns output values c + 8 i of row r. Causal masking per row by position,
// online softmax in fp32. A first, straightforward version: no tensor cores.
#include "attention_common.cuh"
#include "kernel_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kRows = kPrefillTileRows;
constexpr int kThreads = 128;
constexpr int kLanesPerRow = kThreads / kRows;  // 8
static_assert(kLanesPerRow == 8);

template <int HD, int BK>
constexpr size_t prefill_smem_bytes() {
    return sizeof(float) * (kRows * (HD + 1) + BK * (HD + 1) + BK * HD + kRows * (BK + 1));
}

template <GgmlType KV, int HD, int BK>
__global__ void __launch_bounds__(kThreads) attention_prefill_kernel(AttentionPrefillArgs pa) {
    const AttentionArgs& a = pa.attn;
    const PrefillTile tile = pa.tiles[blockIdx.x];
    const int h = blockIdx.y;
    const int kvh = h / (a.n_heads / a.n_kv_heads);
    const int row_values = a.n_kv_heads * HD;

    PAGODA_DYNAMIC_SMEM(float, smem);
    float* s_q = smem;                    // [kRows][HD + 1]
    float* s_k = s_q + kRows * (HD + 1);  // [BK][HD + 1]
    float* s_v = s_k + BK * (HD + 1);     // [BK][HD]
    float* s_p = s_v + BK * HD;           // [kRows][BK + 1]
    __shared__ int32_t s_pos[kRows];
    __shared__ int64_t s_slot[BK];
    __shared__ int32_t s_max_pos;

    const int32_t seq = a.token_seq[tile.first_token];
    const int32_t* table = a.block_tables + static_cast<int64_t>(seq) * a.max_blocks_per_seq;

    if (threadIdx.x < kRows) {
        s_pos[threadIdx.x] =
            static_cast<int>(threadIdx.x) < tile.n_tokens ? a.positions[tile.first_token + threadIdx.x] : -1;
    }
    for (int idx = threadIdx.x; idx < kRows * HD; idx += kThreads) {
        const int r = idx / HD;
        const int d = idx % HD;
        float v = 0.0f;
        if (r < tile.n_tokens) v = a.q[(static_cast<int64_t>(tile.first_token + r) * a.n_heads + h) * HD + d];
        s_q[r * (HD + 1) + d] = v;
    }
    __syncthreads();
    // Round as the CPU does (round_query), then scale: one thread per block of 32 values.
    if constexpr (KV == GgmlType::Q8_0) {
        for (int idx = threadIdx.x; idx < kRows * (HD / 32); idx += kThreads) {
            float* qb = s_q + (idx / (HD / 32)) * (HD + 1) + (idx % (HD / 32)) * 32;
            float amax = 0.0f;
            for (int i = 0; i < 32; ++i) amax = fmaxf(amax, fabsf(qb[i]));
            for (int i = 0; i < 32; ++i) qb[i] = round_query<KV>(qb[i], amax) * a.scale;
        }
    } else {
        for (int idx = threadIdx.x; idx < kRows * HD; idx += kThreads) {
            float* qv = s_q + (idx / HD) * (HD + 1) + idx % HD;
            *qv = round_query<KV>(*qv, 0.0f) * a.scale;
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int32_t mx = -1;
        for (int r = 0; r < kRows; ++r) mx = max(mx, s_pos[r]);
        s_max_pos = mx;
    }
    __syncthreads();
    const int32_t max_pos = s_max_pos;

    const int r = threadIdx.x / kLanesPerRow;
    const int c = threadIdx.x % kLanesPerRow;
    const int32_t my_pos = s_pos[r];
    float m = -INFINITY;
    float l = 0.0f;
    float o[HD / kLanesPerRow];
#pragma unroll
    for (int i = 0; i < HD / kLanesPerRow; ++i) o[i] = 0.0f;

    for (int kb = 0; kb <= max_pos; kb += BK) {
        if (threadIdx.x < BK) {
            const int key = kb + threadIdx.x;
            s_slot[threadIdx.x] = key <= max_pos ? kv_slot(table, a.block_size, key) : -1;
        }
        __syncthreads();
        for (int idx = threadIdx.x; idx < BK * (HD / 2); idx += kThreads) {
            const int key = idx / (HD / 2);
            const int e = 2 * (idx % (HD / 2));
            const int64_t slot = s_slot[key];
            float2 kv = make_float2(0.0f, 0.0f), vv = make_float2(0.0f, 0.0f);
            if (slot >= 0) {
                kv = load_kv2<KV>(a.k_pool, slot, row_values, kvh * HD + e);
                vv = load_kv2<KV>(a.v_pool, slot, row_values, kvh * HD + e);
            }
            s_k[key * (HD + 1) + e] = kv.x;
            s_k[key * (HD + 1) + e + 1] = kv.y;
            s_v[key * HD + e] = vv.x;
            s_v[key * HD + e + 1] = vv.y;
        }
        __syncthreads();

        float s[BK / kLanesPerRow];
#pragma unroll
        for (int jj = 0; jj < BK / kLanesPerRow; ++jj) s[jj] = 0.0f;
#pragma unroll 8
        for (int d = 0; d < HD; ++d) {
            const float qd = s_q[r * (HD + 1) + d];
#pragma unroll
            for (int jj = 0; jj < BK / kLanesPerRow; ++jj) s[jj] += qd * s_k[(c + kLanesPerRow * jj) * (HD + 1) + d];
        }
        float tile_max = -INFINITY;
#pragma unroll
        for (int jj = 0; jj < BK / kLanesPerRow; ++jj) {
            const bool visible = kb + c + kLanesPerRow * jj <= my_pos;
            s[jj] = visible ? s[jj] : -INFINITY;
            tile_max = fmaxf(tile_max, s[jj]);
        }
        tile_max = group_max<kLanesPerRow>(tile_max);
        const float m_new = fmaxf(m, tile_max);
        float corr = 1.0f;
        float row_sum = 0.0f;
        if (m_new != -INFINITY) {
            corr = __expf(m - m_new);
#pragma unroll
            for (int jj = 0; jj < BK / kLanesPerRow; ++jj) {
                s[jj] = s[jj] == -INFINITY ? 0.0f : __expf(s[jj] - m_new);
                row_sum += s[jj];
            }
        } else {
#pragma unroll
            for (int jj = 0; jj < BK / kLanesPerRow; ++jj) s[jj] = 0.0f;
        }
        row_sum = group_sum<kLanesPerRow>(row_sum);
        l = l * corr + row_sum;
        m = m_new;
#pragma unroll
        for (int jj = 0; jj < BK / kLanesPerRow; ++jj) s_p[r * (BK + 1) + c + kLanesPerRow * jj] = s[jj];
        __syncwarp();  // a row's 8 threads share a warp
#pragma unroll
        for (int i = 0; i < HD / kLanesPerRow; ++i) o[i] *= corr;
#pragma unroll 4
        for (int kk = 0; kk < BK; ++kk) {
            const float p = s_p[r * (BK + 1) + kk];
#pragma unroll
            for (int i = 0; i < HD / kLanesPerRow; ++i) o[i] += p * s_v[kk * HD + c + kLanesPerRow * i];
        }
        __syncthreads();  // before the next tile overwrites s_k, s_v, s_slot
    }

    if (r < tile.n_tokens && l > 0.0f) {
        float* out = a.out + (static_cast<int64_t>(tile.first_token + r) * a.n_heads + h) * HD;
        const float inv = 1.0f / l;
#pragma unroll
        for (int i = 0; i < HD / kLanesPerRow; ++i) out[c + kLanesPerRow * i] = o[i] * inv;
    }
}

template <GgmlType KV, int HD>
cudaError_t launch_hd(const AttentionPrefillArgs& a, cudaStream_t stream) {
    constexpr int kBk = HD <= 128 ? 32 : 16;
    constexpr size_t smem = prefill_smem_bytes<HD, kBk>();
    auto kernel = attention_prefill_kernel<KV, HD, kBk>;
    if (smem > 48 * 1024) {
        const cudaError_t err =
            cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
        if (err != cudaSuccess) return err;
    }
    const dim3 grid(static_cast<unsigned int>(a.n_tiles), static_cast<unsigned int>(a.attn.n_heads));
    PAGODA_LAUNCH(grid, kThreads, smem, stream, kernel)(a);
    return cudaGetLastError();
}

template <GgmlType KV>
cudaError_t launch_kv(const AttentionPrefillArgs& a, cudaStream_t stream) {
    switch (a.attn.head_dim) {
        case 64:
            return launch_hd<KV, 64>(a, stream);
        case 80:
            return launch_hd<KV, 80>(a, stream);
        case 96:
            return launch_hd<KV, 96>(a, stream);
        case 112:
            return launch_hd<KV, 112>(a, stream);
        case 128:
            return launch_hd<KV, 128>(a, stream);
        case 256:
            return launch_hd<KV, 256>(a, stream);
        default:
            return cudaErrorInvalidValue;
    }
}

}  // namespace

bool attention_prefill_supported(int32_t head_dim) {
    switch (head_dim) {
        case 64:
        case 80:
        case 96:
        case 112:
        case 128:
        case 256:
            return true;
        default:
            return false;
    }
}

cudaError_t launch_attention_prefill(const AttentionPrefillArgs& a, cudaStream_t stream) {
    if (a.n_tiles <= 0) return cudaSuccess;
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
