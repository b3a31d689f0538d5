// Rotary position embedding, in place. One thread per rotated pair (i, partner):
// normal (llama) pairs (2i, 2i + 1), NeoX (qwen2/qwen3) pairs (i, i + n_rot / 2).
// theta_i = freq_scale * position * base^(-2i / n_rot) / freq_factors[i], with
// base^(-2i/n_rot) built by i float multiplications as ggml's CPU rope cache (and our CPU
// backend) does, so angles agree bit for bit and only cos/sin may differ by an ulp.
#include "cuda_common.cuh"
#include "kernel_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rope_kernel(RopeArgs a) {
    const int half = a.n_rot / 2;
    const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t total = static_cast<int64_t>(a.n_tokens) * a.n_heads * half;
    if (idx >= total) return;
    const int i = static_cast<int>(idx % half);
    const int64_t head = idx / half;  // token * n_heads + h
    const int64_t token = head / a.n_heads;

    float theta = static_cast<float>(a.positions[token]);
    for (int k = 0; k < i; ++k) theta *= a.theta_scale;
    const float angle = a.freq_scale * (a.freq_factors ? theta / a.freq_factors[i] : theta);
    float s, c;
    sincosf(angle, &s, &c);

    float* x = a.x + head * a.head_dim;
    const int i0 = a.neox ? i : 2 * i;
    const int i1 = a.neox ? i + half : 2 * i + 1;
    const float x0 = x[i0];
    const float x1 = x[i1];
    x[i0] = x0 * c - x1 * s;
    x[i1] = x0 * s + x1 * c;
}

}  // namespace

cudaError_t launch_rope(const RopeArgs& a, cudaStream_t stream) {
    const int64_t total = static_cast<int64_t>(a.n_tokens) * a.n_heads * (a.n_rot / 2);
    if (total <= 0) return cudaSuccess;
    const auto blocks = static_cast<unsigned int>((total + kThreads - 1) / kThreads);
    PAGODA_LAUNCH(blocks, kThreads, 0, stream, rope_kernel)(a);
    return cudaGetLastError();
}

}  // namespace pagoda::cuda
