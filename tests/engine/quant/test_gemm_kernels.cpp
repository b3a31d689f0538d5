// Tile kernels (gemm_kernels.h): every (row, token) output of a tile equals the
// single-row dot get_vec_dot bit for bit, whatever the tile's rows, tokens and offsets
// (batch invariance), and agrees with the scalar reference dots to fp32 rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model/ggml_type.h"
#include "model/quant/gemm_kernels.h"
#include "model/quant/quant.h"
#include "model/quant/quant_impl.h"

namespace pagoda {
namespace {

const GgmlType kQuantTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

// Encoded rows plus what they decode to.
struct Rows {
    int64_t k = 0;
    size_t stride = 0;
    std::vector<uint8_t> bytes;
    std::vector<float> decoded;
    const uint8_t* row(int64_t i) const { return bytes.data() + static_cast<size_t>(i) * stride; }
};

// Mixed magnitudes: normal values, some rows tiny, some with outliers, some all positive.
Rows make_rows(GgmlType type, int64_t count, int64_t k, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g;
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    Rows rows;
    rows.k = k;
    rows.stride = static_cast<size_t>(*ggml_row_bytes(type, k));
    rows.bytes.resize(rows.stride * static_cast<size_t>(count));
    rows.decoded.resize(static_cast<size_t>(count * k));
    std::vector<float> x(static_cast<size_t>(k));
    for (int64_t i = 0; i < count; ++i) {
        const int kind = static_cast<int>(i % 4);
        for (float& v : x) {
            v = kind == 0 ? g(rng) : kind == 1 ? u(rng) * 0.02f : kind == 2 ? g(rng) * (u(rng) > 0.97f ? 30.0f : 1.0f)
                                                                             : std::fabs(g(rng));
        }
        EXPECT_TRUE(quantize_row(type, x.data(), rows.bytes.data() + rows.stride * i, k).is_ok());
        dequantize_row(type, rows.row(i), rows.decoded.data() + i * k, k);
    }
    return rows;
}

std::vector<int64_t> test_lengths(GgmlType type) {
    if (ggml_type_info(type).block_size == 256) return {256, 512, 768, 256 * 7};
    return {32, 64, 96, 32 * 7, 32 * 43};  // odd block counts take the single-block tail
}

uint32_t bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof(b));
    return b;
}

TEST(GemmKernels, ScalarTileIsTheScalarDot) {
    // The reference tile is only a loop; check its indexing once.
    const GgmlType wt = GgmlType::Q4_0;
    const Rows w = make_rows(wt, 3, 64, 1);
    const Rows a = make_rows(vec_dot_type(wt), 2, 64, 2);
    float out[2][5] = {};
    quant::gemm_scalar(wt, 64, w.row(0), w.stride, 3, a.row(0), a.stride, 2, &out[0][0], 5);
    for (int t = 0; t < 2; ++t) {
        for (int r = 0; r < 3; ++r) EXPECT_EQ(out[t][r], quant::get_vec_dot_scalar(wt)(64, w.row(r), a.row(t)));
        EXPECT_EQ(out[t][3], 0.0f);
    }
}

TEST(GemmKernels, HaveKernelsForTheMainTypesWithAvx512) {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
    for (GgmlType wt : kQuantTypes) {
        EXPECT_NE(quant::get_gemm(wt), nullptr) << ggml_type_name(wt);
        EXPECT_EQ(get_vec_dot(wt), quant::get_vec_dot_avx512(wt)) << ggml_type_name(wt);
    }
#else
    GTEST_SKIP() << "build without AVX-512 VNNI: matmul loops get_vec_dot";
#endif
    EXPECT_EQ(quant::get_gemm(GgmlType::F32), nullptr);
    EXPECT_EQ(quant::get_gemm(GgmlType::Q2_K), nullptr);
}

