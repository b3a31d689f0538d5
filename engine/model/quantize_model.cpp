#include "model/quantize_model.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "model/quant/quant.h"

namespace pagoda {
namespace {

constexpr std::array kTargets = {
    QuantTargetInfo{QuantTarget::F16, "f16", GgmlType::F16, 1},
    QuantTargetInfo{QuantTarget::BF16, "bf16", GgmlType::BF16, 32},
    QuantTargetInfo{QuantTarget::Q8_0, "q8_0", GgmlType::Q8_0, 7},
    QuantTargetInfo{QuantTarget::Q4_0, "q4_0", GgmlType::Q4_0, 2},
    QuantTargetInfo{QuantTarget::Q4_1, "q4_1", GgmlType::Q4_1, 3},
    QuantTargetInfo{QuantTarget::Q5_0, "q5_0", GgmlType::Q5_0, 8},
    QuantTargetInfo{QuantTarget::Q5_1, "q5_1", GgmlType::Q5_1, 9},
    QuantTargetInfo{QuantTarget::Q4_K_S, "q4_k_s", GgmlType::Q4_K, 14},
    QuantTargetInfo{QuantTarget::Q4_K_M, "q4_k_m", GgmlType::Q4_K, 15},
    QuantTargetInfo{QuantTarget::Q5_K_S, "q5_k_s", GgmlType::Q5_K, 16},
    QuantTargetInfo{QuantTarget::Q6_K, "q6_k", GgmlType::Q6_K, 18},
};

// Accepted spellings besides the canonical names.
constexpr std::array<std::pair<const char*, QuantTarget>, 2> kAliases = {{
    {"q4_k", QuantTarget::Q4_K_S},
    {"q5_k", QuantTarget::Q5_K_S},
}};

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_quantized(GgmlType t) { return ggml_type_info(t).block_size > 1; }

// llama.cpp's tensor categories (tensor_get_category); attn_qkv and attn_kv_b count as attn_v.
enum class Kind { TokenEmbd, Output, AttnV, AttnK, AttnQ, AttnOutput, FfnUp, FfnGate, FfnDown, Other };

Kind tensor_kind(std::string_view name) {
    if (name == "output.weight") return Kind::Output;
    if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Kind::TokenEmbd;
    if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") || contains(name, "attn_v.weight")) {
        return Kind::AttnV;
    }
    if (contains(name, "attn_k.weight")) return Kind::AttnK;
    if (contains(name, "attn_q.weight")) return Kind::AttnQ;
    if (contains(name, "attn_output.weight")) return Kind::AttnOutput;
    if (contains(name, "ffn_up")) return Kind::FfnUp;
    if (contains(name, "ffn_gate")) return Kind::FfnGate;
    if (contains(name, "ffn_down")) return Kind::FfnDown;
    return Kind::Other;
}

// llama.cpp gives these layers more bits in its _M mixes: the first and last eighth, and
// every third layer in between.
bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

// "blk.N.": the block a tensor belongs to, or -1.
int block_index(std::string_view name) {
    if (name.substr(0, 4) != "blk.") return -1;
    int v = 0;
    size_t i = 4;
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
        v = v * 10 + (name[i] - '0');
        if (v > 1000000) return -1;
    }
    return i < name.size() && name[i] == '.' ? v : -1;
}

