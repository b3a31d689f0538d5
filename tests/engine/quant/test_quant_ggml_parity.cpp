// Bit-for-bit agreement with llama.cpp's own GGML: the prebuilt CPU libraries shipped in
// the node-llama-cpp peer (tests/peers) are dlopen'ed and their reference quantizers,
// dequantizers, conversions and AVX2 dot products are run on the same inputs as ours.
// Skips when the peer is not installed.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda {
namespace {

using QuantizeFn = void (*)(const float*, void*, int64_t);
using DequantizeFn = void (*)(const void*, float*, int64_t);
using GgmlDotFn = void (*)(int n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc);
struct GgmlBf16 {
    uint16_t bits;
};

std::string peer_lib_dir() {
    return std::string(PAGODA_TEST_DATA_DIR) + "/../peers/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";
}

class GgmlPeer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const std::string dir = peer_lib_dir();
        if (!std::filesystem::exists(dir + "/libggml-base.so")) return;
        base_ = dlopen((dir + "/libggml-base.so").c_str(), RTLD_NOW | RTLD_LOCAL);
        // The AVX2 ("haswell") build of the CPU backend holds the dot kernels llama.cpp runs
        // on an AVX2 machine.
        if (base_ && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            cpu_ = dlopen((dir + "/libggml-cpu-haswell.so").c_str(), RTLD_NOW | RTLD_LOCAL);
        }
        if (cpu_) {
            if (auto init = reinterpret_cast<void (*)()>(dlsym(cpu_, "ggml_cpu_init"))) init();  // fp16 tables
        }
    }
    static void TearDownTestSuite() {
        if (cpu_) dlclose(cpu_);
        if (base_) dlclose(base_);
        cpu_ = base_ = nullptr;
    }
    void SetUp() override {
        if (!base_) GTEST_SKIP() << "node-llama-cpp's libggml-base.so not found under " << peer_lib_dir();
    }
    template <typename Fn>
    static Fn sym(void* lib, const std::string& name) {
        return lib ? reinterpret_cast<Fn>(dlsym(lib, name.c_str())) : nullptr;
    }
    static void* base_;
    static void* cpu_;
};
void* GgmlPeer::base_ = nullptr;
void* GgmlPeer::cpu_ = nullptr;

// Rows that probe the quantizers' corners: ordinary data at several scales, outliers,
// one-signed rows, exact zeros, constants, and values near fp16's limits.
std::vector<std::vector<float>> probe_rows(int64_t n) {
    std::vector<std::vector<float>> rows;
    std::mt19937 rng(2024);
    std::normal_distribution<float> g;
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    auto make = [&](auto f) {
        std::vector<float> r(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) r[i] = f(i);
        rows.push_back(std::move(r));
    };
    for (float scale : {1.0f, 0.02f, 1e-4f, 1e-6f, 40.0f, 3000.0f}) make([&](int64_t) { return g(rng) * scale; });
    make([&](int64_t) { return u(rng); });
    make([&](int64_t) { return std::fabs(g(rng)) + 0.5f; });  // all positive, min > 0
    make([&](int64_t) { return -std::fabs(g(rng)); });
    make([&](int64_t i) { return i % 7 == 0 ? 25.0f * g(rng) : 0.1f * g(rng); });  // outliers
    make([&](int64_t i) { return (i / 32) % 3 == 0 ? 0.0f : g(rng); });            // whole zero sub-blocks
    make([&](int64_t) { return 0.0f; });
    make([&](int64_t) { return 0.3f; });
    make([&](int64_t i) { return static_cast<float>(i % 16) - 8.0f; });  // exact grid values: ties
    make([&](int64_t i) { return (i % 2 ? 1.0f : -1.0f) * static_cast<float>(i % 33) * 0.5f; });
    make([&](int64_t) { return g(rng) * 1e-9f; });  // scales below fp16's subnormals
    return rows;
}

struct TypeCase {
    GgmlType type;
    const char* ref_quantize;  // GGML's symbol
    const char* dequantize;
};

const TypeCase kCases[] = {
    {GgmlType::Q4_0, "quantize_row_q4_0_ref", "dequantize_row_q4_0"},
    {GgmlType::Q4_1, "quantize_row_q4_1_ref", "dequantize_row_q4_1"},
    {GgmlType::Q5_0, "quantize_row_q5_0_ref", "dequantize_row_q5_0"},
    {GgmlType::Q5_1, "quantize_row_q5_1_ref", "dequantize_row_q5_1"},
    {GgmlType::Q8_0, "quantize_row_q8_0_ref", "dequantize_row_q8_0"},
    {GgmlType::Q8_1, "quantize_row_q8_1_ref", nullptr},
    {GgmlType::Q4_K, "quantize_row_q4_K_ref", "dequantize_row_q4_K"},
    {GgmlType::Q5_K, "quantize_row_q5_K_ref", "dequantize_row_q5_K"},
    {GgmlType::Q6_K, "quantize_row_q6_K_ref", "dequantize_row_q6_K"},
    {GgmlType::Q8_K, "quantize_row_q8_K_ref", "dequantize_row_q8_K"},
};