// Every output of a tile equals get_vec_dot of that (row, token), bit for bit. Tiles
// start at odd row / token offsets and cover 1..33 tokens and 1..40 rows (AMX takes rows
// 32 at a time, the AVX-512 kernels 16 or 8).
void expect_tiles_equal_single_dots(GgmlType wt, quant::GemmFn gemm, const char* kernel) {
    const VecDotFn dot = get_vec_dot(wt);
    for (int64_t k : test_lengths(wt)) {
        SCOPED_TRACE(std::string(ggml_type_name(wt)) + " k=" + std::to_string(k) + " " + kernel);
        constexpr int64_t kRows = 43, kToks = 35;
        const Rows w = make_rows(wt, kRows, k, 10 + static_cast<uint32_t>(k));
        const Rows a = make_rows(vec_dot_type(wt), kToks, k, 20 + static_cast<uint32_t>(k));
        std::vector<float> ref(static_cast<size_t>(kRows * kToks));
        for (int64_t t = 0; t < kToks; ++t) {
            for (int64_t r = 0; r < kRows; ++r) ref[t * kRows + r] = dot(k, w.row(r), a.row(t));
        }
        int bad = 0;
        for (int64_t rows : {1, 2, 3, 5, 8, 9, 16, 17, 31, 32, 33, 40}) {
            for (int64_t toks = 1; toks <= 33; ++toks) {
                const int64_t r0 = rows % 3, t0 = toks % 2 ? 0 : 2;  // offsets into the matrices
                constexpr size_t kOutStride = 45;
                std::vector<float> out(static_cast<size_t>(toks) * kOutStride, -1.0f);
                gemm(k, w.row(r0), w.stride, rows, a.row(t0), a.stride, toks, out.data(), kOutStride);
                for (int64_t t = 0; t < toks; ++t) {
                    for (int64_t r = 0; r < static_cast<int64_t>(kOutStride); ++r) {
                        const float got = out[t * kOutStride + r];
                        if (r >= rows) {
                            if (got != -1.0f && ++bad <= 5) ADD_FAILURE() << "wrote past the tile at r=" << r;
                            continue;
                        }
                        const float want = ref[(t0 + t) * kRows + r0 + r];
                        if (bits(got) != bits(want) && ++bad <= 5) {
                            ADD_FAILURE() << "rows=" << rows << " toks=" << toks << " r=" << r << " t=" << t << ": "
                                          << got << " vs single dot " << want;
                        }
                    }
                }
            }
        }
        EXPECT_EQ(bad, 0);
    }
}

TEST(GemmKernels, Avx512TilesEqualSingleDotsBitForBit) {
    int checked = 0;
    for (GgmlType wt : kQuantTypes) {
        if (const quant::GemmFn gemm = quant::get_gemm_avx512(wt)) {
            expect_tiles_equal_single_dots(wt, gemm, "avx512");
            ++checked;
        }
    }
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
    EXPECT_EQ(checked, 8);
#endif
}

TEST(GemmKernels, AmxTilesEqualSingleDotsBitForBit) {
    if (!quant::amx_in_use()) GTEST_SKIP() << "AMX not available to this process (CPU, OS or PAGODA_NO_AMX)";
    for (GgmlType wt : kQuantTypes) {
        if (const quant::GemmFn gemm = quant::get_gemm_amx(wt)) expect_tiles_equal_single_dots(wt, gemm, "amx");
    }
}

// A token's outputs are the same bits whether it is alone or one of 32.
TEST(GemmKernels, BatchInvariance) {
    for (GgmlType wt : kQuantTypes) {
        const quant::GemmFn gemm = quant::get_gemm(wt);
        if (!gemm) continue;
        const int64_t k = ggml_type_info(wt).block_size == 256 ? 1024 : 320;
        constexpr int64_t kRows = 37, kToks = 32;
        const Rows w = make_rows(wt, kRows, k, 7);
        const Rows a = make_rows(vec_dot_type(wt), kToks, k, 8);
        std::vector<float> batch(static_cast<size_t>(kRows * kToks));
        gemm(k, w.row(0), w.stride, kRows, a.row(0), a.stride, kToks, batch.data(), kRows);
        for (int64_t t = 0; t < kToks; ++t) {
            std::vector<float> alone(static_cast<size_t>(kRows));
            gemm(k, w.row(0), w.stride, kRows, a.row(t), a.stride, 1, alone.data(), kRows);
            for (int64_t r = 0; r < kRows; ++r) {
                EXPECT_EQ(bits(alone[r]), bits(batch[t * kRows + r])) << ggml_type_name(wt) << " t=" << t << " r=" << r;
            }
        }
    }
}

