// AdapterRegistry (ids, names, checks against the model, references held by requests,
// unload while in use, backend copies under a memory budget) and LoraStepPlan (segments
// per layer and target from a batch's adapter sets).
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/create_cpu_backend.h"
#include "kv/block_hash.h"
#include "lora/adapter_registry.h"
#include "lora/adapter_set.h"
#include "lora/lora_step_plan.h"
#include "lora_apply_test_util.h"

namespace pagoda {
namespace {

using lora_test::random_adapter;

ModelConfig small_config() {
    ModelConfig c;
    c.n_vocab = 64;
    c.n_embd = 32;
    c.n_layers = 2;
    c.n_ff = 48;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 8;
    c.n_rot = 8;
    return c;
}

// Backend bytes of an adapter of every target, both layers, rank r, `width`-byte values.
uint64_t adapter_backend_bytes(const ModelConfig& c, int32_t r, uint64_t width) {
    uint64_t per_layer = 0;
    for (int32_t t = 0; t < kLoraTargetCount; ++t) {
        const auto [in, out] = lora_target_in_out(static_cast<LoraTarget>(t), c);
        per_layer += static_cast<uint64_t>(r) * (in + out);
    }
    return per_layer * c.n_layers * width;
}

TEST(LoraApplyRegistry, AddAssignsIdsAndChecksTheAdapter) {
    const ModelConfig c = small_config();
    auto be = create_cpu_backend(1);
    AdapterRegistry reg(*be, c);
    auto a = reg.add(random_adapter(c, "a", 1));
    auto b = reg.add(random_adapter(c, "b", 2));
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(a.value(), 1);
    EXPECT_EQ(b.value(), 2);
    EXPECT_EQ(reg.find("b").value(), 2);
    EXPECT_EQ(reg.find("zzz").status().code(), ErrorCode::not_found);

    auto dup = reg.add(random_adapter(c, "a", 3));
    ASSERT_FALSE(dup.is_ok());
    EXPECT_NE(dup.status().message().find("already loaded"), std::string::npos);

    LoraAdapter wrong = random_adapter(c, "wrong", 4);
    wrong.layers[1][static_cast<size_t>(LoraTarget::down)]->out_features += 1;
    auto r = reg.add(std::move(wrong));
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("layer 1 down_proj"), std::string::npos) << r.status().to_string();

    LoraAdapter nan = random_adapter(c, "nan", 5);
    nan.layers[0][0]->b[3] = NAN;
    EXPECT_FALSE(reg.add(std::move(nan)).is_ok());

    LoraAdapter too_deep = random_adapter(c, "deep", 6);
    too_deep.layers.resize(3);
    EXPECT_FALSE(reg.add(std::move(too_deep)).is_ok());

    LoraAdapter empty;
    empty.name = "empty";
    EXPECT_FALSE(reg.add(std::move(empty)).is_ok()) << "an adapter that changes nothing is refused";

