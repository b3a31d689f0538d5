#include "lora/load_lora_adapter.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "lora/gguf_adapter_loader.h"
#include "lora/lora_loader_common.h"
#include "lora/peft_adapter_loader.h"

namespace pagoda {

namespace {

namespace fs = std::filesystem;

std::string default_name(const std::string& path, bool peft) {
    fs::path p = fs::path(path).lexically_normal();
    if (p.has_filename() == false) p = p.parent_path();
    std::error_code ec;
    // A PEFT adapter is named by its folder, also when given its adapter_model.safetensors.
    if (peft && !fs::is_directory(p, ec) && p.has_parent_path()) return p.parent_path().filename().string();
    return fs::is_directory(p, ec) ? p.filename().string() : p.stem().string();
}

bool starts_with_gguf_magic(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

Status with_prefix(const Status& s, const std::string& prefix) { return Status::error(s.code(), prefix + s.message()); }

// llama.cpp's converter stores Llama's Q and K rows per head as [pairs of (i, i + hd/2)]
// interleaved (so its "normal" rope sees adjacent pairs); apply the same row order to B.
void permute_rows_like_llama_converter(std::vector<float>& b, int32_t rank, int32_t n_head, int32_t head_dim) {
    const std::vector<float> src = b;
    const int32_t half = head_dim / 2;
    for (int32_t h = 0; h < n_head; ++h) {
        for (int32_t i = 0; i < half; ++i) {
            for (int32_t j = 0; j < 2; ++j) {
                const int64_t dst_row = int64_t{h} * head_dim + 2 * i + j;
                const int64_t src_row = int64_t{h} * head_dim + int64_t{j} * half + i;
                std::memcpy(&b[dst_row * rank], &src[src_row * rank], sizeof(float) * rank);
            }
        }
    }
}

}  // namespace

std::pair<int64_t, int64_t> lora_target_in_out(LoraTarget t, const ModelConfig& c) {
    switch (t) {
        case LoraTarget::q: return {c.n_embd, c.q_dim()};
        case LoraTarget::k:
        case LoraTarget::v: return {c.n_embd, c.kv_dim()};
        case LoraTarget::o: return {c.q_dim(), c.n_embd};
        case LoraTarget::gate:
        case LoraTarget::up: return {c.n_embd, c.n_ff};
        case LoraTarget::down: return {c.n_ff, c.n_embd};
    }
    return {0, 0};
}

Status validate_lora_adapter(LoraAdapter& adapter, const ModelConfig& base) {
    const std::string prefix = "adapter " + adapter.name + ": ";
    auto bad = [&](const std::string& m) { return invalid_argument(prefix + m); };
    if (!std::isfinite(adapter.scale) || !std::isfinite(adapter.alpha)) {
        return bad("scale " + std::to_string(adapter.scale) + " is not finite");
    }
    if (adapter.rank <= 0 || adapter.rank > kMaxLoraRank) {
        return bad("rank " + std::to_string(adapter.rank) + " is outside 1.." + std::to_string(kMaxLoraRank));
    }
    int n_modules = 0;
    for (size_t l = 0; l < adapter.layers.size(); ++l) {
        for (int t = 0; t < kLoraTargetCount; ++t) {
            const auto& pair = adapter.layers[l][t];
            if (!pair) continue;
            const auto target = static_cast<LoraTarget>(t);
            const std::string label = "layer " + std::to_string(l) + " " + lora_target_peft_name(target);
            if (l >= static_cast<size_t>(base.n_layers)) {
                return bad(label + ": the base model has only " + std::to_string(base.n_layers) + " layers (0.." +
                           std::to_string(base.n_layers - 1) + ")");
            }
            const auto [in, out] = lora_target_in_out(target, base);
            const int32_t r = pair->rank;
            if (r <= 0 || r > kMaxLoraRank) {
                return bad(label + " has rank " + std::to_string(r) + ", outside 1.." + std::to_string(kMaxLoraRank));
            }
            if (r > adapter.rank) {
                return bad(label + " has rank " + std::to_string(r) + ", above the adapter's rank " +
                           std::to_string(adapter.rank));
            }
            if (pair->in_features != in) {
                return bad(label + " lora_A is " + lora_loader::shape_string({r, pair->in_features}) +
                           " ([rank, in]); the base model needs " + lora_loader::shape_string({r, in}));
            }
            if (pair->out_features != out) {
                return bad(label + " lora_B is " + lora_loader::shape_string({pair->out_features, r}) +
                           " ([out, rank]); the base model needs " + lora_loader::shape_string({out, r}));
            }
            if (pair->a.size() != static_cast<size_t>(r) * in || pair->b.size() != static_cast<size_t>(out) * r) {
                return bad(label + " holds " + std::to_string(pair->a.size()) + " / " + std::to_string(pair->b.size()) +
                           " values for A / B, not rank x in / out x rank");
            }
            for (const auto* v : {&pair->a, &pair->b}) {
                for (float x : *v) {
                    if (!std::isfinite(x)) {
                        return bad(label + (v == &pair->a ? " lora_A" : " lora_B") + " holds NaN or infinity");
                    }
                }
            }
            ++n_modules;
        }
    }
    // Only empty layers can be left past the base model's here (set ones were refused above).
    if (adapter.layers.size() > static_cast<size_t>(base.n_layers)) {
        return bad("has " + std::to_string(adapter.layers.size()) + " layers; the base model has " +
                   std::to_string(base.n_layers));
    }
    if (n_modules == 0) return bad("adapts no module");
    adapter.layers.resize(static_cast<size_t>(base.n_layers));
    return Status::ok();
}

Result<LoraAdapter> load_lora_adapter(const std::string& path, const ModelConfig& base, const std::string& name) {
    std::error_code ec;
    const bool is_dir = fs::is_directory(path, ec);
    const std::string ext = fs::path(path).extension().string();
    bool peft = false;
    if (is_dir || ext == ".safetensors") {
        peft = true;
    } else if (ext != ".gguf" && !starts_with_gguf_magic(path)) {
        if (!fs::exists(path, ec)) return not_found("adapter " + path + ": not found");
        return unsupported("adapter " + path +
                           ": not a PEFT folder, a .safetensors file or a GGUF file; cannot tell its format");
    }
    const std::string display = name.empty() ? default_name(path, peft) : name;
    const std::string prefix = "adapter " + display + ": ";

    Result<LoraAdapter> loaded = peft ? load_peft_adapter(path) : load_gguf_lora_adapter(path);
    if (!loaded) return with_prefix(loaded.status(), prefix);
    LoraAdapter adapter = std::move(loaded).value();
    adapter.name = display;
    adapter.source_path = path;
    if (peft) {
        adapter.architecture = base.arch_name;
    } else if (adapter.architecture != base.arch_name) {
        return invalid_argument(prefix + "made for '" + adapter.architecture + "' models, but the base model is '" +
                                base.arch_name + "'");
    }
    PAGODA_RETURN_IF_ERROR(validate_lora_adapter(adapter, base));
    if (peft && base.arch == Architecture::llama && base.head_dim % 2 == 0) {
        for (auto& layer : adapter.layers) {
            if (auto& q = layer[static_cast<int>(LoraTarget::q)]) {
                permute_rows_like_llama_converter(q->b, q->rank, base.n_heads, base.head_dim);
            }
            if (auto& k = layer[static_cast<int>(LoraTarget::k)]) {
                permute_rows_like_llama_converter(k->b, k->rank, base.n_kv_heads, base.head_dim);
            }
        }
    }
    return adapter;
}

}  // namespace pagoda