// The part of llama_tensor_get_type_impl that applies to our targets (no IQ / Q2-Q3 mixes).
GgmlType rules_type(QuantTarget target, GgmlType new_type, std::string_view name, std::span<const int64_t> dims,
                    int layer, const QuantModelShape& shape) {
    const Kind kind = tensor_kind(name);
    const bool falcon = shape.arch == "falcon";
    const bool k_s = target == QuantTarget::Q4_K_S;
    const bool k_m = target == QuantTarget::Q4_K_M;

    if (kind == Kind::Output || (!shape.has_output && kind == Kind::TokenEmbd)) {
        const int64_t qk = ggml_type_info(new_type).block_size;
        if (falcon || dims[0] % qk != 0) return GgmlType::Q8_0;
        return new_type != GgmlType::Q8_0 ? GgmlType::Q6_K : new_type;
    }
    switch (kind) {
        case Kind::AttnV: {
            if (k_m && use_more_bits(layer, shape.n_attention_wv)) {
                new_type = GgmlType::Q6_K;
            } else if (k_s && layer < 4) {
                new_type = GgmlType::Q5_K;
            }
            // 70B Llama: attn_v is 8x smaller than attn_q (GQA), so extra bits are nearly free.
            const bool llama_70b = shape.arch == "llama" && shape.n_layers == 80 && shape.n_head != shape.n_head_kv;
            if (llama_70b && new_type == GgmlType::Q4_K) new_type = GgmlType::Q5_K;
            if (shape.n_expert == 8) new_type = GgmlType::Q8_0;
            return new_type;
        }
        case Kind::AttnK:
            return shape.n_expert == 8 ? GgmlType::Q8_0 : new_type;
        case Kind::FfnDown: {
            int i_layer = layer;
            if (shape.n_expert > 1) i_layer = std::max(0, block_index(name));  // experts are not in order
            const int n_layer = shape.n_layers;
            if (k_m) {
                if (falcon) {
                    return i_layer < n_layer / 16            ? GgmlType::Q6_K
                           : use_more_bits(i_layer, n_layer) ? GgmlType::Q5_K
                                                             : GgmlType::Q4_K;
                }
                return use_more_bits(i_layer, n_layer) ? GgmlType::Q6_K : new_type;
            }
            if (k_s && !falcon && i_layer < n_layer / 8) return GgmlType::Q5_K;
            return new_type;
        }
        case Kind::AttnOutput:
            if (!falcon && shape.n_expert == 8 && (k_s || k_m)) return GgmlType::Q5_K;
            return new_type;
        default:
            return new_type;
    }
}

// Tensors whose order decides `layer` are visited as llama.cpp does: by block number,
// then by name (its weight_name_comparer).
std::vector<size_t> llama_tensor_order(const std::vector<GgufTensorInfo>& tensors) {
    std::vector<size_t> order(tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int la = block_index(tensors[a].name), lb = block_index(tensors[b].name);
        if (la != lb) return la < lb;
        return tensors[a].name < tensors[b].name;
    });
    return order;
}

QuantModelShape read_shape(const GgufFile& file) {
    QuantModelShape shape;
    if (const std::string* arch = file.get_string("general.architecture")) shape.arch = *arch;
    auto get = [&](const std::string& key) {
        const auto v = file.get_int(shape.arch + "." + key);
        return v && *v >= 0 && *v < (int64_t{1} << 30) ? static_cast<int>(*v) : 0;
    };
    shape.n_layers = get("block_count");
    shape.n_expert = get("expert_count");
    shape.n_head = get("attention.head_count");
    // head_count_kv may be absent (= head_count) or, in some models, a per-layer array.
    shape.n_head_kv =
        file.find(shape.arch + ".attention.head_count_kv") ? get("attention.head_count_kv") : shape.n_head;
    shape.has_output = file.find_tensor("output.weight") != nullptr;
    for (const auto& t : file.tensors()) {
        if (tensor_kind(t.name) == Kind::AttnV) ++shape.n_attention_wv;
    }
    if (shape.n_layers == 0) {  // no block_count: count the blocks the tensors name
        int max_block = -1;
        for (const auto& t : file.tensors()) max_block = std::max(max_block, block_index(t.name));
        shape.n_layers = max_block + 1;
    }
    return shape;
}

// Re-encodes rows [first, last) of one tensor.
Status convert_rows(const GgufTensorInfo& t, GgmlType to, int64_t first, int64_t last, uint8_t* out) {
    const int64_t n = t.dims[0];
    const uint64_t in_row = *ggml_row_bytes(t.type, n);
    const uint64_t out_row = *ggml_row_bytes(to, n);
    std::vector<float> row(static_cast<size_t>(n));
    for (int64_t r = first; r < last; ++r) {
        dequantize_row(t.type, t.data + static_cast<uint64_t>(r) * in_row, row.data(), n);
        PAGODA_RETURN_IF_ERROR(quantize_row(to, row.data(), out + static_cast<uint64_t>(r) * out_row, n));
    }
    return Status::ok();
}

