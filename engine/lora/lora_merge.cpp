#include "lora/lora_merge.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "model/quant/quant.h"

namespace pagoda {

Status merge_lora_into_gguf(const GgufFile& base, const LoraAdapter& adapter, float scale, GgufWriter& out) {
    const float s = adapter.scale * scale;
    if (!std::isfinite(s)) return invalid_argument("merge: adapter " + adapter.name + ": the scale is not finite");
    // "blk.<l>.<target>.weight" -> the adapter's pair for it.
    auto pair_for = [&](const std::string& name) -> const LoraPair* {
        for (size_t l = 0; l < adapter.layers.size(); ++l) {
            const std::string prefix = "blk." + std::to_string(l) + ".";
            if (name.compare(0, prefix.size(), prefix) != 0) continue;
            for (int32_t t = 0; t < kLoraTargetCount; ++t) {
                const auto& pair = adapter.layers[l][static_cast<size_t>(t)];
                if (pair && name == prefix + lora_target_gguf_name(static_cast<LoraTarget>(t)) + ".weight")
                    return &*pair;
            }
        }
        return nullptr;
    };

    int32_t merged = 0;
    for (const auto& [key, value] : base.metadata()) out.set(key, value);
    if (const std::string* name = base.get_string("general.name"))
        out.set_string("general.name", *name + "+" + adapter.name);
    for (const GgufTensorInfo& t : base.tensors()) {
        std::vector<uint8_t> data(t.data, t.data + t.n_bytes);
        if (const LoraPair* p = pair_for(t.name)) {
            const std::string where = "merge: adapter " + adapter.name + ": " + t.name;
            if (t.type != GgmlType::F32 && t.type != GgmlType::F16)
                return unsupported(where + " is quantized; only F32 and F16 weights can be merged");
            if (t.dims.size() != 2 || t.dims[0] != p->in_features || t.dims[1] != p->out_features ||
                p->a.size() != static_cast<size_t>(p->rank) * p->in_features ||
                p->b.size() != static_cast<size_t>(p->out_features) * p->rank)
                return invalid_argument(where + ": the adapter's shape does not match the weight");
            const int64_t in = p->in_features;
            std::vector<float> row(static_cast<size_t>(in));
            for (int64_t o = 0; o < p->out_features; ++o) {
                // W'[o, i] = W[o, i] + s * sum_r B[o, r] * A[r, i]
                if (t.type == GgmlType::F32) {
                    std::memcpy(row.data(), data.data() + o * in * 4, static_cast<size_t>(in) * 4);
                } else {
                    const auto* h = reinterpret_cast<const uint16_t*>(data.data()) + o * in;
                    for (int64_t i = 0; i < in; ++i) row[i] = fp16_to_fp32(h[i]);
                }
                for (int32_t r = 0; r < p->rank; ++r) {
                    const float b = s * p->b[static_cast<size_t>(o * p->rank + r)];
                    const float* a = p->a.data() + static_cast<size_t>(r) * in;
                    for (int64_t i = 0; i < in; ++i) row[i] += b * a[i];
                }
                if (t.type == GgmlType::F32) {
                    std::memcpy(data.data() + o * in * 4, row.data(), static_cast<size_t>(in) * 4);
                } else {
                    auto* h = reinterpret_cast<uint16_t*>(data.data()) + o * in;
                    for (int64_t i = 0; i < in; ++i) h[i] = fp32_to_fp16(row[i]);
                }
            }
            ++merged;
        }
        PAGODA_RETURN_IF_ERROR(out.add_tensor(t.name, t.type, t.dims, std::move(data)));
    }
    int32_t wanted = 0;
    for (const auto& layer : adapter.layers) {
        for (const auto& pair : layer) wanted += pair ? 1 : 0;
    }
    if (merged != wanted)
        return invalid_argument("merge: adapter " + adapter.name + " changes " + std::to_string(wanted) +
                                " modules, the model has " + std::to_string(merged) + " of them");
    return Status::ok();
}

}  // namespace pagoda
