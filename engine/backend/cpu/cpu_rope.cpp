// rope: rotary position embedding, in place, as ggml_rope computes it without YaRN
// (ext_factor 0, attn_factor 1): theta_i = pos * freq_scale * base^(-2i/n_rot) / ff[i],
// with base^(-2i/n_rot) built by repeated float multiplication exactly as ggml's rope
// cache does, and cos/sin taken in float.
#include <algorithm>
#include <cmath>
#include <string>

#include "backend/cpu/cpu_backend.h"

namespace pagoda::cpu {

void CpuBackend::rope(Tensor& x, int32_t n_heads, const RopeParams& p) {
    if (failed() || !check_step("rope")) return;
    if (n_heads <= 0 || p.head_dim <= 0 || p.n_rot <= 0 || p.n_rot % 2 != 0 || p.n_rot > p.head_dim ||
        !(p.freq_base > 0.0f) || !std::isfinite(p.freq_base) || !std::isfinite(p.freq_scale)) {
        fail(invalid_argument("rope: bad parameters (n_heads " + std::to_string(n_heads) + ", head_dim " +
                              std::to_string(p.head_dim) + ", n_rot " + std::to_string(p.n_rot) + ")"));
        return;
    }
    const int32_t n_tokens = step_.n_tokens();
    const int64_t cols = static_cast<int64_t>(n_heads) * p.head_dim;
    if (!check_f32("rope", "x", x, n_tokens, cols)) return;
    const int32_t half = p.n_rot / 2;
    std::vector<float> ff_storage;
    const float* ff = nullptr;
    if (p.freq_factors) {
        ff = as_f32_vector("rope", "freq_factors", *p.freq_factors, half, ff_storage);
        if (!ff) return;
    }

    // cos/sin per (token, pair) depend only on the step's positions and the parameters,
    // so every layer's q and k rope of one step share one table.  [n_tokens, half, 2]
    RopeTable& table = rope_table_;
    // A dequantized copy of the factors lives only for this call, so such tables are not kept.
    const bool cacheable = ff_storage.empty();
    const void* factors_key = ff;
    const bool reuse = cacheable && table.step_id == step_id_ && table.n_rot == p.n_rot &&
                       table.freq_base == p.freq_base && table.freq_scale == p.freq_scale &&
                       table.factors_data == factors_key;
    if (!reuse) {
        try {
            table.cos_sin.resize(static_cast<size_t>(n_tokens) * static_cast<size_t>(p.n_rot));
        } catch (const std::bad_alloc&) {
            fail(out_of_memory("rope: out of memory"));
            return;
        }
        const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
        pool_.parallel_for(n_tokens, 64, [&](int64_t begin, int64_t end, int) {
            for (int64_t t = begin; t < end; ++t) {
                float* cs = table.cos_sin.data() + t * p.n_rot;
                float theta = static_cast<float>(step_.positions[static_cast<size_t>(t)]);
                for (int32_t i = 0; i < half; ++i) {
                    const float angle = p.freq_scale * (ff ? theta / ff[i] : theta);
                    cs[2 * i] = std::cos(angle);
                    cs[2 * i + 1] = std::sin(angle);
                    theta *= theta_scale;
                }
            }
        });
        table.step_id = cacheable ? step_id_ : 0;
        table.n_rot = p.n_rot;
        table.freq_base = p.freq_base;
        table.freq_scale = p.freq_scale;
        table.factors_data = factors_key;
    }

    const int32_t head_dim = p.head_dim;
    const int32_t n_rot = p.n_rot;
    const bool neox = p.neox;
    const int64_t grain = std::max<int64_t>(1, 8192 / cols);
    pool_.parallel_for(n_tokens, grain, [&](int64_t begin, int64_t end, int) {
        for (int64_t t = begin; t < end; ++t) {
            const float* cs = table.cos_sin.data() + t * n_rot;
            float* row = static_cast<float*>(x.data) + t * cols;
            for (int32_t h = 0; h < n_heads; ++h) {
                float* v = row + static_cast<int64_t>(h) * head_dim;
                // Pair i is (2i, 2i+1) in the normal style and (i, i + n_rot/2) in NeoX;
                // dims at and past n_rot are left as they are.
                const int32_t stride = neox ? 1 : 2;
                const int32_t partner = neox ? half : 1;
                for (int32_t i = 0; i < half; ++i) {
                    float* a = v + i * stride;
                    const float x0 = a[0];
                    const float x1 = a[partner];
                    const float c = cs[2 * i];
                    const float s = cs[2 * i + 1];
                    a[0] = x0 * c - x1 * s;
                    a[partner] = x0 * s + x1 * c;
                }
            }
        }
    });
}

}  // namespace pagoda::cpu
