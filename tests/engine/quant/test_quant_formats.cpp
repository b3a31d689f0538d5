// Block formats: hand-made blocks decode to known values, quantize -> dequantize stays
// within each format's expected error, and quantize_row rejects what it cannot do.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "model/ggml_type.h"
#include "model/quant/quant.h"
#include "model/quant/quant_impl.h"

namespace pagoda {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, sigma);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = g(rng);
    return v;
}

std::vector<uint8_t> encode(GgmlType type, const std::vector<float>& x) {
    std::vector<uint8_t> out(*ggml_row_bytes(type, static_cast<int64_t>(x.size())));
    EXPECT_TRUE(quantize_row(type, x.data(), out.data(), static_cast<int64_t>(x.size())).is_ok());
    return out;
}

std::vector<float> decode(GgmlType type, const std::vector<uint8_t>& bytes, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    dequantize_row(type, bytes.data(), out.data(), n);
    return out;
}

void put_half(uint8_t* p, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(p, &h, 2);
}

// Q4_K / Q5_K scale packing written from the format description (not from the
// implementation): bytes 0-3 scale[0..3], 4-7 min[0..3], 8-11 low nibbles of
// scale/min[4..7]; the top 2 bits of scale/min[4..7] sit in the top bits of bytes 0-7.
void pack_k4_scales(const int sc[8], const int mn[8], uint8_t out[12]) {
    std::memset(out, 0, 12);
    for (int j = 0; j < 4; ++j) {
        out[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
        out[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
        out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
}

TEST(QuantFormats, Q4_0KnownBlock) {
    uint8_t block[18];
    put_half(block, 0.5f);
    for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    float y[32];
    dequantize_row(GgmlType::Q4_0, block, y, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;
        EXPECT_EQ(y[j + 16], (15 - j - 8) * 0.5f) << j;
    }
}

TEST(QuantFormats, Q4_0QuantizesExactGridExactly) {
    // Values on the grid d*(q-8) with the most negative one setting d = -2 / -8 = 0.25.
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[j] = static_cast<float>((j % 16) - 8) * 0.25f;
    const auto bytes = encode(GgmlType::Q4_0, x);
    uint16_t d;
    std::memcpy(&d, bytes.data(), 2);
    EXPECT_EQ(d, fp32_to_fp16(0.25f));
    for (int j = 0; j < 16; ++j) EXPECT_EQ(bytes[2 + j], static_cast<uint8_t>(j | (j << 4))) << j;
    EXPECT_EQ(decode(GgmlType::Q4_0, bytes, 32), x);
}

TEST(QuantFormats, Q4_1KnownBlock) {
    uint8_t block[20];
    put_half(block, 0.25f);
    put_half(block + 2, -1.0f);
    for (int j = 0; j < 16; ++j) block[4 + j] = static_cast<uint8_t>(j | ((j ^ 5) << 4));
    float y[32];
    dequantize_row(GgmlType::Q4_1, block, y, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], j * 0.25f - 1.0f);
        EXPECT_EQ(y[j + 16], (j ^ 5) * 0.25f - 1.0f);
    }
}

TEST(QuantFormats, Q5_0KnownBlock) {
    uint8_t block[22];
    put_half(block, 1.0f);
    uint32_t qh = 0xAAAAAAAAu;  // fifth bit set for odd value indices
    std::memcpy(block + 2, &qh, 4);
    for (int j = 0; j < 16; ++j) block[6 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    float y[32];
    dequantize_row(GgmlType::Q5_0, block, y, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], static_cast<float>((j | ((j & 1) << 4)) - 16)) << j;
        const int k = j + 16;
        EXPECT_EQ(y[k], static_cast<float>(((15 - j) | ((k & 1) << 4)) - 16)) << k;
    }
}

TEST(QuantFormats, Q5_1KnownBlock) {
    uint8_t block[24];
    put_half(block, 0.5f);
    put_half(block + 2, 2.0f);
    uint32_t qh = 0x0000FFFFu;  // fifth bit set for the first 16 values only
    std::memcpy(block + 4, &qh, 4);
    for (int j = 0; j < 16; ++j) block[8 + j] = static_cast<uint8_t>(j | (j << 4));
    float y[32];
    dequantize_row(GgmlType::Q5_1, block, y, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], (j + 16) * 0.5f + 2.0f);
        EXPECT_EQ(y[j + 16], j * 0.5f + 2.0f);
    }
}

