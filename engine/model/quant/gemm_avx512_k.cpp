// AVX-512 VNNI kernels for the K super-block formats Q4_K, Q5_K, Q6_K (against Q8_K),
// following gemm_avx512.h's contract with one 256-value super-block per step.
//
// Weights are decoded to unsigned bytes (Q6_K's -32 offset is taken out through the
// activation's 16-value sums, bsums). Per super-block the exact integers are
//   Q4_K / Q5_K: isum = sum_j scale_j * dot(sub-block j),   mins = sum_j min_j * sum(y_j)
//   Q6_K:        isum = sum_j scale_j * dot(sub-block j) - 32 sum_j scale_j * bsum_j
// Row lanes (one token) form them per row with vpmaddubsw + vpdpwssd (scales as int16)
// across the lanes of the row's register, then reduce across lanes; token lanes form the
// sub-block dots with vpdpbusd and scale them with vpmulld.
#include "model/quant/gemm_avx512.h"
#include "model/quant/gemm_amx.h"

#ifdef PAGODA_GEMM_AVX512

#include <type_traits>

namespace pagoda::quant::avx512 {
namespace {

constexpr size_t kActQs = 4;      // BlockQ8_K: float d, then qs[256]
constexpr size_t kActSums = 260;  // then bsums[16] (int16)

// 32 bytes of packed nibbles -> [low nibbles (32), high nibbles (32)].
inline __m512i nibbles64(const uint8_t* p) {
    __m512i q = _mm512_broadcast_i64x4(load256(p));
    q = _mm512_mask_srli_epi16(q, 0xFFFF0000u, q, 4);
    return _mm512_and_si512(q, _mm512_set1_epi8(0x0F));
}

// int16 index vectors for vpermw: lane i -> first + i / per, for chunk c = 0..3 of the
// Q4_K / Q5_K scales (2c, 2c + 1; 16 lanes each) and the Q6_K scales (4c .. 4c + 3; 8 each).
struct LaneGroups {
    alignas(64) int16_t k45[4][32];
    alignas(64) int16_t k6[4][32];
    constexpr LaneGroups() : k45{}, k6{} {
        for (int c = 0; c < 4; ++c) {
            for (int i = 0; i < 32; ++i) {
                k45[c][i] = static_cast<int16_t>(2 * c + i / 16);
                k6[c][i] = static_cast<int16_t>(4 * c + i / 8);
            }
        }
    }
};
constexpr LaneGroups kLaneGroups;

// Token-lanes prepared super-block: quants transposed (64 groups of 4 values x 64 bytes),
// then dy (fp32 x 16), then format-specific int32 x 16 vectors.
constexpr size_t kPrepDy = 4096, kPrepExtra = 4160;

inline void prep_quants(const uint8_t* const (&blk)[kLanes], const __m512i offs, const uint8_t* block0,
                        uint8_t* dst) {
    for (int j = 0; j < 8; ++j) {
        const uint8_t* src[kLanes];
        for (int t = 0; t < kLanes; ++t) src[t] = blk[t] + kActQs + 32 * j;
        __m512i y[8];
        transpose_16x8(src, y);
        for (int g = 0; g < 8; ++g) _mm512_store_si512(dst + 512 * j + 64 * g, y[g]);
    }
    _mm512_store_ps(dst + kPrepDy, _mm512_castsi512_ps(_mm512_i32gather_epi32(offs, block0, 1)));
}

template <bool kFiveBit>
struct Q45KKernel {
    static constexpr size_t kBytes = kFiveBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
    static constexpr size_t kQh = 16;                   // Q5_K: qh[32] after d, dmin, scales
    static constexpr size_t kQs = kFiveBit ? 48 : 16;  // qs[128]
    static constexpr int kRows = 8;
    static constexpr size_t kRowScratch = 320;  // 256 decoded values, 8 scales, 4 min pairs
    static constexpr size_t kWeightScratch = kRows * kRowScratch;

