// AVX-512 VNNI kernels for the 32-value block formats: Q4_0, Q5_0, Q8_0 (against Q8_0
// activations) and Q4_1, Q5_1 (against Q8_1), following gemm_avx512.h's contract.
//
// Weights are decoded to unsigned bytes u = q + offset (offset 8, 16 or 128 for the
// signed formats, 0 for Q4_1 / Q5_1) so vpdpbusd can multiply them by the signed
// activation bytes; each block sum then starts from -offset * (sum of the activation
// block), which the token side computes once.
#include "model/quant/gemm_avx512.h"
#include "model/quant/gemm_amx.h"

#ifdef PAGODA_GEMM_AVX512

#include <type_traits>

namespace pagoda::quant::avx512 {
namespace {

constexpr __mmask16 kSecondBlock = 0xFF00;
const __m512i kPairIndex = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);  // int32 lanes of block b + 1 in a two-block zmm

// 16 packed nibble bytes of block b (and b+1) -> [lo b, hi b, lo b+1, hi b+1]: the values
// of block b then b+1 in order, 0..15 each; zero for the missing block when NB == 1.
template <int NB>
inline __m512i nibbles(const uint8_t* qs0, const uint8_t* qs1) {
    __m512i q;
    if constexpr (NB == 2) {
        q = _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(load128(qs0)), kSecondBlock, load128(qs1));
    } else {
        q = _mm512_maskz_broadcast_i32x4(0x00FF, load128(qs0));
    }
    q = _mm512_mask_srli_epi16(q, 0xFF00FF00u, q, 4);  // 128-bit lanes 1 and 3 take the high nibbles
    return _mm512_and_si512(q, _mm512_set1_epi8(0x0F));
}

// Adds 16 to every byte whose fifth bit (qh, bit j for value j) is set.
template <int NB>
inline __m512i add_fifth_bits(__m512i q, const uint8_t* qh0, const uint8_t* qh1) {
    uint64_t bits = load_u32(qh0);
    if constexpr (NB == 2) bits |= uint64_t{load_u32(qh1)} << 32;
    return _mm512_mask_add_epi8(q, _cvtu64_mask64(bits), q, _mm512_set1_epi8(0x10));
}

// Weight formats. kBytes: block size; kOffset: what makes the values unsigned (0: they
// are, and the format has a min at byte 2, dotted with Q8_1); weights<NB>(block): the
// unsigned bytes of NB blocks. The scale d is the first half of every block.
struct Q4_0W {
    static constexpr size_t kBytes = sizeof(BlockQ4_0);
    static constexpr int kOffset = 8;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return nibbles<NB>(x + 2, x + kBytes + 2);
    }
};
struct Q5_0W {
    static constexpr size_t kBytes = sizeof(BlockQ5_0);
    static constexpr int kOffset = 16;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return add_fifth_bits<NB>(nibbles<NB>(x + 6, x + kBytes + 6), x + 2, x + kBytes + 2);
    }
};
struct Q8_0W {
    static constexpr size_t kBytes = sizeof(BlockQ8_0);
    static constexpr int kOffset = 128;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        __m512i q;
        if constexpr (NB == 2) {
            q = _mm512_inserti64x4(_mm512_castsi256_si512(load256(x + 2)), load256(x + kBytes + 2), 1);
        } else {
            q = _mm512_zextsi256_si512(load256(x + 2));
        }
        return _mm512_xor_si512(q, _mm512_set1_epi8(static_cast<char>(0x80)));  // q + 128 as unsigned
    }
};
struct Q4_1W {
    static constexpr size_t kBytes = sizeof(BlockQ4_1);
    static constexpr int kOffset = 0;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return nibbles<NB>(x + 4, x + kBytes + 4);
    }
};
struct Q5_1W {
    static constexpr size_t kBytes = sizeof(BlockQ5_1);
    static constexpr int kOffset = 0;
    template <int NB>
    static __m512i weights(const uint8_t* x) {
        return add_fifth_bits<NB>(nibbles<NB>(x + 8, x + kBytes + 8), x + 4, x + kBytes + 4);
    }
};