TEST(QuantFormats, Q8_0KnownBlock) {
    uint8_t block[34];
    put_half(block, 2.0f);
    for (int j = 0; j < 32; ++j) block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
    float y[32];
    dequantize_row(GgmlType::Q8_0, block, y, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 2.0f * (j - 16));
}

TEST(QuantFormats, Q8_1CarriesScaledSum) {
    std::vector<float> x = gaussian(64, 5);
    const auto bytes = encode(GgmlType::Q8_1, x);
    for (int b = 0; b < 2; ++b) {
        const uint8_t* blk = bytes.data() + 36 * b;
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
        const float d = amax / 127;  // s uses the fp32 scale, before it is rounded to fp16
        int sum = 0;
        for (int j = 0; j < 32; ++j) sum += static_cast<int8_t>(blk[4 + j]);
        uint16_t dh, s;
        std::memcpy(&dh, blk, 2);
        std::memcpy(&s, blk + 2, 2);
        EXPECT_EQ(dh, fp32_to_fp16(d));
        EXPECT_EQ(s, fp32_to_fp16(static_cast<float>(sum) * d));
    }
}

TEST(QuantFormats, Q4_KKnownBlock) {
    uint8_t block[144] = {};
    put_half(block, 1.0f);      // d
    put_half(block + 2, 0.5f);  // dmin
    const int sc[8] = {1, 2, 3, 4, 14, 15, 16, 63};
    const int mn[8] = {0, 1, 2, 3, 28, 33, 47, 63};
    pack_k4_scales(sc, mn, block + 4);
    uint8_t q[256];
    for (int v = 0; v < 256; ++v) q[v] = static_cast<uint8_t>((v * 7) % 16);
    // Per 64 values: 32 bytes, low nibble = first 32 values, high nibble = next 32.
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l)
            block[16 + 32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
    float y[256];
    dequantize_row(GgmlType::Q4_K, block, y, 256);
    for (int v = 0; v < 256; ++v) {
        const int sub = v / 32;
        EXPECT_EQ(y[v], 1.0f * sc[sub] * q[v] - 0.5f * mn[sub]) << v;
    }
}

TEST(QuantFormats, Q5_KKnownBlock) {
    uint8_t block[176] = {};
    put_half(block, 0.25f);
    put_half(block + 2, 1.0f);
    const int sc[8] = {5, 17, 33, 63, 0, 8, 40, 22};
    const int mn[8] = {63, 0, 9, 18, 27, 36, 45, 54};
    pack_k4_scales(sc, mn, block + 4);
    uint8_t q[256];
    for (int v = 0; v < 256; ++v) q[v] = static_cast<uint8_t>((v * 11 + 3) % 32);
    uint8_t* qh = block + 16;
    uint8_t* qs = block + 48;
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
            qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
        }
    }
    float y[256];
    dequantize_row(GgmlType::Q5_K, block, y, 256);
    for (int v = 0; v < 256; ++v) {
        const int sub = v / 32;
        EXPECT_EQ(y[v], 0.25f * sc[sub] * q[v] - 1.0f * mn[sub]) << v;
    }
}

TEST(QuantFormats, Q6_KKnownBlock) {
    uint8_t block[210] = {};
    uint8_t* ql = block;
    uint8_t* qh = block + 128;
    auto* scales = reinterpret_cast<int8_t*>(block + 192);
    put_half(block + 208, 0.5f);
    for (int j = 0; j < 16; ++j) scales[j] = static_cast<int8_t>(j * 9 - 70);
    uint8_t q[256];
    for (int v = 0; v < 256; ++v) q[v] = static_cast<uint8_t>((v * 5 + 1) % 64);
    // Per 128 values: value g*32+l (g = 0..3) has its low 4 bits in ql[l] (g even) or ql[l+32]
    // (g odd), low nibble for g < 2 and high nibble otherwise, and its top 2 bits in qh[l] bits 2g..2g+1.
    for (int h = 0; h < 2; ++h) {
        for (int g = 0; g < 4; ++g) {
            for (int l = 0; l < 32; ++l) {
                const int v = 128 * h + 32 * g + l;
                uint8_t& lbyte = ql[64 * h + l + (g & 1 ? 32 : 0)];
                lbyte |= static_cast<uint8_t>((q[v] & 0xF) << (g >= 2 ? 4 : 0));
                qh[32 * h + l] |= static_cast<uint8_t>((q[v] >> 4) << (2 * g));
            }
        }
    }
    float y[256];
    dequantize_row(GgmlType::Q6_K, block, y, 256);
    for (int v = 0; v < 256; ++v) EXPECT_EQ(y[v], 0.5f * scales[v / 16] * (q[v] - 32)) << v;
}

