#include "lora_scenarios.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/quant/quant.h"

namespace pagoda::gpu_parity {
namespace {

std::vector<uint8_t> encode(GgmlType type, const std::vector<float>& values, std::vector<float>& decoded) {
    std::vector<uint8_t> bytes;
    decoded = values;
    if (type == GgmlType::F16) {
        bytes.resize(values.size() * 2);
        auto* h = reinterpret_cast<uint16_t*>(bytes.data());
        for (size_t i = 0; i < values.size(); ++i) {
            h[i] = fp32_to_fp16(values[i]);
            decoded[i] = fp16_to_fp32(h[i]);
        }
    } else {
        bytes.resize(values.size() * sizeof(float));
        std::memcpy(bytes.data(), values.data(), bytes.size());
    }
    return bytes;
}

// Rows some segment holds.
std::vector<bool> covered_rows(const LoraScenario& sc) {
    std::vector<bool> covered(static_cast<size_t>(sc.n), false);
    for (const LoraSegmentSpec& s : sc.segments) {
        for (int32_t r = s.first_row; r < s.first_row + s.n_rows; ++r) covered[static_cast<size_t>(r)] = true;
    }
    return covered;
}

}  // namespace

LoraData::LoraData(const LoraScenario& sc) {
    const uint64_t seed = std::hash<std::string>{}(sc.name) & 0xFFFFFF;
    x = random_normal(static_cast<size_t>(sc.n * sc.in_features), seed + 1);
    out0 = random_normal(static_cast<size_t>(sc.n * sc.out_features), seed + 2, 0.5f);
    for (size_t i = 0; i < sc.adapters.size(); ++i) {
        const LoraAdapterSpec& ad = sc.adapters[i];
        const auto av = random_normal(static_cast<size_t>(ad.rank * sc.in_features), seed + 10 + 2 * i,
                                      1.0f / std::sqrt(static_cast<float>(sc.in_features)));
        const auto bv = random_normal(static_cast<size_t>(sc.out_features * ad.rank), seed + 11 + 2 * i,
                                      1.0f / std::sqrt(static_cast<float>(ad.rank)));
        a_f32.emplace_back();
        b_f32.emplace_back();
        a.push_back(encode(ad.a_type, av, a_f32.back()));
        b.push_back(encode(ad.b_type, bv, b_f32.back()));
    }
}

std::vector<LoraScenario> lora_scenarios() {
    const GgmlType f32 = GgmlType::F32, f16 = GgmlType::F16;
    std::vector<LoraScenario> v;
    v.push_back({"decode1_r16_f16", 1, 4096, 4096, {{16, f16, f16}}, {{0, 1, 0, 0.5f}}, true});
    // Three requests with three adapters, row 5 without one.
    v.push_back({"decode8_mixed",
                 8,
                 2048,
                 5600,
                 {{8, f32, f32}, {64, f16, f16}, {128, f16, f32}},
                 {{0, 2, 0, 2.0f}, {2, 3, 1, 0.5f}, {6, 2, 2, 1.0f}},
                 false});
    // A stack: three segments over shared rows, one adapter twice.
    v.push_back({"stack_overlap_n37",
                 37,
                 1024,
                 1000,
                 {{16, f16, f16}, {32, f32, f32}},
                 {{0, 37, 0, 1.0f}, {5, 20, 1, 0.25f}, {10, 3, 0, -2.0f}},
                 true});
    v.push_back({"rank200_n5", 5, 512, 300, {{200, f16, f32}}, {{0, 5, 0, 0.125f}}, false});
    v.push_back({"rank3_odd_in333", 3, 333, 77, {{3, f32, f16}}, {{1, 2, 0, 1.5f}}, false});
    v.push_back({"prefill_n300", 300, 2048, 2048, {{64, f16, f16}, {8, f32, f16}}, {{0, 150, 0, 1.0f}, {150, 150, 1, 4.0f}},
                 false});
    v.push_back({"empty_segment", 4, 128, 256, {{8, f16, f16}}, {{1, 0, 0, 1.0f}, {2, 2, 0, 1.0f}}, false});
    // More segments than one launch holds (kLoraMaxSegments = 32), plus one over all rows.
    LoraScenario many{"many_segments_n70", 70, 256, 384, {{4, f32, f32}, {8, f16, f16}, {16, f16, f32}}, {}, true};
    for (int32_t row = 0, i = 0; row < 70; ++i) {
        const int32_t len = 1 + i % 3;
        if (i % 7 != 3) many.segments.push_back({row, std::min(len, 70 - row), i % 3, 0.5f + 0.1f * (i % 4)});
        row += len;
    }
    many.segments.push_back({0, 70, 1, 0.75f});
    v.push_back(std::move(many));
    return v;
}

std::vector<LoraScenario> lora_emulation_scenarios() {
    const GgmlType f32 = GgmlType::F32, f16 = GgmlType::F16;
    std::vector<LoraScenario> v;
    // Two column tiles (the second partial), two K passes of rank 40, overlapping segments.
    v.push_back({"overlap_n11",
                 11,
                 96,
                 200,
                 {{8, f16, f16}, {40, f32, f16}},
                 {{0, 11, 0, 1.0f}, {3, 5, 1, 0.5f}, {4, 1, 0, -1.0f}},
                 true});
    v.push_back({"rank33_gap_n3", 3, 45, 130, {{33, f32, f32}}, {{1, 2, 0, 2.0f}}, false});
    // Two launches of segments, the last one over every row.
    LoraScenario many{"many_segments_n35", 35, 32, 40, {{4, f16, f16}}, {}, false};
    for (int32_t r = 0; r < 35; ++r) many.segments.push_back({r, 1, 0, 0.25f * static_cast<float>(r % 5)});
    many.segments.push_back({0, 35, 0, 1.0f});
    v.push_back(std::move(many));
    return v;
}

std::vector<float> lora_reference(const LoraScenario& sc, const LoraData& d) {
    std::vector<double> acc(d.out0.begin(), d.out0.end());
    const int64_t in = sc.in_features, out = sc.out_features;
    for (const LoraSegmentSpec& s : sc.segments) {
        const int32_t rank = sc.adapters[static_cast<size_t>(s.adapter)].rank;
        const std::vector<float>& a = d.a_f32[static_cast<size_t>(s.adapter)];
        const std::vector<float>& b = d.b_f32[static_cast<size_t>(s.adapter)];
        std::vector<double> t(static_cast<size_t>(rank));
        for (int32_t r = s.first_row; r < s.first_row + s.n_rows; ++r) {
            const float* xr = d.x.data() + r * in;
            for (int32_t k = 0; k < rank; ++k) {
                double sum = 0.0;
                for (int64_t i = 0; i < in; ++i) sum += static_cast<double>(xr[i]) * a[static_cast<size_t>(k * in + i)];
                t[static_cast<size_t>(k)] = sum;
            }
            for (int64_t o = 0; o < out; ++o) {
                double sum = 0.0;
                for (int32_t k = 0; k < rank; ++k) sum += t[static_cast<size_t>(k)] * b[static_cast<size_t>(o * rank + k)];
                acc[static_cast<size_t>(r * out + o)] += static_cast<double>(s.scale) * sum;
            }
        }
    }
    return std::vector<float>(acc.begin(), acc.end());
}

CaseResult compare_lora(const LoraScenario& sc, const LoraData& d, std::span<const float> got,
                        std::span<const float> ref, double threshold) {
    if (got.size() != d.out0.size() || ref.size() != d.out0.size()) {
        return CaseResult::fail("size mismatch: got " + std::to_string(got.size()) + ", want " +
                                std::to_string(d.out0.size()));
    }
    const std::vector<bool> covered = covered_rows(sc);
    const auto out = static_cast<size_t>(sc.out_features);
    std::vector<float> got_delta, ref_delta;
    for (size_t r = 0; r < covered.size(); ++r) {
        for (size_t o = 0; o < out; ++o) {
            const size_t i = r * out + o;
            if (!covered[r]) {
                if (std::memcmp(&got[i], &d.out0[i], sizeof(float)) != 0) {
                    return CaseResult::fail("row " + std::to_string(r) + " holds no segment but changed at column " +
                                            std::to_string(o));
                }
                continue;
            }
            got_delta.push_back(got[i] - d.out0[i]);
            ref_delta.push_back(ref[i] - d.out0[i]);
        }
    }
    return compare(got_delta, ref_delta, threshold);
}

Status run_lora_on_backend(Backend& b, const LoraScenario& sc, const LoraData& d, std::vector<float>& out) {
    std::vector<Tensor> as, bs;
    for (size_t i = 0; i < sc.adapters.size(); ++i) {
        const LoraAdapterSpec& ad = sc.adapters[i];
        auto ta = b.load_weight(ad.a_type, ad.rank, sc.in_features, d.a[i].data());
        if (!ta.is_ok()) return ta.status();
        auto tb = b.load_weight(ad.b_type, sc.out_features, ad.rank, d.b[i].data());
        if (!tb.is_ok()) return tb.status();
        as.push_back(*ta);
        bs.push_back(*tb);
    }
    auto x = b.alloc_activations(sc.n, sc.in_features);
    if (!x.is_ok()) return x.status();
    PAGODA_RETURN_IF_ERROR(b.write(*x, d.x.data()));
    auto o = b.alloc_activations(sc.n, sc.out_features);
    if (!o.is_ok()) return o.status();
    PAGODA_RETURN_IF_ERROR(b.write(*o, d.out0.data()));
    std::vector<LoraSegment> segs;
    for (const LoraSegmentSpec& s : sc.segments) {
        const auto i = static_cast<size_t>(s.adapter);
        segs.push_back({s.first_row, s.n_rows, &as[i], &bs[i], s.scale});
    }
    b.lora_add(*x, segs, *o);
    PAGODA_RETURN_IF_ERROR(b.end_step());
    out.resize(d.out0.size());
    return b.read(*o, out.data());
}

}  // namespace pagoda::gpu_parity