template <class W>
struct LegacyKernel {
    static constexpr bool kMin = W::kOffset == 0;  // Q4_1 / Q5_1: + m * s per block
    static constexpr size_t kABytes = kMin ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
    static constexpr size_t kAQs = kMin ? 4 : 2;  // offset of the activation quants in a block
    static constexpr int kRows = 8;               // weight rows per token-lanes call
    static constexpr size_t kWeightScratch = kRows * 64;

    // Two activation blocks as one zmm, and the lanes' starting values -offset * (sum of
    // the lane's four activation bytes).
    template <int NB>
    static inline __m512i act_quants(const uint8_t* y) {
        if constexpr (NB == 2) {
            return _mm512_inserti64x4(_mm512_castsi256_si512(load256(y + kAQs)), load256(y + kABytes + kAQs), 1);
        }
        return _mm512_zextsi256_si512(load256(y + kAQs));
    }
    static inline __m512i act_base(__m512i yq) {
        if constexpr (kMin) return _mm512_setzero_si512();
        const __m512i off = _mm512_set1_epi8(static_cast<char>(W::kOffset));
        return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, yq));
    }

    // ---- single dot -------------------------------------------------------------------
    static float dot(int64_t n, const void* vw, const void* va) {
        const float* h2f = half_table();
        const auto* x = static_cast<const uint8_t*>(vw);
        const auto* y = static_cast<const uint8_t*>(va);
        const int64_t nb = n / kQK32;
        __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};  // even / odd blocks
        auto block = [&](int32_t s, const uint8_t* xb, const uint8_t* yb, __m128& a) {
            a = fma_step(s, h2f[load_u16(xb)], h2f[load_u16(yb)], a);
            if constexpr (kMin) a = fma_step_f(h2f[load_u16(xb + 2)], h2f[load_u16(yb + 2)], a);
        };
        int64_t b = 0;
        // 32 blocks at a time: their exact sums through one cross-lane reduction (lane i:
        // blocks 2i and 2i + 1), then the fp32 steps in block order from a small array.
        for (; b + 32 <= nb; b += 32, x += 32 * W::kBytes, y += 32 * kABytes) {
            const RowTotals s = reduce_rows([&](int i) {
                const __m512i yq = act_quants<2>(y + 2 * i * kABytes);
                return _mm512_dpbusd_epi32(act_base(yq), W::template weights<2>(x + 2 * i * W::kBytes), yq);
            });
            // [first/second block of each pair][pair]: float(sum), dw * dy (and m, s).
            alignas(64) float f[2][kLanes], scale[2][kLanes], m[2][kLanes], sy[2][kLanes];
            const __m512i wo = _mm512_mullo_epi32(kPairIndex, _mm512_set1_epi32(2 * W::kBytes));
            const __m512i ao = _mm512_mullo_epi32(kPairIndex, _mm512_set1_epi32(2 * kABytes));
            _mm512_store_ps(f[0], _mm512_cvtepi32_ps(s.first));
            _mm512_store_ps(f[1], _mm512_cvtepi32_ps(s.second));
            for (int h = 0; h < 2; ++h) {
                _mm512_store_ps(scale[h], _mm512_mul_ps(gather_half<false>(wo, x + h * W::kBytes),
                                                        gather_half<false>(ao, y + h * kABytes)));
                if constexpr (kMin) {
                    _mm512_store_ps(m[h], gather_half<true>(wo, x + h * W::kBytes));
                    _mm512_store_ps(sy[h], gather_half<true>(ao, y + h * kABytes));
                }
            }
#pragma GCC unroll 32
            for (int i = 0; i < 2 * kLanes; ++i) {
                acc[i % 2] = fma_step_f(f[i % 2][i / 2], scale[i % 2][i / 2], acc[i % 2]);
                if constexpr (kMin) acc[i % 2] = fma_step_f(m[i % 2][i / 2], sy[i % 2][i / 2], acc[i % 2]);
            }
        }
        for (; b + 2 <= nb; b += 2, x += 2 * W::kBytes, y += 2 * kABytes) {
            const __m512i yq = act_quants<2>(y);
            const __m512i p = _mm512_dpbusd_epi32(act_base(yq), W::template weights<2>(x), yq);
            block(_mm512_mask_reduce_add_epi32(0x00FF, p), x, y, acc[0]);
            block(_mm512_mask_reduce_add_epi32(kSecondBlock, p), x + W::kBytes, y + kABytes, acc[1]);
        }
        if (b < nb) {
            const __m512i yq = act_quants<1>(y);
            block(_mm512_reduce_add_epi32(_mm512_dpbusd_epi32(act_base(yq), W::template weights<1>(x), yq)), x, y,
                  acc[0]);
        }
        return _mm_cvtss_f32(_mm_add_ss(acc[0], acc[1]));
    }

    // ---- one token, 16 weight rows in the lanes ---------------------------------------
    template <int NB>
    static inline void row_step(const uint8_t* const (&wr)[kLanes], __m512i offs, const uint8_t* wblock,
                                const uint8_t* y, const float* h2f, __m512 (&acc)[2]) {
        const __m512i yq = act_quants<NB>(y);
        const __m512i base = act_base(yq);
        const RowTotals s = reduce_rows([&](int r) {
            prefetch_ahead<NB * W::kBytes>(wr[r]);
            return _mm512_dpbusd_epi32(base, W::template weights<NB>(wr[r]), yq);
        });
        for (int h = 0; h < NB; ++h) {
            const uint8_t* xb = wblock + h * W::kBytes;
            const uint8_t* yb = y + h * kABytes;
            // Dword 0 of a block: d, then m (Q4_1 / Q5_1) or the first quants.
            const __m512 dw = gather_half<false>(offs, xb);
            const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(h2f[load_u16(yb)]));
            acc[h] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(h == 0 ? s.first : s.second), scale, acc[h]);
            if constexpr (kMin) {
                acc[h] = _mm512_fmadd_ps(gather_half<true>(offs, xb), _mm512_set1_ps(h2f[load_u16(yb + 2)]), acc[h]);
            }
        }
    }

    static void row_lanes(const Tile& tl, int rows) {
        const float* h2f = half_table();
        const int64_t nb = tl.k / kQK32;
        const __m512i offs = row_offsets(tl.w_stride, rows);
        const uint8_t* wr[kLanes];
        for (int r = 0; r < kLanes; ++r) wr[r] = tl.w + (r < rows ? static_cast<size_t>(r) * tl.w_stride : 0);
        __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};  // even / odd blocks
        const uint8_t* wblock = tl.w;
        const uint8_t* y = tl.a;
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            row_step<2>(wr, offs, wblock, y, h2f, acc);
            for (auto& p : wr) p += 2 * W::kBytes;
            wblock += 2 * W::kBytes;
            y += 2 * kABytes;
        }
        if (b < nb) row_step<1>(wr, offs, wblock, y, h2f, acc);
        _mm512_mask_storeu_ps(tl.out, static_cast<__mmask16>((1u << rows) - 1), _mm512_add_ps(acc[0], acc[1]));
    }

    // ---- token lanes: 16 tokens per zmm, kRows weight rows per call --------------------
    // Prepared block: quants transposed to 4-byte groups (8 x 64 bytes), the block sums'
    // starting values (int32 x 16), dy (fp32 x 16), and for Q8_1 its s (fp32 x 16).
    static constexpr size_t kPrepCorr = 512, kPrepDy = 576, kPrepS = 640;
    static constexpr size_t kPrepBlock = kMin ? 704 : 640;
    static size_t prep_bytes(int64_t k) { return static_cast<size_t>(k / kQK32) * kPrepBlock; }

    static void prep(const uint8_t* act, size_t act_stride, int64_t k, int n, uint8_t* dst) {
        const int64_t nb = k / kQK32;
        const __m512i offs = row_offsets(act_stride, n);
        const uint8_t* tok[kLanes];
        for (int t = 0; t < kLanes; ++t) tok[t] = act + (t < n ? static_cast<size_t>(t) * act_stride : 0);
        for (int64_t b = 0; b < nb; ++b, dst += kPrepBlock) {
            const uint8_t* src[kLanes];
            for (int t = 0; t < kLanes; ++t) src[t] = tok[t] + static_cast<size_t>(b) * kABytes + kAQs;
            __m512i y[8];
            transpose_16x8(src, y);
            __m512i sum = _mm512_setzero_si512();
            for (int g = 0; g < 8; ++g) {
                _mm512_store_si512(dst + 64 * g, y[g]);
                if constexpr (!kMin) {
                    sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(static_cast<char>(W::kOffset)), y[g]);
                }
            }
            _mm512_store_si512(dst + kPrepCorr, _mm512_sub_epi32(_mm512_setzero_si512(), sum));
            const uint8_t* block0 = act + static_cast<size_t>(b) * kABytes;
            _mm512_store_ps(dst + kPrepDy, gather_half<false>(offs, block0));
            if constexpr (kMin) _mm512_store_ps(dst + kPrepS, gather_half<true>(offs, block0));
        }
    }

    static void token_lanes(int64_t k, const uint8_t* w, size_t w_stride, int nr, const uint8_t* prepared,
                            uint8_t* wscratch, float* out, size_t out_stride, int n) {
        const float* h2f = half_table();
        const int64_t nb = k / kQK32;
        const uint8_t* wr[kRows];
        for (int r = 0; r < kRows; ++r) wr[r] = w + (r < nr ? static_cast<size_t>(r) * w_stride : 0);
        __m512 acc[2][kRows];  // even / odd blocks
        for (auto& a : acc[0]) a = _mm512_setzero_ps();
        for (auto& a : acc[1]) a = _mm512_setzero_ps();
        auto step = [&]<int NB>(std::integral_constant<int, NB>) {
            // Decoded weights go through L1: each 4-byte group is then one broadcast load.
#pragma GCC unroll 8
            for (int r = 0; r < kRows; ++r) _mm512_store_si512(wscratch + 64 * r, W::template weights<NB>(wr[r]));
            for (int h = 0; h < NB; ++h, prepared += kPrepBlock) {
                __m512i p[kRows];
                const __m512i corr = _mm512_load_si512(prepared + kPrepCorr);
                for (auto& v : p) v = corr;
#pragma GCC unroll 8
                for (int g = 0; g < 8; ++g) {
                    const __m512i y = _mm512_load_si512(prepared + 64 * g);
#pragma GCC unroll 8
                    for (int r = 0; r < kRows; ++r) {
                        p[r] = _mm512_dpbusd_epi32(p[r], bcast32(wscratch + 64 * r + 32 * h + 4 * g), y);
                    }
                }
                const __m512 dy = _mm512_load_ps(prepared + kPrepDy);
#pragma GCC unroll 8
                for (int r = 0; r < kRows; ++r) {
                    const uint8_t* xb = wr[r] + h * W::kBytes;
                    const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(h2f[load_u16(xb)]), dy);
                    acc[h][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p[r]), scale, acc[h][r]);
                    if constexpr (kMin) {
                        acc[h][r] = _mm512_fmadd_ps(_mm512_set1_ps(h2f[load_u16(xb + 2)]),
                                                    _mm512_load_ps(prepared + kPrepS), acc[h][r]);
                    }
                }
            }
            for (auto& p : wr) p += NB * W::kBytes;
        };
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) step(std::integral_constant<int, 2>{});
        if (b < nb) step(std::integral_constant<int, 1>{});
        for (int r = 0; r < nr; ++r) store_token_lanes(_mm512_add_ps(acc[0][r], acc[1][r]), out + r, out_stride, n);
    }