TEST(QuantFormats, Q8_KRoundTripAndBsums) {
    const auto x = gaussian(512, 9);
    const auto bytes = encode(GgmlType::Q8_K, x);
    ASSERT_EQ(bytes.size(), 2u * 292);
    for (int b = 0; b < 2; ++b) {
        const uint8_t* blk = bytes.data() + 292 * b;
        const auto* qs = reinterpret_cast<const int8_t*>(blk + 4);
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) {
                sum += qs[16 * g + l];
                EXPECT_GE(qs[16 * g + l], -127);  // the SIMD sign trick relies on this
            }
            int16_t bsum;
            std::memcpy(&bsum, blk + 260 + 2 * g, 2);
            EXPECT_EQ(bsum, sum);
        }
    }
    const auto y = decode(GgmlType::Q8_K, bytes, 512);
    for (int i = 0; i < 512; ++i) EXPECT_NEAR(y[i], x[i], 0.02f);
}

struct ErrorCase {
    GgmlType type;
    double max_rel_rmse;  // rmse / sigma on N(0, 1) data
    double max_rel_abs;   // worst |error| / sigma
};

class QuantRoundTrip : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(QuantRoundTrip, ErrorWithinBounds) {
    const auto c = GetParam();
    const int64_t n = 256 * 64;
    for (float sigma : {1.0f, 1e-3f, 300.0f}) {
        const auto x = gaussian(n, 1234, sigma);
        const auto y = decode(c.type, encode(c.type, x), n);
        double se = 0, worst = 0;
        for (int64_t i = 0; i < n; ++i) {
            const double e = static_cast<double>(y[i]) - x[i];
            se += e * e;
            worst = std::max(worst, std::fabs(e));
        }
        const double rel_rmse = std::sqrt(se / n) / sigma;
        EXPECT_LT(rel_rmse, c.max_rel_rmse) << ggml_type_name(c.type) << " sigma " << sigma;
        EXPECT_LT(worst / sigma, c.max_rel_abs) << ggml_type_name(c.type) << " sigma " << sigma;
        // And quantization does something: only F32 is lossless.
        if (c.type != GgmlType::F32) {
            EXPECT_GT(rel_rmse, 0.0);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, QuantRoundTrip,
    ::testing::Values(ErrorCase{GgmlType::F32, 1e-30, 1e-30},
                      // Bounds are ~1.3x what GGML's algorithms measure on this data.
                      ErrorCase{GgmlType::F16, 3e-4, 2e-3}, ErrorCase{GgmlType::BF16, 2.2e-3, 1.6e-2},
                      ErrorCase{GgmlType::Q8_0, 7e-3, 2.2e-2}, ErrorCase{GgmlType::Q8_1, 7e-3, 2.2e-2},
                      ErrorCase{GgmlType::Q8_K, 9e-3, 2.2e-2}, ErrorCase{GgmlType::Q6_K, 2.7e-2, 0.15},
                      ErrorCase{GgmlType::Q5_0, 5.5e-2, 0.2}, ErrorCase{GgmlType::Q5_1, 5e-2, 0.15},
                      ErrorCase{GgmlType::Q5_K, 4.8e-2, 0.19}, ErrorCase{GgmlType::Q4_0, 0.11, 0.42},
                      ErrorCase{GgmlType::Q4_1, 0.1, 0.29}, ErrorCase{GgmlType::Q4_K, 9.3e-2, 0.3}),
    [](const auto& info) { return std::string(ggml_type_name(info.param.type)); });

TEST(QuantFormats, ZeroAndConstantRowsDecodeExactly) {
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K,
                       GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K}) {
        std::vector<float> zeros(256, 0.0f);
        const auto y = decode(t, encode(t, zeros), 256);
        for (float v : y) ASSERT_EQ(v, 0.0f) << ggml_type_name(t);
    }
    // A constant row: every format keeps it within a few percent.
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K,
                       GgmlType::Q5_K, GgmlType::Q6_K}) {
        std::vector<float> c(256, -0.75f);
        const auto y = decode(t, encode(t, c), 256);
        for (float v : y) ASSERT_NEAR(v, -0.75f, 0.03f) << ggml_type_name(t);
    }
}