Status convert_tensor(const GgufTensorInfo& t, GgmlType to, int n_threads, std::vector<uint8_t>& out) {
    const int64_t n_rows = t.dims[0] > 0 ? t.n_elements() / t.dims[0] : 0;
    const auto out_row = ggml_row_bytes(to, t.dims[0]);
    if (!out_row) {
        return internal_error("tensor '" + t.name + "': rows of " + std::to_string(t.dims[0]) + " do not fit " +
                              ggml_type_name(to));
    }
    out.assign(*out_row * static_cast<uint64_t>(n_rows), 0);
    // Enough rows per thread to be worth a thread: ~64k values.
    const int64_t min_rows = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, t.dims[0]));
    const int64_t threads = std::clamp<int64_t>(n_rows / min_rows, 1, n_threads);
    if (threads == 1) return convert_rows(t, to, 0, n_rows, out.data());
    std::vector<Status> status(static_cast<size_t>(threads));
    std::vector<std::thread> workers;
    const int64_t per = (n_rows + threads - 1) / threads;
    for (int64_t k = 0; k < threads; ++k) {
        const int64_t first = k * per, last = std::min(n_rows, first + per);
        workers.emplace_back([&, k, first, last] { status[k] = convert_rows(t, to, first, last, out.data()); });
    }
    for (auto& w : workers) w.join();
    for (auto& s : status) PAGODA_RETURN_IF_ERROR(s);
    return Status::ok();
}

}  // namespace

const QuantTargetInfo& quant_target_info(QuantTarget target) {
    for (const auto& t : kTargets) {
        if (t.target == target) return t;
    }
    return kTargets[0];  // every enumerator is in the table
}

std::string quant_target_names() {
    std::string s;
    for (const auto& t : kTargets) {
        if (!s.empty()) s += ", ";
        s += t.name;
        for (const auto& [alias, target] : kAliases) {
            if (target == t.target) s += std::string(" (or ") + alias + ")";
        }
    }
    return s;
}

Result<QuantTarget> parse_quant_target(std::string_view name) {
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& t : kTargets) {
        if (lower == t.name) return t.target;
    }
    for (const auto& [alias, target] : kAliases) {
        if (lower == alias) return target;
    }
    return invalid_argument("unknown quantization type '" + std::string(name) +
                            "'; valid types: " + quant_target_names());
}

bool tensor_is_quantizable(std::string_view name, size_t n_dims) {
    if (n_dims < 2 || !ends_with(name, "weight")) return false;
    // Small or precision-critical tensors llama.cpp always leaves as they are.
    static constexpr const char* kKeep[] = {
        "_norm.weight",
        "ffn_gate_inp.weight",
        "ffn_gate_tid2eid.weight",
        "altup",
        "laurel",
        "per_layer_model_proj",
        "ssm_conv1d",
        "shortconv.conv.weight",
        "indexer.k_proj.weight",
        "indexer.q_proj.weight",
        "time_mix_first.weight",
        "time_mix_w0.weight",
        "time_mix_w1.weight",
        "time_mix_w2.weight",
        "time_mix_v0.weight",
        "time_mix_v1.weight",
        "time_mix_v2.weight",
        "time_mix_a0.weight",
        "time_mix_a1.weight",
        "time_mix_a2.weight",
        "time_mix_g1.weight",
        "time_mix_g2.weight",
        "time_mix_decay_w1.weight",
        "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight",
        "attn_rel_b.weight",
        ".position_embd",
        "sam.pos_embd",
        "sam.neck.",
        "sam.net_",
        ".rel_pos",
        ".patch_embd",
        ".patch_merger",
        "a.rvq.codebook",
        "mm.a.code_embd",
    };
    for (const char* k : kKeep) {
        if (contains(name, k)) return false;
    }
    return name != "position_embd.weight" && name != "token_types.weight";
}

TensorTypeChoice choose_tensor_type(QuantTarget target, std::string_view name, std::span<const int64_t> dims,
                                    GgmlType current, int layer, const QuantModelShape& shape) {
    if (dims.empty() || !tensor_is_quantizable(name, dims.size())) return {current, false};
    const GgmlType default_type = quant_target_info(target).default_type;
    if (!is_quantized(default_type)) return {default_type, false};  // F16 / BF16: no mixing rules

    GgmlType type = rules_type(target, default_type, name, dims, layer, shape);
    const int64_t ncols = dims[0];
    if (ncols % ggml_type_info(type).block_size == 0) return {type, false};
    // llama.cpp's fallbacks for a row length the type cannot hold; for the 32-value legacy
    // types (where llama.cpp gives up) and when the fallback cannot hold it either: F16.
    switch (type) {
        case GgmlType::Q4_K:
            type = GgmlType::Q5_0;
            break;
        case GgmlType::Q5_K:
            type = GgmlType::Q5_1;
            break;
        case GgmlType::Q6_K:
            type = GgmlType::Q8_0;
            break;
        default:
            type = GgmlType::F16;
            break;
    }
    if (ncols % ggml_type_info(type).block_size != 0) type = GgmlType::F16;
    return {type, true};
}

