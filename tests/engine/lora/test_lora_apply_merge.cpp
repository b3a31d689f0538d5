// merge_lora_into_gguf: W' = W + scale·B·A on F32 and F16 weights, other tensors and
// metadata unchanged, quantized modules and mismatched adapters refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "fixtures/random_model.h"
#include "lora/lora_merge.h"
#include "lora_apply_test_util.h"
#include "model/model_config.h"
#include "model/quant/quant.h"

namespace pagoda {
namespace {

struct Base {
    std::vector<uint8_t> bytes;
    std::unique_ptr<GgufFile> file;
    ModelConfig config;
};

Base make_base(fixtures::RandomModelType type) {
    fixtures::RandomModelConfig c;
    c.type = type;
    c.dim = 64;
    c.n_layers = 2;
    c.ffn = 128;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab = 300;
    Base b;
    GgufWriter w;
    EXPECT_TRUE(fixtures::build_random_model(c, w).is_ok());
    b.bytes = w.to_bytes();
    auto f = GgufFile::parse(b.bytes, "base");
    EXPECT_TRUE(f.is_ok());
    b.file = std::move(f.value());
    b.config = parse_model_config(*b.file).value();
    return b;
}

float weight_at(const GgufTensorInfo& t, int64_t o, int64_t i) {
    const int64_t idx = o * t.dims[0] + i;
    if (t.type == GgmlType::F32) return reinterpret_cast<const float*>(t.data)[idx];
    return fp16_to_fp32(reinterpret_cast<const uint16_t*>(t.data)[idx]);
}

TEST(LoraApplyMerge, MergesF32AndF16Weights) {
    for (auto type : {fixtures::RandomModelType::f32, fixtures::RandomModelType::f16}) {
        Base b = make_base(type);
        LoraAdapter a = lora_test::random_adapter(b.config, "m", 3, 4, 0.3f, {LoraTarget::v, LoraTarget::down});
        a.scale = 0.5f;
        GgufWriter w(b.file->alignment());
        ASSERT_TRUE(merge_lora_into_gguf(*b.file, a, 2.0f, w).is_ok());
        const auto bytes = w.to_bytes();
        auto merged = GgufFile::parse(bytes, "merged");
        ASSERT_TRUE(merged.is_ok()) << merged.status().to_string();
        ASSERT_EQ(merged.value()->tensors().size(), b.file->tensors().size());
        for (size_t k = 0; k < b.file->tensors().size(); ++k) {
            const GgufTensorInfo& before = b.file->tensors()[k];
            const GgufTensorInfo& after = merged.value()->tensors()[k];
            ASSERT_EQ(before.name, after.name);
            const LoraPair* pp = nullptr;
            if (before.name == "blk.0.attn_v.weight") pp = &*a.layers[0][static_cast<size_t>(LoraTarget::v)];
            if (before.name == "blk.1.attn_v.weight") pp = &*a.layers[1][static_cast<size_t>(LoraTarget::v)];
            if (before.name == "blk.0.ffn_down.weight") pp = &*a.layers[0][static_cast<size_t>(LoraTarget::down)];
            if (before.name == "blk.1.ffn_down.weight") pp = &*a.layers[1][static_cast<size_t>(LoraTarget::down)];
            if (!pp) {
                EXPECT_EQ(std::memcmp(before.data, after.data, before.n_bytes), 0) << before.name;
                continue;
            }
            const LoraPair& p = *pp;
            const int64_t outs[] = {0, p.out_features - 1};
            const int64_t ins[] = {0, 5, p.in_features - 1};
            for (int64_t o : outs) {
                for (int64_t i : ins) {
                    double delta = 0;
                    for (int32_t r = 0; r < p.rank; ++r)
                        delta += double{p.b[o * p.rank + r]} * p.a[static_cast<size_t>(r) * p.in_features + i];
                    const double want = weight_at(before, o, i) + 1.0 * delta;  // adapter 0.5 x request 2
                    EXPECT_NEAR(weight_at(after, o, i), want, type == fixtures::RandomModelType::f16 ? 2e-3 : 1e-5)
                        << before.name << " [" << o << ", " << i << "]";
                }
            }
        }
        const std::string* name = merged.value()->get_string("general.name");
        ASSERT_NE(name, nullptr);
        EXPECT_NE(name->find("+m"), std::string::npos);
    }
}

TEST(LoraApplyMerge, RefusesQuantizedAndMismatchedWeights) {
    Base q = make_base(fixtures::RandomModelType::q8_0);
    LoraAdapter a = lora_test::random_adapter(q.config, "m", 3, 4, 0.3f, {LoraTarget::q});
    GgufWriter w;
    const Status s = merge_lora_into_gguf(*q.file, a, 1.0f, w);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::unsupported);
    EXPECT_NE(s.message().find("attn_q"), std::string::npos) << s.to_string();

    Base f = make_base(fixtures::RandomModelType::f32);
    LoraAdapter wrong = lora_test::random_adapter(f.config, "w", 3, 4, 0.3f, {LoraTarget::up});
    wrong.layers[0][static_cast<size_t>(LoraTarget::up)]->in_features += 1;
    GgufWriter w2;
    EXPECT_EQ(merge_lora_into_gguf(*f.file, wrong, 1.0f, w2).code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace pagoda