TEST(QuantFormats, QuantizeRowRejectsBadLengthAndTypes) {
    std::vector<float> x(300, 1.0f);
    std::vector<uint8_t> out(4096);
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_1, GgmlType::Q4_K, GgmlType::Q8_K}) {
        const int64_t bs = ggml_type_info(t).block_size;
        const Status s = quantize_row(t, x.data(), out.data(), bs + 1);
        EXPECT_EQ(s.code(), ErrorCode::invalid_argument) << ggml_type_name(t);
        EXPECT_NE(s.message().find("block size"), std::string::npos) << s.message();
    }
    EXPECT_EQ(quantize_row(GgmlType::Q4_0, x.data(), out.data(), -32).code(), ErrorCode::invalid_argument);
    for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_NL, GgmlType::I32, GgmlType::MXFP4}) {
        const Status s = quantize_row(t, x.data(), out.data(), 256);
        EXPECT_EQ(s.code(), ErrorCode::unsupported) << ggml_type_name(t);
        EXPECT_NE(s.message().find(ggml_type_name(t)), std::string::npos) << s.message();
    }
    // Plain float types take any length.
    EXPECT_TRUE(quantize_row(GgmlType::F16, x.data(), out.data(), 7).is_ok());
    EXPECT_TRUE(quantize_row(GgmlType::F32, x.data(), out.data(), 0).is_ok());
}

TEST(QuantFormats, QuantizeIsDeterministicAndRowLocal) {
    // Quantizing two rows at once equals quantizing them one by one (blocks are independent).
    const auto x = gaussian(512, 77);
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q6_K}) {
        const auto both = encode(t, x);
        const auto first = encode(t, std::vector<float>(x.begin(), x.begin() + 256));
        const auto second = encode(t, std::vector<float>(x.begin() + 256, x.end()));
        std::vector<uint8_t> joined = first;
        joined.insert(joined.end(), second.begin(), second.end());
        EXPECT_EQ(both, joined) << ggml_type_name(t);
        EXPECT_EQ(both, encode(t, x)) << ggml_type_name(t);
    }
}

TEST(QuantFormats, SimdActivationQuantizersEqualScalar) {
    using Fn = void (*)(const float*, void*, int64_t);
    const struct {
        GgmlType type;
        Fn scalar;
    } cases[] = {{GgmlType::Q8_0, quant::quantize_row_q8_0},
                 {GgmlType::Q8_1, quant::quantize_row_q8_1},
                 {GgmlType::Q8_K, quant::quantize_row_q8_K}};
    std::vector<std::vector<float>> rows;
    for (uint32_t seed = 0; seed < 20; ++seed) rows.push_back(gaussian(1024, seed, seed % 2 ? 1e-3f : 10.0f));
    // Exact ties: with a block maximum of 127 the scale is 1, so x.5 values round half away
    // (Q8_0/Q8_1) or half to even (Q8_K, scale -1 with a negative maximum).
    std::vector<float> ties(1024);
    for (int j = 0; j < 1024; ++j) ties[j] = (j % 32 == 0) ? 127.0f : static_cast<float>(j % 32) - 15.5f;
    rows.push_back(ties);
    std::vector<float> neg_ties(1024);
    for (int j = 0; j < 1024; ++j) neg_ties[j] = (j % 256 == 0) ? -127.0f : static_cast<float>(j % 64) - 31.5f;
    rows.push_back(neg_ties);
    rows.push_back(std::vector<float>(1024, 0.0f));
    std::vector<float> one_hot(1024, 0.0f);
    one_hot[300] = -3.0f;
    rows.push_back(one_hot);
    for (const auto& c : cases) {
        const auto simd = quant::get_quantize_row_simd(c.type);
        if (!simd) GTEST_SKIP() << "no SIMD activation quantizers in this build";
        for (size_t r = 0; r < rows.size(); ++r) {
            std::vector<uint8_t> a(*ggml_row_bytes(c.type, 1024), 0xAA), b(a.size(), 0x55);
            c.scalar(rows[r].data(), a.data(), 1024);
            simd(rows[r].data(), b.data(), 1024);
            EXPECT_EQ(a, b) << ggml_type_name(c.type) << " row " << r;
        }
    }
}

}  // namespace
}  // namespace pagoda