// Kernel results against the scalar reference, to fp32 rounding of per-block partial
// sums (relative to the sum of |products|, as test_vec_dot's SIMD check).
TEST(GemmKernels, AgreeWithScalarReference) {
    for (GgmlType wt : kQuantTypes) {
        const VecDotFn scalar = quant::get_vec_dot_scalar(wt);
        const quant::GemmFn gemm = quant::get_gemm(wt);
        const VecDotFn candidates[] = {get_vec_dot(wt), quant::get_vec_dot_avx512(wt), quant::get_vec_dot_avx2(wt)};
        for (int64_t k : test_lengths(wt)) {
            constexpr int64_t kRows = 9, kToks = 6;
            const Rows w = make_rows(wt, kRows, k, 30 + static_cast<uint32_t>(k));
            const Rows a = make_rows(vec_dot_type(wt), kToks, k, 40 + static_cast<uint32_t>(k));
            std::vector<float> tile(static_cast<size_t>(kRows * kToks));
            if (gemm) gemm(k, w.row(0), w.stride, kRows, a.row(0), a.stride, kToks, tile.data(), kRows);
            for (int64_t t = 0; t < kToks; ++t) {
                for (int64_t r = 0; r < kRows; ++r) {
                    double mag = 0;
                    for (int64_t i = 0; i < k; ++i) {
                        mag += std::fabs(static_cast<double>(w.decoded[r * k + i]) * a.decoded[t * k + i]);
                    }
                    const double tol = 1e-5 * mag + 1e-30;
                    const float want = scalar(k, w.row(r), a.row(t));
                    for (VecDotFn fn : candidates) {
                        if (fn) {
                            EXPECT_NEAR(fn(k, w.row(r), a.row(t)), want, tol) << ggml_type_name(wt) << " k=" << k;
                        }
                    }
                    if (gemm) {
                        EXPECT_NEAR(tile[t * kRows + r], want, tol) << ggml_type_name(wt) << " k=" << k;
                    }
                }
            }
        }
    }
}

// Largest magnitudes each format holds against activations at +-127: no intermediate
// integer sum may saturate or wrap, in the tile kernels as in the dots.
TEST(GemmKernels, ExtremeBlocksDoNotOverflow) {
    for (GgmlType wt : kQuantTypes) {
        const quant::GemmFn gemm = quant::get_gemm(wt);
        if (!gemm) continue;
        const GgmlType at = vec_dot_type(wt);
        const int64_t k = 512;
        std::vector<float> wv(k), av(k);
        const size_t wbytes = static_cast<size_t>(*ggml_row_bytes(wt, k));
        const size_t abytes = static_cast<size_t>(*ggml_row_bytes(at, k));
        std::vector<uint8_t> w(wbytes * 2), a(abytes * 2);
        for (int variant = 0; variant < 2; ++variant) {
            for (int64_t i = 0; i < k; ++i) {
                wv[i] = variant == 0 ? ((i % 3 == 0) ? -4.0f : 3.5f) : ((i % 7 == 0) ? 1.0f : -8.0f);
                av[i] = (wv[i] > 0) == (variant == 0) ? 1.0f : -1.0f;  // products of one sign: largest sums
            }
            ASSERT_TRUE(quantize_row(wt, wv.data(), w.data() + wbytes * variant, k).is_ok());
            ASSERT_TRUE(quantize_row(at, av.data(), a.data() + abytes * variant, k).is_ok());
        }
        float out[2][2];
        gemm(k, w.data(), wbytes, 2, a.data(), abytes, 2, &out[0][0], 2);
        for (int t = 0; t < 2; ++t) {
            for (int r = 0; r < 2; ++r) {
                const float want = quant::get_vec_dot_scalar(wt)(k, w.data() + wbytes * r, a.data() + abytes * t);
                EXPECT_NEAR(out[t][r], want, 1e-5 * std::fabs(want) + 1e-6) << ggml_type_name(wt);
            }
        }
    }
}

}  // namespace
}  // namespace pagoda
