// Random in-memory LoRA adapters for a ModelConfig, for the tests of applying adapters
// (test_lora_apply_*.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lora/load_lora_adapter.h"
#include "lora/lora_adapter.h"
#include "model/model_config.h"

namespace pagoda::lora_test {

// Every target of every layer (or those in `targets`), A and B uniform in [-amp, amp].
inline LoraAdapter random_adapter(const ModelConfig& c, const std::string& name, uint64_t seed, int32_t rank = 4,
                                  float amp = 0.3f, std::vector<LoraTarget> targets = {}) {
    if (targets.empty()) {
        for (int32_t t = 0; t < kLoraTargetCount; ++t) targets.push_back(static_cast<LoraTarget>(t));
    }
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(-amp, amp);
    LoraAdapter a;
    a.name = name;
    a.rank = rank;
    a.alpha = static_cast<float>(rank);
    a.scale = 1.0f;
    a.layers.resize(static_cast<size_t>(c.n_layers));
    for (auto& layer : a.layers) {
        for (LoraTarget t : targets) {
            LoraPair p;
            p.rank = rank;
            const auto [in, out] = lora_target_in_out(t, c);
            p.in_features = static_cast<int32_t>(in);
            p.out_features = static_cast<int32_t>(out);
            p.a.resize(static_cast<size_t>(rank) * p.in_features);
            p.b.resize(static_cast<size_t>(p.out_features) * rank);
            for (float& v : p.a) v = dist(rng);
            for (float& v : p.b) v = dist(rng);
            layer[static_cast<size_t>(t)] = std::move(p);
        }
    }
    return a;
}

}  // namespace pagoda::lora_test