    // Unsigned values 64c .. 64c + 63 of the super-block at x.
    static inline __m512i weights(const uint8_t* x, int c) {
        __m512i q = nibbles64(x + kQs + 32 * c);
        if constexpr (kFiveBit) {
            // Rotations bringing qh bit 2c (first 32 bytes) / 2c + 1 (last 32) to bit 4.
            const int lo = (4 - 2 * c) & 63, hi = (3 - 2 * c) & 63;
            const __m512i rot = _mm512_set_epi64(hi, hi, hi, hi, lo, lo, lo, lo);
            const __m512i h = _mm512_rolv_epi64(_mm512_broadcast_i64x4(load256(x + kQh)), rot);
            q = _mm512_ternarylogic_epi32(q, h, _mm512_set1_epi8(0x10), 0xF8);  // q | (h & 16)
        }
        return q;
    }
    static inline void scales_mins(const uint8_t* x, uint32_t (&u)[4]) { unpack_scales_mins_k4(x + 4, u); }

    // isum in 16 int32 lanes (sum of the lanes = isum) and the 8 int16 sub-block sums of y.
    static inline __m512i isum_lanes(const uint8_t* x, const uint8_t* y, const uint32_t (&u)[4]) {
        const __m512i sc = _mm512_castsi128_si512(
            _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(u[1]), static_cast<int>(u[0]))));
        __m512i isum = _mm512_setzero_si512();
        for (int c = 0; c < 4; ++c) {
            // Chunk c: sub-blocks 2c (first 32 values) and 2c + 1.
            const __m512i s = _mm512_permutexvar_epi16(_mm512_load_si512(kLaneGroups.k45[c]), sc);
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(weights(x, c), load512(y + kActQs + 64 * c)), s);
        }
        return isum;
    }
    // The activation's 8 sub-block sums (int16), and their dot with the mins in 4 lanes.
    static inline __m128i act_sums(const uint8_t* y) {
        return _mm_hadd_epi16(load128(y + kActSums), load128(y + kActSums + 16));
    }
    static inline __m128i mins_lanes(__m128i sums, const uint32_t (&u)[4]) {
        const __m128i mins = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(u[3]), static_cast<int>(u[2])));
        return _mm_madd_epi16(mins, sums);
    }

    static float dot(int64_t n, const void* vw, const void* va) {
        const float* h2f = half_table();
        const auto* x = static_cast<const uint8_t*>(vw);
        const auto* y = static_cast<const uint8_t*>(va);
        __m128 acc = _mm_setzero_ps();
        for (int64_t i = 0; i < n / kQKK; ++i, x += kBytes, y += sizeof(BlockQ8_K)) {
            uint32_t u[4];
            scales_mins(x, u);
            const int32_t isum = _mm512_reduce_add_epi32(isum_lanes(x, y, u));
            const int32_t mins = _mm512_reduce_add_epi32(_mm512_zextsi128_si512(mins_lanes(act_sums(y), u)));
            const float dy = load_f32(y);
            acc = fma_step(isum, h2f[load_u16(x)], dy, acc);
            acc = fnmadd_step(mins, h2f[load_u16(x + 2)], dy, acc);
        }
        return _mm_cvtss_f32(acc);
    }

    static void row_lanes(const Tile& tl, int rows) {
        const int64_t nb = tl.k / kQKK;
        const __m512i offs = row_offsets(tl.w_stride, rows);
        const uint8_t* wr[kLanes];
        for (int r = 0; r < kLanes; ++r) wr[r] = tl.w + (r < rows ? static_cast<size_t>(r) * tl.w_stride : 0);
        __m512 acc = _mm512_setzero_ps();
        const uint8_t* y = tl.a;
        for (int64_t i = 0; i < nb; ++i, y += sizeof(BlockQ8_K)) {
            const __m128i sums = act_sums(y);
            const RowTotals s = reduce_rows([&](int r) {
                prefetch_ahead<kBytes>(wr[r]);
                uint32_t u[4];
                scales_mins(wr[r], u);
                const __m512i isum = isum_lanes(wr[r], y, u);
                // [isum folded to 8 lanes | mins (4 lanes) | 0]: the reduction's two totals.
                const __m256i isum8 =
                    _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
                const __m512i v = _mm512_inserti32x4(_mm512_zextsi256_si512(isum8), mins_lanes(sums, u), 2);
                wr[r] += kBytes;
                return v;
            });
            const uint8_t* block0 = tl.w + static_cast<size_t>(i) * kBytes;
            const __m512 dy = _mm512_set1_ps(load_f32(y));
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s.first), _mm512_mul_ps(gather_half<false>(offs, block0), dy), acc);
            acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(s.second), _mm512_mul_ps(gather_half<true>(offs, block0), dy),
                                   acc);
        }
        _mm512_mask_storeu_ps(tl.out, static_cast<__mmask16>((1u << rows) - 1), acc);
    }

    // Prepared extra: the sub-block sums of 32 in int16 pairs (S_2i, S_2i+1), i = 0..3.
    static size_t prep_bytes(int64_t k) { return static_cast<size_t>(k / kQKK) * (kPrepExtra + 4 * 64); }

    static void prep(const uint8_t* act, size_t act_stride, int64_t k, int n, uint8_t* dst) {
        const __m512i offs = row_offsets(act_stride, n);
        for (int64_t i = 0; i < k / kQKK; ++i, dst += kPrepExtra + 4 * 64) {
            const uint8_t* blk[kLanes];
            for (int t = 0; t < kLanes; ++t) {
                blk[t] = act + (t < n ? static_cast<size_t>(t) * act_stride : 0) + static_cast<size_t>(i) * sizeof(BlockQ8_K);
            }
            prep_quants(blk, offs, act + static_cast<size_t>(i) * sizeof(BlockQ8_K), dst);
            auto* pairs = reinterpret_cast<uint32_t*>(dst + kPrepExtra);
            for (int t = 0; t < kLanes; ++t) {
                int16_t bs[16];
                std::memcpy(bs, blk[t] + kActSums, sizeof(bs));
                for (int p = 0; p < 4; ++p) {
                    const int s0 = bs[4 * p] + bs[4 * p + 1], s1 = bs[4 * p + 2] + bs[4 * p + 3];
                    pairs[p * kLanes + t] = static_cast<uint16_t>(s0) | (static_cast<uint32_t>(static_cast<uint16_t>(s1)) << 16);
                }
            }
        }
    }

    static void token_lanes(int64_t k, const uint8_t* w, size_t w_stride, int nr, const uint8_t* prepared,
                            uint8_t* wscratch, float* out, size_t out_stride, int n) {
        const float* h2f = half_table();
        const uint8_t* wr[kRows];
        for (int r = 0; r < kRows; ++r) wr[r] = w + (r < nr ? static_cast<size_t>(r) * w_stride : 0);
        __m512 acc[kRows];
        for (auto& a : acc) a = _mm512_setzero_ps();
        for (int64_t i = 0; i < k / kQKK; ++i, prepared += kPrepExtra + 4 * 64) {
            // Per row: the decoded values, the scales as int32, the mins in int16 pairs.
            for (int r = 0; r < kRows; ++r) {
                uint8_t* sr = wscratch + kRowScratch * r;
                for (int c = 0; c < 4; ++c) _mm512_store_si512(sr + 64 * c, weights(wr[r], c));
                uint32_t u[4];
                scales_mins(wr[r], u);
                auto* sc = reinterpret_cast<uint32_t*>(sr + 256);
                for (int j = 0; j < 8; ++j) sc[j] = (u[j / 4] >> (8 * (j % 4))) & 0xFF;
                for (int p = 0; p < 4; ++p) {
                    const uint32_t m = u[2 + p / 2] >> (16 * (p % 2));
                    sc[8 + p] = (m & 0xFF) | ((m & 0xFF00) << 8);
                }
            }
            __m512i isum[kRows];
            for (auto& v : isum) v = _mm512_setzero_si512();
            for (int j = 0; j < 8; ++j) {
                __m512i p[kRows];
                for (auto& v : p) v = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int g = 0; g < 8; ++g) {
                    const __m512i y = _mm512_load_si512(prepared + 512 * j + 64 * g);
#pragma GCC unroll 8
                    for (int r = 0; r < kRows; ++r) {
                        p[r] = _mm512_dpbusd_epi32(p[r], bcast32(wscratch + kRowScratch * r + 32 * j + 4 * g), y);
                    }
                }
#pragma GCC unroll 8
                for (int r = 0; r < kRows; ++r) {
                    isum[r] = _mm512_add_epi32(
                        isum[r], _mm512_mullo_epi32(p[r], bcast32(wscratch + kRowScratch * r + 256 + 4 * j)));
                }
            }
            const __m512 dy = _mm512_load_ps(prepared + kPrepDy);
#pragma GCC unroll 8
            for (int r = 0; r < kRows; ++r) {
                __m512i mins = _mm512_setzero_si512();
                for (int q = 0; q < 4; ++q) {
                    mins = _mm512_dpwssd_epi32(mins, _mm512_load_si512(prepared + kPrepExtra + 64 * q),
                                               bcast32(wscratch + kRowScratch * r + 288 + 4 * q));
                }
                const __m512 d = _mm512_set1_ps(h2f[load_u16(wr[r])]);
                const __m512 dmin = _mm512_set1_ps(h2f[load_u16(wr[r] + 2)]);
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), _mm512_mul_ps(d, dy), acc[r]);
                acc[r] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins), _mm512_mul_ps(dmin, dy), acc[r]);
                wr[r] += kBytes;
            }
        }
        for (int r = 0; r < nr; ++r) store_token_lanes(acc[r], out + r, out_stride, n);
    }