    // A removed name can be used again, under a new id.
    ASSERT_TRUE(reg.remove(1).is_ok());
    EXPECT_EQ(reg.remove(1).code(), ErrorCode::not_found);
    auto again = reg.add(random_adapter(c, "a", 7));
    ASSERT_TRUE(again.is_ok());
    EXPECT_EQ(again.value(), 3) << "ids are never reused";
}

TEST(LoraApplyRegistry, UnloadWaitsForTheRequestsHoldingIt) {
    const ModelConfig c = small_config();
    auto be = create_cpu_backend(1);
    AdapterRegistry reg(*be, c);
    const int32_t id = reg.add(random_adapter(c, "a", 1)).value();
    const std::vector<AdapterRef> set = {{id, 1.0f}};
    ASSERT_TRUE(reg.acquire(set).is_ok());
    ASSERT_TRUE(reg.acquire(set).is_ok());
    const int32_t ids[] = {id};
    ASSERT_TRUE(reg.make_resident(ids).is_ok());
    ASSERT_NE(reg.resident(id), nullptr);
    EXPECT_EQ(reg.stats().backend_bytes, adapter_backend_bytes(c, 4, 4));
    EXPECT_GT(reg.stats().host_bytes, 0u);

    ASSERT_TRUE(reg.remove(id).is_ok());
    EXPECT_EQ(reg.check(set).code(), ErrorCode::not_found) << "new requests cannot use it";
    EXPECT_FALSE(reg.acquire(set).is_ok());
    EXPECT_FALSE(reg.has_garbage());
    reg.collect_garbage();
    EXPECT_NE(reg.resident(id), nullptr) << "still held: its matrices stay";
    auto list = reg.list();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_TRUE(list[0].unloading);
    EXPECT_EQ(list[0].in_flight, 2);

    reg.release(set);
    reg.release(set);
    EXPECT_TRUE(reg.has_garbage());
    reg.collect_garbage();
    EXPECT_EQ(reg.resident(id), nullptr);
    EXPECT_TRUE(reg.list().empty());
    EXPECT_EQ(reg.stats().backend_bytes, 0u);
    EXPECT_EQ(reg.stats().host_bytes, 0u);
}

TEST(LoraApplyRegistry, BudgetEvictsLeastRecentlyUsedAndReloads) {
    const ModelConfig c = small_config();
    auto be = create_cpu_backend(1);
    const uint64_t one = adapter_backend_bytes(c, 4, 2);  // F16
    AdapterRegistry reg(*be, c, {2 * one, GgmlType::F16});
    std::vector<int32_t> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(reg.add(random_adapter(c, "a" + std::to_string(i), i + 1)).value());
    auto use = [&](int32_t id) {
        const int32_t one_id[] = {id};
        ASSERT_TRUE(reg.make_resident(one_id).is_ok());
    };
    use(ids[0]);
    use(ids[1]);
    EXPECT_EQ(reg.stats().backend_bytes, 2 * one);
    use(ids[0]);  // now ids[1] is the least recently used
    use(ids[2]);
    EXPECT_NE(reg.resident(ids[0]), nullptr);
    EXPECT_EQ(reg.resident(ids[1]), nullptr) << "the least recently used copy goes";
    EXPECT_NE(reg.resident(ids[2]), nullptr);
    EXPECT_EQ(reg.stats().evictions, 1);
    EXPECT_LE(reg.stats().backend_bytes, 2 * one);
    use(ids[1]);  // back from the host copy
    EXPECT_NE(reg.resident(ids[1]), nullptr);
    EXPECT_EQ(reg.stats().uploads, 4);
    EXPECT_EQ(reg.resident(ids[1])->layers[0][0].a.type, GgmlType::F16);

    // One step needing all three goes over the budget rather than failing.
    ASSERT_TRUE(reg.make_resident(ids).is_ok());
    for (int32_t id : ids) EXPECT_NE(reg.resident(id), nullptr);
}

TEST(LoraApplyRegistry, AdapterSetsAreSortedCheckedAndKeyed) {
    Request r;
    r.adapters = {{5, 0.5f}, {2, 1.0f}};
    r.adapter_id = 3;
    const auto set = request_adapter_set(r);
    ASSERT_EQ(set.size(), 3u);
    EXPECT_EQ(set[0].id, 2);
    EXPECT_EQ(set[1].id, 3);
    EXPECT_EQ(set[2].id, 5);
    EXPECT_TRUE(check_adapter_set(set).is_ok());
    EXPECT_FALSE(check_adapter_set(std::vector<AdapterRef>{{2, 1.0f}, {2, 0.5f}}).is_ok());
    EXPECT_FALSE(check_adapter_set(std::vector<AdapterRef>{{2, INFINITY}}).is_ok());
    EXPECT_FALSE(check_adapter_set(std::vector<AdapterRef>{{0, 1.0f}}).is_ok());

    EXPECT_EQ(adapter_set_key({}), 0u);
    const std::vector<AdapterRef> a = {{1, 1.0f}}, b = {{1, 0.5f}}, c = {{2, 1.0f}}, ab = {{1, 1.0f}, {2, 1.0f}};
    EXPECT_NE(adapter_set_key(a), 0u);
    EXPECT_NE(adapter_set_key(a), adapter_set_key(b)) << "the scale is part of the key";
    EXPECT_NE(adapter_set_key(a), adapter_set_key(c));
    EXPECT_NE(adapter_set_key(a), adapter_set_key(ab));
    EXPECT_EQ(adapter_set_key(ab), adapter_set_key(std::vector<AdapterRef>{{1, 1.0f}, {2, 1.0f}}));
    // The whole 64-bit key feeds the block hash chain.
    const std::vector<TokenId> toks = {1, 2, 3, 4};
    EXPECT_NE(hash_block(kRootBlockHash, toks, adapter_set_key(a)), hash_block(kRootBlockHash, toks, 0));
    EXPECT_NE(hash_block(kRootBlockHash, toks, uint64_t{1} << 40), hash_block(kRootBlockHash, toks, 0));
}

TEST(LoraApplyRegistry, StepPlanMergesRunsAndFollowsLogitRows) {
    const ModelConfig c = small_config();
    auto be = create_cpu_backend(1);
    AdapterRegistry reg(*be, c);
    const int32_t a = reg.add(random_adapter(c, "a", 1)).value();
    // b only changes v_proj of layer 1.
    LoraAdapter only_v = random_adapter(c, "b", 2, 4, 0.3f, {LoraTarget::v});
    only_v.layers[0][static_cast<size_t>(LoraTarget::v)].reset();
    only_v.scale = 2.0f;
    const int32_t b = reg.add(std::move(only_v)).value();
    const int32_t ids[] = {a, b};
    ASSERT_TRUE(reg.make_resident(ids).is_ok());

    // Five sequences: rows [0,3) a, [3,4) a, [4,6) none, [6,7) a+b(0.5), [7,9) a at 2.
    const std::vector<int32_t> qs = {0, 3, 4, 6, 7, 9};
    const std::vector<int32_t> ctx = {3, 1, 2, 1, 2};
    const std::vector<int32_t> logit_rows = {2, 3, 5, 6, 8};
    StepInputs in;
    in.query_start = qs;
    in.context_lens = ctx;
    in.logit_rows = logit_rows;
    const std::vector<AdapterRef> sa = {{a, 1.0f}}, sab = {{a, 1.0f}, {b, 0.5f}}, sa2 = {{a, 2.0f}}, none;
    const std::vector<std::span<const AdapterRef>> sets = {sa, sa, none, sab, sa2};
    LoraStepPlan plan;
    ASSERT_TRUE(plan.build(in, sets, c.n_layers, [&](int32_t id) { return reg.resident(id); }).is_ok());
    ASSERT_FALSE(plan.empty());

    // q of layer 0: a over [0,4) and [6,7) (one run each: sequences 0-1 merge), a at 2 over [7,9).
    auto q0 = plan.segments(0, LoraTarget::q);
    ASSERT_EQ(q0.size(), 3u);
    EXPECT_EQ(q0[0].first_row, 0);
    EXPECT_EQ(q0[0].n_rows, 4);
    EXPECT_EQ(q0[1].first_row, 6);
    EXPECT_EQ(q0[1].n_rows, 1);
    EXPECT_FLOAT_EQ(q0[1].scale, 1.0f);
    EXPECT_EQ(q0[2].first_row, 7);
    EXPECT_EQ(q0[2].n_rows, 2);
    EXPECT_FLOAT_EQ(q0[2].scale, 2.0f);
    EXPECT_EQ(q0[0].a, &reg.resident(a)->layers[0][0].a);
    // v of layer 1 also gets b (adapter scale 2 x request scale 0.5), after a's segments.
    auto v1 = plan.segments(1, LoraTarget::v);
    ASSERT_EQ(v1.size(), 4u);
    EXPECT_EQ(v1[3].first_row, 6);
    EXPECT_EQ(v1[3].n_rows, 1);
    EXPECT_FLOAT_EQ(v1[3].scale, 1.0f);
    EXPECT_EQ(plan.segments(0, LoraTarget::v).size(), 3u) << "b has no layer-0 module";
    // Gathered rows: logit rows 0,1 (sequences 0,1: a) merge; row 2 none; 3 a+b; 4 a at 2.
    auto g = plan.gathered_segments(LoraTarget::down);
    ASSERT_EQ(g.size(), 3u);
    EXPECT_EQ(g[0].first_row, 0);
    EXPECT_EQ(g[0].n_rows, 2);
    EXPECT_EQ(g[1].first_row, 3);
    EXPECT_EQ(g[2].first_row, 4);
    EXPECT_EQ(plan.gathered_segments(LoraTarget::v).size(), 4u);

    // No adapters anywhere: an empty plan.
    const std::vector<std::span<const AdapterRef>> no_sets(5);
    ASSERT_TRUE(plan.build(in, no_sets, c.n_layers, [&](int32_t id) { return reg.resident(id); }).is_ok());
    EXPECT_TRUE(plan.empty());
    // An adapter without a backend copy is an error, not a crash.
    const std::vector<AdapterRef> ghost = {{99, 1.0f}};
    const std::vector<std::span<const AdapterRef>> ghost_sets = {ghost, none, none, none, none};
    EXPECT_FALSE(plan.build(in, ghost_sets, c.n_layers, [&](int32_t id) { return reg.resident(id); }).is_ok());
}

}  // namespace
}  // namespace pagoda