#ifdef PAGODA_GEMM_AMX
    // ---- token lanes on AMX: 32 weight rows x 2 token groups per tile round ---------------
    // Tiles: C 0-3 = [row half][token group] (16 x 16 int32), A 4-5 = the row halves' decoded
    // block (16 x 32 bytes), B 6-7 = the token groups' prepared block (8 x 64 bytes). With
    // signed weights (q - offset) C = A . B is the exact block sums; the fp32 steps run on
    // its stored rows, one block behind the tile products so they never wait for a tile
    // store. Accumulators live in L1 ([parity][row half][group][row][16 tokens]).
    static constexpr int kAmxRows = 32;
    static constexpr size_t kAmxDecoded = kAmxRows * 64;         // 2 blocks of each row
    static constexpr size_t kAmxSums = 2 * 4 * 16 * 16 * 4;      // C tiles of 2 blocks, as stored
    static constexpr size_t kAmxAcc = 2 * 2 * 2 * 16 * 16 * 4;
    static size_t amx_scratch_bytes(int64_t, int) { return kAmxDecoded + kAmxSums + kAmxAcc; }

    // The weights as AMX takes them: the formats with an offset as signed bytes q - offset
    // (a signed x signed product then gives the exact block sum with no correction), the
    // others unsigned.
    template <int NB>
    static inline __m512i amx_weights(const uint8_t* x) {
        const __m512i q = W::template weights<NB>(x);
        if constexpr (kMin) return q;
        return _mm512_sub_epi8(q, _mm512_set1_epi8(static_cast<char>(W::kOffset)));
    }

    static amx::TileConfig amx_config() {
        amx::TileConfig c;
        for (int t = 0; t < 4; ++t) c.rows[t] = 16, c.colsb[t] = 64;
        for (int t = 4; t < 6; ++t) c.rows[t] = 16, c.colsb[t] = 32;
        for (int t = 6; t < 8; ++t) c.rows[t] = 8, c.colsb[t] = 64;
        return c;
    }

    static void amx_rows(int64_t k, const uint8_t* w, size_t w_stride, int nr, const uint8_t* prepared,
                         size_t group_bytes, int64_t toks, uint8_t* scratch_buf, float* out, size_t out_stride) {
        for (int64_t t0 = 0; t0 < toks; t0 += 2 * kLanes) {
            const uint8_t* prep[2] = {prepared + group_bytes * static_cast<size_t>(t0 / kLanes),
                                      t0 + kLanes < toks ? prepared + group_bytes * static_cast<size_t>(t0 / kLanes + 1)
                                                         : nullptr};
            const int n[2] = {static_cast<int>(std::min<int64_t>(kLanes, toks - t0)),
                              static_cast<int>(std::clamp<int64_t>(toks - t0 - kLanes, 0, kLanes))};
            amx_round_trip(k, w, w_stride, nr, prep, n, scratch_buf, out + static_cast<size_t>(t0) * out_stride,
                           out_stride);
        }
    }

    static void amx_round_trip(int64_t k, const uint8_t* w, size_t w_stride, int nr, const uint8_t* const (&prep)[2],
                               const int (&n)[2], uint8_t* scratch_buf, float* out, size_t out_stride) {
        const float* h2f = half_table();
        const int64_t nb = k / kQK32;
        const bool two = prep[1] != nullptr;
        const int groups = two ? 2 : 1;
        uint8_t* decoded = scratch_buf;
        auto* sums = reinterpret_cast<int32_t*>(scratch_buf + kAmxDecoded);  // [block parity][C tile][row][token]
        auto* acc = reinterpret_cast<float*>(scratch_buf + kAmxDecoded + kAmxSums);
        auto acc_at = [acc](int parity, int half, int g, int m) {
            return acc + (((parity * 2 + half) * 2 + g) * 16 + m) * 16;
        };
        std::memset(acc, 0, kAmxAcc);
        const uint8_t* wr[kAmxRows];
        for (int r = 0; r < kAmxRows; ++r) wr[r] = w + (r < nr ? static_cast<size_t>(r) * w_stride : 0);

        // Tile products of block b into sums[b % 2] (the stores last: they wait for the products).
        auto tiles = [&](int64_t b) {
            const int h = static_cast<int>(b % 2);
            int32_t* c = sums + h * 4 * 256;
            const uint8_t* pb0 = prep[0] + b * kPrepBlock;
            _tile_loadd(4, decoded + 32 * h, 64);
            _tile_loadd(5, decoded + 16 * 64 + 32 * h, 64);
            _tile_loadd(6, pb0, 64);
            _tile_zero(0);
            _tile_zero(2);
            if constexpr (kMin) {
                _tile_dpbusd(0, 4, 6);
                _tile_dpbusd(2, 5, 6);
            } else {
                _tile_dpbssd(0, 4, 6);
                _tile_dpbssd(2, 5, 6);
            }
            if (two) {
                _tile_loadd(7, prep[1] + b * kPrepBlock, 64);
                _tile_zero(1);
                _tile_zero(3);
                if constexpr (kMin) {
                    _tile_dpbusd(1, 4, 7);
                    _tile_dpbusd(3, 5, 7);
                } else {
                    _tile_dpbssd(1, 4, 7);
                    _tile_dpbssd(3, 5, 7);
                }
            }
            _tile_stored(0, c + 0 * 256, 64);
            _tile_stored(2, c + 2 * 256, 64);
            if (two) {
                _tile_stored(1, c + 1 * 256, 64);
                _tile_stored(3, c + 3 * 256, 64);
            }
        };
        // The fp32 steps of block b, from sums[b % 2].
        auto steps = [&](int64_t b) {
            const int h = static_cast<int>(b % 2);
            const int32_t* c = sums + h * 4 * 256;
            __m512 dy[2], sy[2];
            for (int g = 0; g < groups; ++g) {
                const uint8_t* pb = prep[g] + b * kPrepBlock;
                dy[g] = _mm512_load_ps(pb + kPrepDy);
                if constexpr (kMin) sy[g] = _mm512_load_ps(pb + kPrepS);
            }
            for (int half = 0; half < 2; ++half) {
                for (int m = 0; m < 16; ++m) {
                    const uint8_t* xb = wr[16 * half + m] + static_cast<size_t>(b) * W::kBytes;
                    const __m512 dw = _mm512_set1_ps(h2f[load_u16(xb)]);
                    for (int g = 0; g < groups; ++g) {
                        float* a = acc_at(h, half, g, m);
                        const __m512 p = _mm512_cvtepi32_ps(_mm512_load_si512(c + (2 * half + g) * 256 + 16 * m));
                        __m512 v = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, dy[g]), _mm512_load_ps(a));
                        if constexpr (kMin) v = _mm512_fmadd_ps(_mm512_set1_ps(h2f[load_u16(xb + 2)]), sy[g], v);
                        _mm512_store_ps(a, v);
                    }
                }
            }
        };
        for (int64_t b = 0; b < nb; ++b) {
            if (b % 2 == 0) {
                const size_t off = static_cast<size_t>(b) * W::kBytes;
                if (b + 1 < nb) {
                    for (int r = 0; r < kAmxRows; ++r) _mm512_store_si512(decoded + 64 * r, amx_weights<2>(wr[r] + off));
                } else {
                    for (int r = 0; r < kAmxRows; ++r) _mm512_store_si512(decoded + 64 * r, amx_weights<1>(wr[r] + off));
                }
            }
            tiles(b);
            if (b > 0) steps(b - 1);
        }
        if (nb > 0) steps(nb - 1);
        for (int half = 0; half < 2; ++half) {
            for (int m = 0; m < 16 && 16 * half + m < nr; ++m) {
                for (int g = 0; g < groups; ++g) {
                    const __m512 v =
                        _mm512_add_ps(_mm512_load_ps(acc_at(0, half, g, m)), _mm512_load_ps(acc_at(1, half, g, m)));
                    store_token_lanes(v, out + static_cast<size_t>(g * kLanes) * out_stride + 16 * half + m,
                                      out_stride, n[g]);
                }
            }
        }
    }