#ifdef PAGODA_GEMM_AMX
    // ---- token lanes on AMX: 32 weight rows x 2 token groups per tile round ---------------
    // Per sub-block j a tile product C[16 rows x 16 tokens] = A (decoded rows, unsigned) .
    // B (prepared activations) gives its exact dots; they are scaled into isum with
    // vpmulld one sub-block behind the tile products (so nothing waits for a tile store),
    // and the fp32 steps run once per super-block. Tiles: C 0-3 = [row half][token group],
    // A 4-5 = row halves, B 6-7 = token groups. isum and the accumulators live in L1.
    static constexpr int kAmxRows = 32;
    static constexpr size_t kAmxDecoded = kAmxRows * 256;
    static constexpr size_t kAmxParams = kAmxRows * 64;  // per row: 8 scales, 4 min pairs (int32), d, dmin
    static constexpr size_t kAmxSums = 2 * 4 * 1024;     // C tiles of 2 sub-blocks, as stored
    static constexpr size_t kAmxIsum = 4 * 1024;         // [C tile][row][token] int32
    static constexpr size_t kAmxAcc = 4 * 1024;          // [C tile][row][token] fp32
    static size_t amx_scratch_bytes(int64_t, int) { return kAmxDecoded + kAmxParams + kAmxSums + kAmxIsum + kAmxAcc; }
    static constexpr size_t kPrepBlock = kPrepExtra + 4 * 64;

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
        const bool two = prep[1] != nullptr;
        const int groups = two ? 2 : 1;
        uint8_t* decoded = scratch_buf;
        uint8_t* params = decoded + kAmxDecoded;
        auto* sums = reinterpret_cast<int32_t*>(params + kAmxParams);  // [sub-block parity][C tile][row][token]
        auto* isum = sums + 2 * 4 * 256;                                // [C tile][row][token]
        auto* acc = reinterpret_cast<float*>(isum + 4 * 256);
        std::memset(acc, 0, kAmxAcc);
        const uint8_t* wr[kAmxRows];
        for (int r = 0; r < kAmxRows; ++r) wr[r] = w + (r < nr ? static_cast<size_t>(r) * w_stride : 0);

        for (int64_t i = 0; i < k / kQKK; ++i) {
            const uint8_t* pb[2] = {prep[0] + i * kPrepBlock, two ? prep[1] + i * kPrepBlock : nullptr};
            for (int r = 0; r < kAmxRows; ++r) {
                for (int c = 0; c < 4; ++c) _mm512_store_si512(decoded + 256 * r + 64 * c, weights(wr[r], c));
                uint32_t u[4];
                scales_mins(wr[r], u);
                auto* sc = reinterpret_cast<uint32_t*>(params + 64 * r);
                for (int j = 0; j < 8; ++j) sc[j] = (u[j / 4] >> (8 * (j % 4))) & 0xFF;
                for (int q = 0; q < 4; ++q) {
                    const uint32_t m = u[2 + q / 2] >> (16 * (q % 2));
                    sc[8 + q] = (m & 0xFF) | ((m & 0xFF00) << 8);
                }
                auto* dd = reinterpret_cast<float*>(sc + 12);
                dd[0] = h2f[load_u16(wr[r])];
                dd[1] = h2f[load_u16(wr[r] + 2)];
            }
            std::memset(isum, 0, kAmxIsum);
            auto tiles = [&](int j) {
                int32_t* c = sums + (j % 2) * 4 * 256;
                _tile_loadd(4, decoded + 32 * j, 256);
                _tile_loadd(5, decoded + 16 * 256 + 32 * j, 256);
                _tile_loadd(6, pb[0] + 512 * j, 64);
                _tile_zero(0);
                _tile_zero(2);
                _tile_dpbusd(0, 4, 6);
                _tile_dpbusd(2, 5, 6);
                if (two) {
                    _tile_loadd(7, pb[1] + 512 * j, 64);
                    _tile_zero(1);
                    _tile_zero(3);
                    _tile_dpbusd(1, 4, 7);
                    _tile_dpbusd(3, 5, 7);
                }
                _tile_stored(0, c + 0 * 256, 64);
                _tile_stored(2, c + 2 * 256, 64);
                if (two) {
                    _tile_stored(1, c + 1 * 256, 64);
                    _tile_stored(3, c + 3 * 256, 64);
                }
            };
            // isum += scale_j * (dot of sub-block j), from the stored C tiles.
            auto scale = [&](int j) {
                const int32_t* c = sums + (j % 2) * 4 * 256;
                for (int half = 0; half < 2; ++half) {
                    for (int m = 0; m < 16; ++m) {
                        const __m512i sc = bcast32(params + 64 * (16 * half + m) + 4 * j);
                        for (int g = 0; g < groups; ++g) {
                            int32_t* is = isum + ((2 * half + g) * 16 + m) * 16;
                            const __m512i p = _mm512_load_si512(c + (2 * half + g) * 256 + 16 * m);
                            _mm512_store_si512(is, _mm512_add_epi32(_mm512_load_si512(is), _mm512_mullo_epi32(p, sc)));
                        }
                    }
                }
            };
            for (int j = 0; j < 8; ++j) {
                tiles(j);
                if (j > 0) scale(j - 1);
            }
            scale(7);
            for (int g = 0; g < groups; ++g) {
                const __m512 dy = _mm512_load_ps(pb[g] + kPrepDy);
                for (int half = 0; half < 2; ++half) {
                    for (int m = 0; m < 16; ++m) {
                        const uint8_t* pr = params + 64 * (16 * half + m);
                        __m512i mins = _mm512_setzero_si512();
                        for (int q = 0; q < 4; ++q) {
                            mins = _mm512_dpwssd_epi32(mins, _mm512_load_si512(pb[g] + kPrepExtra + 64 * q),
                                                       bcast32(pr + 32 + 4 * q));
                        }
                        const int tile = (2 * half + g) * 16 + m;
                        float* a = acc + tile * 16;
                        const __m512 d = _mm512_set1_ps(load_f32(pr + 48));
                        const __m512 dmin = _mm512_set1_ps(load_f32(pr + 52));
                        __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(isum + tile * 16)),
                                                   _mm512_mul_ps(d, dy), _mm512_load_ps(a));
                        v = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins), _mm512_mul_ps(dmin, dy), v);
                        _mm512_store_ps(a, v);
                    }
                }
            }
            for (auto& p : wr) p += kBytes;
        }
        for (int half = 0; half < 2; ++half) {
            for (int m = 0; m < 16 && 16 * half + m < nr; ++m) {
                for (int g = 0; g < groups; ++g) {
                    store_token_lanes(_mm512_load_ps(acc + ((2 * half + g) * 16 + m) * 16),
                                      out + static_cast<size_t>(g * kLanes) * out_stride + 16 * half + m, out_stride,
                                      n[g]);
                }
            }
        }
    }
