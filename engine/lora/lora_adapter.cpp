#include "lora/lora_adapter.h"

namespace pagoda {

const char* lora_target_peft_name(LoraTarget target) {
    switch (target) {
        case LoraTarget::q: return "q_proj";
        case LoraTarget::k: return "k_proj";
        case LoraTarget::v: return "v_proj";
        case LoraTarget::o: return "o_proj";
        case LoraTarget::gate: return "gate_proj";
        case LoraTarget::up: return "up_proj";
        case LoraTarget::down: return "down_proj";
    }
    return "?";
}

const char* lora_target_gguf_name(LoraTarget target) {
    switch (target) {
        case LoraTarget::q: return "attn_q";
        case LoraTarget::k: return "attn_k";
        case LoraTarget::v: return "attn_v";
        case LoraTarget::o: return "attn_output";
        case LoraTarget::gate: return "ffn_gate";
        case LoraTarget::up: return "ffn_up";
        case LoraTarget::down: return "ffn_down";
    }
    return "?";
}

uint64_t LoraAdapter::bytes() const {
    uint64_t total = 0;
    for (const auto& layer : layers) {
        for (const auto& pair : layer) {
            if (pair) total += (uint64_t{pair->a.size()} + pair->b.size()) * sizeof(float);
        }
    }
    return total;
}

}  // namespace pagoda