#endif
};

}  // namespace

template <class K>
GemmFn pick(bool use_amx) {
#ifdef PAGODA_GEMM_AMX
    if (use_amx) return gemm_amx<K>;
#else
    (void)use_amx;
#endif
    return gemm<K>;
}

GemmFn gemm_legacy(GgmlType weight_type, bool use_amx) {
    switch (weight_type) {
        case GgmlType::Q4_0:
            return pick<LegacyKernel<Q4_0W>>(use_amx);
        case GgmlType::Q5_0:
            return pick<LegacyKernel<Q5_0W>>(use_amx);
        case GgmlType::Q8_0:
            return pick<LegacyKernel<Q8_0W>>(use_amx);
        case GgmlType::Q4_1:
            return pick<LegacyKernel<Q4_1W>>(use_amx);
        case GgmlType::Q5_1:
            return pick<LegacyKernel<Q5_1W>>(use_amx);
        default:
            return nullptr;
    }
}

VecDotFn vec_dot_legacy(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_0:
            return LegacyKernel<Q4_0W>::dot;
        case GgmlType::Q5_0:
            return LegacyKernel<Q5_0W>::dot;
        case GgmlType::Q8_0:
            return LegacyKernel<Q8_0W>::dot;
        case GgmlType::Q4_1:
            return LegacyKernel<Q4_1W>::dot;
        case GgmlType::Q5_1:
            return LegacyKernel<Q5_1W>::dot;
        default:
            return nullptr;
    }
}

}  // namespace pagoda::quant::avx512

#endif