#endif
};

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d. Per 128-value
// half h: values 0..31 / 32..63 are the low nibbles of ql[0..31] / ql[32..63] with qh bits
// 0-1 / 2-3; values 64..95 / 96..127 the high nibbles with qh bits 4-5 / 6-7.
struct Q6KKernel {
    static constexpr size_t kQh = 128, kScales = 192, kD = 208;
    static constexpr int kRows = 8;
    static constexpr size_t kRowScratch = 384;  // 256 values, 16 scales, 8 offset pairs
    static constexpr size_t kWeightScratch = kRows * kRowScratch;

    // Unsigned 6-bit values 64c..64c+63 of the super-block at x.
    static inline __m512i weights(const uint8_t* x, int c) {
        const __m512i ql = load512(x + 64 * (c / 2));
        const __m512i qh = _mm512_broadcast_i64x4(load256(x + kQh + 32 * (c / 2)));
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        __m512i q;
        if (c % 2 == 0) {
            // qh bits 0-1 (first 32 bytes) / 2-3 (last 32) moved to bits 4-5; low nibbles of ql.
            const __m512i h = _mm512_sllv_epi64(qh, _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4));
            q = _mm512_ternarylogic_epi32(ql, h, low4, 0xE4);  // low4 ? ql : h
        } else {
            const __m512i h = _mm512_srlv_epi64(qh, _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0));
            q = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), h, low4, 0xE4);
        }
        return _mm512_and_si512(q, _mm512_set1_epi8(0x3F));
    }

    static inline __m512i isum_lanes(const uint8_t* x, const uint8_t* y) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(load128(x + kScales));
        const __m512i sc = _mm512_castsi256_si512(sc16);
        // -32 * sum_j scale_j * bsum_j: the offset of the unsigned weights.
        __m512i isum = _mm512_zextsi256_si512(
            _mm256_madd_epi16(_mm256_mullo_epi16(sc16, _mm256_set1_epi16(-32)), load256(y + kActSums)));
        for (int c = 0; c < 4; ++c) {
            // Chunk c: the 16-value sub-blocks 4c .. 4c + 3.
            const __m512i s = _mm512_permutexvar_epi16(_mm512_load_si512(kLaneGroups.k6[c]), sc);
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(weights(x, c), load512(y + kActQs + 64 * c)), s);
        }
        return isum;
    }

    static float dot(int64_t n, const void* vw, const void* va) {
        const float* h2f = half_table();
        const auto* x = static_cast<const uint8_t*>(vw);
        const auto* y = static_cast<const uint8_t*>(va);
        __m128 acc = _mm_setzero_ps();
        for (int64_t i = 0; i < n / kQKK; ++i, x += sizeof(BlockQ6_K), y += sizeof(BlockQ8_K)) {
            acc = fma_step(_mm512_reduce_add_epi32(isum_lanes(x, y)), h2f[load_u16(x + kD)], load_f32(y), acc);
        }
        return _mm_cvtss_f32(acc);
    }

    static void row_lanes(const Tile& tl, int rows) {
        const int64_t nb = tl.k / kQKK;
        const __m512i offs = row_offsets(tl.w_stride, rows);
        const uint8_t* wr[kLanes];
        for (int r = 0; r < kLanes; ++r) wr[r] = tl.w + (r < rows ? static_cast<size_t>(r) * tl.w_stride : 0);
        __m512 acc = _mm512_setzero_ps();
        const uint8_t* y = tl.a;
        for (int64_t i = 0; i < nb; ++i, y += sizeof(BlockQ8_K)) {
            const RowTotals s = reduce_rows([&](int r) {
                prefetch_ahead<sizeof(BlockQ6_K)>(wr[r]);
                const __m512i v = isum_lanes(wr[r], y);
                wr[r] += sizeof(BlockQ6_K);
                return v;
            });
            // d is the last half of the block: the high half of the dword at byte 206.
            const __m512 d = gather_half<true>(offs, tl.w + static_cast<size_t>(i) * sizeof(BlockQ6_K) + kD - 2);
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s.first, s.second)),
                                  _mm512_mul_ps(d, _mm512_set1_ps(load_f32(y))), acc);
        }
        _mm512_mask_storeu_ps(tl.out, static_cast<__mmask16>((1u << rows) - 1), acc);
    }

    // Prepared extra: bsums in int16 pairs (bsum_2i, bsum_2i+1), i = 0..7.
    static size_t prep_bytes(int64_t k) { return static_cast<size_t>(k / kQKK) * (kPrepExtra + 8 * 64); }

    static void prep(const uint8_t* act, size_t act_stride, int64_t k, int n, uint8_t* dst) {
        const __m512i offs = row_offsets(act_stride, n);
        for (int64_t i = 0; i < k / kQKK; ++i, dst += kPrepExtra + 8 * 64) {
            const uint8_t* blk[kLanes];
            for (int t = 0; t < kLanes; ++t) {
                blk[t] = act + (t < n ? static_cast<size_t>(t) * act_stride : 0) + static_cast<size_t>(i) * sizeof(BlockQ8_K);
            }
            const uint8_t* block0 = act + static_cast<size_t>(i) * sizeof(BlockQ8_K);
            prep_quants(blk, offs, block0, dst);
            for (int p = 0; p < 8; ++p) {
                _mm512_store_si512(dst + kPrepExtra + 64 * p, _mm512_i32gather_epi32(offs, block0 + kActSums + 4 * p, 1));
            }
        }
    }

    static void token_lanes(int64_t k, const uint8_t* w, size_t w_stride, int nr, const uint8_t* prepared,
                            uint8_t* wscratch, float* out, size_t out_stride, int n) {
        const float* h2f = half_table();
        const uint8_t* wr[kRows];
        for (int r = 0; r < kRows; ++r) wr[r] = w + (r < nr ? static_cast<size_t>(r) * w_stride : 0);
        __m512 acc[kRows];
        for (auto& a : acc) a = _mm512_setzero_ps();
        for (int64_t i = 0; i < k / kQKK; ++i, prepared += kPrepExtra + 8 * 64) {
            __m512i isum[kRows];
            for (int r = 0; r < kRows; ++r) {
                uint8_t* sr = wscratch + kRowScratch * r;
                for (int c = 0; c < 4; ++c) _mm512_store_si512(sr + 64 * c, weights(wr[r], c));
                // Scales as int32, and -32 * scale in int16 pairs for the offset term.
                const __m128i sc8 = load128(wr[r] + kScales);
                _mm512_store_si512(sr + 256, _mm512_cvtepi8_epi32(sc8));
                _mm256_store_si256(reinterpret_cast<__m256i*>(sr + 320),
                                   _mm256_mullo_epi16(_mm256_cvtepi8_epi16(sc8), _mm256_set1_epi16(-32)));
                isum[r] = _mm512_setzero_si512();
                for (int q = 0; q < 8; ++q) {
                    isum[r] = _mm512_dpwssd_epi32(isum[r], _mm512_load_si512(prepared + kPrepExtra + 64 * q),
                                                  bcast32(sr + 320 + 4 * q));
                }
            }
            for (int j = 0; j < 16; ++j) {
                __m512i p[kRows];
                for (auto& v : p) v = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int g = 0; g < 4; ++g) {
                    const __m512i y = _mm512_load_si512(prepared + 256 * j + 64 * g);
#pragma GCC unroll 8
                    for (int r = 0; r < kRows; ++r) {
                        p[r] = _mm512_dpbusd_epi32(p[r], bcast32(wscratch + kRowScratch * r + 16 * j + 4 * g), y);
                    }
                }
#pragma GCC unroll 8
                for (int r = 0; r < kRows; ++r) {
                    isum[r] = _mm512_add_epi32(
                        isum[r], _mm512_mullo_epi32(p[r], bcast32(wscratch + kRowScratch * r + 256 + 4 * j)));
                }
            }
            const __m512 dy = _mm512_load_ps(prepared + kPrepDy);
#pragma GCC unroll 8
            for (int r = 0; r < kRows; ++r) {
                const __m512 d = _mm512_set1_ps(h2f[load_u16(wr[r] + kD)]);
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), _mm512_mul_ps(d, dy), acc[r]);
                wr[r] += sizeof(BlockQ6_K);
            }
        }
        for (int r = 0; r < nr; ++r) store_token_lanes(acc[r], out + r, out_stride, n);
    }
};

}  // namespace

GemmFn gemm_k(GgmlType weight_type, bool use_amx) {
#ifdef PAGODA_GEMM_AMX
    if (use_amx && weight_type == GgmlType::Q4_K) return gemm_amx<Q45KKernel<false>>;
    if (use_amx && weight_type == GgmlType::Q5_K) return gemm_amx<Q45KKernel<true>>;
#else
    (void)use_amx;
#endif
    switch (weight_type) {
        case GgmlType::Q4_K:
            return gemm<Q45KKernel<false>>;
        case GgmlType::Q5_K:
            return gemm<Q45KKernel<true>>;
        case GgmlType::Q6_K:
            return gemm<Q6KKernel>;
        default:
            return nullptr;
    }
}

VecDotFn vec_dot_k(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_K:
            return Q45KKernel<false>::dot;
        case GgmlType::Q5_K:
            return Q45KKernel<true>::dot;
        case GgmlType::Q6_K:
            return Q6KKernel::dot;
        default:
            return nullptr;
    }
}

}  // namespace pagoda::quant::avx512

#endif