TEST_F(GgmlPeer, QuantizedBytesAreIdentical) {
    const int64_t n = 1024;
    const auto rows = probe_rows(n);
    for (const auto& c : kCases) {
        auto ref = sym<QuantizeFn>(base_, c.ref_quantize);
        ASSERT_NE(ref, nullptr) << c.ref_quantize;
        const size_t bytes = *ggml_row_bytes(c.type, n);
        for (size_t r = 0; r < rows.size(); ++r) {
            std::vector<uint8_t> ours(bytes, 0), theirs(bytes, 0);
            ASSERT_TRUE(quantize_row(c.type, rows[r].data(), ours.data(), n).is_ok());
            ref(rows[r].data(), theirs.data(), n);
            size_t first_diff = 0;
            while (first_diff < bytes && ours[first_diff] == theirs[first_diff]) ++first_diff;
            EXPECT_EQ(first_diff, bytes) << ggml_type_name(c.type) << " row " << r << ": first differing byte "
                                         << first_diff << " of " << bytes;
        }
    }
}

TEST_F(GgmlPeer, DequantizedValuesAreIdentical) {
    const int64_t n = 1024;
    const auto rows = probe_rows(n);
    for (const auto& c : kCases) {
        if (!c.dequantize) continue;
        auto deq = sym<DequantizeFn>(base_, c.dequantize);
        ASSERT_NE(deq, nullptr) << c.dequantize;
        for (size_t r = 0; r < rows.size(); ++r) {
            std::vector<uint8_t> q(*ggml_row_bytes(c.type, n));
            ASSERT_TRUE(quantize_row(c.type, rows[r].data(), q.data(), n).is_ok());
            std::vector<float> ours(n), theirs(n);
            dequantize_row(c.type, q.data(), ours.data(), n);
            deq(q.data(), theirs.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                ASSERT_EQ(std::memcmp(&ours[i], &theirs[i], 4), 0)
                    << ggml_type_name(c.type) << " row " << r << " value " << i << ": " << ours[i] << " vs "
                    << theirs[i];
            }
        }
    }
}

TEST_F(GgmlPeer, HalfConversionsAreIdentical) {
    auto to_half = sym<uint16_t (*)(float)>(base_, "ggml_fp32_to_fp16");
    auto from_half = sym<float (*)(uint16_t)>(base_, "ggml_fp16_to_fp32");
    auto to_bf16 = sym<GgmlBf16 (*)(float)>(base_, "ggml_fp32_to_bf16");
    ASSERT_TRUE(to_half && from_half && to_bf16);
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float a = fp16_to_fp32(static_cast<uint16_t>(h));
        const float b = from_half(static_cast<uint16_t>(h));
        ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << h;
    }
    std::mt19937 rng(99);
    for (int i = 0; i < 1000000; ++i) {
        const uint32_t bits = rng();
        float f;
        std::memcpy(&f, &bits, 4);
        ASSERT_EQ(fp32_to_fp16(f), to_half(f)) << std::hex << bits;
        ASSERT_EQ(fp32_to_bf16(f), to_bf16(f).bits) << std::hex << bits;
    }
}

// Our dots against llama.cpp's AVX2 kernels on identical bytes. Both sum in fp32 in
// different orders, so agreement is to fp32 rounding, not bits.
TEST_F(GgmlPeer, DotProductsAgreeWithLlamaCppKernels) {
    if (!cpu_) GTEST_SKIP() << "libggml-cpu-haswell.so not loadable here (needs AVX2/FMA)";
    struct DotCase {
        GgmlType type;
        const char* name;
    };
    const DotCase cases[] = {
        {GgmlType::Q4_0, "ggml_vec_dot_q4_0_q8_0"}, {GgmlType::Q4_1, "ggml_vec_dot_q4_1_q8_1"},
        {GgmlType::Q5_0, "ggml_vec_dot_q5_0_q8_0"}, {GgmlType::Q5_1, "ggml_vec_dot_q5_1_q8_1"},
        {GgmlType::Q8_0, "ggml_vec_dot_q8_0_q8_0"}, {GgmlType::Q4_K, "ggml_vec_dot_q4_K_q8_K"},
        {GgmlType::Q5_K, "ggml_vec_dot_q5_K_q8_K"}, {GgmlType::Q6_K, "ggml_vec_dot_q6_K_q8_K"},
        {GgmlType::F16, "ggml_vec_dot_f16"},        {GgmlType::BF16, "ggml_vec_dot_bf16"},
        {GgmlType::F32, "ggml_vec_dot_f32"},
    };
    const int64_t n = 4096;
    const auto rows = probe_rows(n);
    std::mt19937 rng(5);
    std::normal_distribution<float> g;
    for (const auto& c : cases) {
        auto theirs_fn = sym<GgmlDotFn>(cpu_, c.name);
        ASSERT_NE(theirs_fn, nullptr) << c.name;
        const GgmlType at = vec_dot_type(c.type);
        for (size_t r = 0; r < rows.size(); ++r) {
            std::vector<float> act(n);
            for (auto& v : act) v = g(rng);
            std::vector<uint8_t> w(*ggml_row_bytes(c.type, n)), a(*ggml_row_bytes(at, n));
            ASSERT_TRUE(quantize_row(c.type, rows[r].data(), w.data(), n).is_ok());
            ASSERT_TRUE(quantize_row(at, act.data(), a.data(), n).is_ok());
            const float ours = vec_dot(c.type, n, w.data(), a.data());
            float theirs = 0;
            theirs_fn(static_cast<int>(n), &theirs, 0, w.data(), 0, a.data(), 0, 1);
            // Magnitude of the terms, for a relative tolerance.
            std::vector<float> wd(n), ad(n);
            dequantize_row(c.type, w.data(), wd.data(), n);
            dequantize_row(at, a.data(), ad.data(), n);
            double mag = 0;
            for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(wd[i]) * ad[i]);
            EXPECT_NEAR(ours, theirs, 1e-5 * mag + 1e-30) << c.name << " row " << r;
        }
    }
}

}  // namespace
}  // namespace pagoda