namespace {

Result<QuantizeStats> quantize_model_impl(const std::string& in_path, const std::string& out_path,
                                          const QuantizeOptions& options) {
    std::error_code ec;
    if (std::filesystem::exists(out_path, ec) && std::filesystem::equivalent(in_path, out_path, ec)) {
        return invalid_argument("output " + out_path + " is the input file; write to a new path");
    }
    auto opened = GgufFile::open(in_path);
    if (!opened.is_ok()) return opened.status();
    const GgufFile& in = *opened.value();
    const QuantTargetInfo& target = quant_target_info(options.target);
    const int n_threads =
        options.n_threads > 0 ? options.n_threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

    GgufWriter writer(in.alignment());
    for (const auto& [key, value] : in.metadata()) {
        // A quantized model is written as one file.
        if (key == "split.no" || key == "split.count" || key == "split.tensors.count") continue;
        writer.set(key, value);
    }
    writer.set_u32("general.quantization_version", 2);
    writer.set_u32("general.file_type", target.llama_ftype);

    const QuantModelShape shape = read_shape(in);
    const auto& tensors = in.tensors();

    // Per-kind counters in llama.cpp's visiting order give each tensor its `layer`.
    std::vector<int> layer(tensors.size(), 0);
    {
        std::map<Kind, int> seen;
        for (size_t i : llama_tensor_order(tensors)) layer[i] = seen[tensor_kind(tensors[i].name)]++;
    }

    QuantizeStats stats;
    stats.n_tensors = tensors.size();
    for (size_t i = 0; i < tensors.size(); ++i) {
        const GgufTensorInfo& t = tensors[i];
        const TensorTypeChoice choice = choose_tensor_type(options.target, t.name, t.dims, t.type, layer[i], shape);
        TensorQuantEvent ev;
        ev.index = i;
        ev.count = tensors.size();
        ev.name = t.name;
        ev.dims = t.dims;
        ev.from = t.type;
        ev.to = choice.type;
        ev.bytes_in = t.n_bytes;
        ev.fell_back = choice.fell_back;

        std::vector<uint8_t> data;
        if (choice.type == t.type) {
            data.assign(t.data, t.data + t.n_bytes);
        } else {
            if (!ggml_type_info(t.type).runnable) {
                return unsupported(in_path + ": tensor '" + t.name + "' is " + ggml_type_name(t.type) +
                                   ", which Pagoda cannot decode to re-encode as " + ggml_type_name(choice.type));
            }
            ev.requantized = is_quantized(t.type);
            PAGODA_RETURN_IF_ERROR(convert_tensor(t, choice.type, n_threads, data));
            ++stats.n_converted;
            if (ev.requantized) ++stats.n_requantized;
        }
        if (choice.fell_back) ++stats.n_fallback;
        ev.bytes_out = data.size();
        stats.bytes_in += ev.bytes_in;
        stats.bytes_out += ev.bytes_out;
        PAGODA_RETURN_IF_ERROR(writer.add_tensor(t.name, choice.type, t.dims, std::move(data)));
        if (options.on_tensor) options.on_tensor(ev);
    }
    PAGODA_RETURN_IF_ERROR(writer.write(out_path));
    return stats;
}

}  // namespace

Result<QuantizeStats> quantize_model(const std::string& in_path, const std::string& out_path,
                                     const QuantizeOptions& options) {
    // Allocation and thread creation are the only things here that can throw.
    try {
        return quantize_model_impl(in_path, out_path, options);
    } catch (const std::bad_alloc&) {
        return out_of_memory("quantizing " + in_path + ": out of memory");
    } catch (const std::exception& e) {
        return internal_error("quantizing " + in_path + ": " + e.what());
    }
}

}  // namespace pagoda
