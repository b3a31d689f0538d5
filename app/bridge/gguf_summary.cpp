#include "bridge/gguf_summary.h"

#include <cctype>
#include <filesystem>
#include <map>

#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/model_config.h"
#include "model/model_weights.h"

namespace pagoda::bridge {

std::string fileTypeName(int64_t fileType) {
    // llama.cpp's llama_ftype numbering (general.file_type); gaps are retired types.
    static const std::map<int64_t, const char*> names = {
        {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},
        {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
        {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
        {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"}, {25, "IQ4_NL"}, {26, "IQ3_S"},
        {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},  {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
        {36, "TQ1_0"},  {37, "TQ2_0"},
    };
    auto it = names.find(fileType);
    return it == names.end() ? std::string() : std::string(it->second);
}

GgufSummary summarizeGguf(const GgufFile& gguf) {
    GgufSummary s;
    store::NewModel& m = s.model;
    m.path = gguf.path();
    m.file_size = static_cast<int64_t>(gguf.file_size());

    const std::string* name = gguf.get_string("general.name");
    std::string base = std::filesystem::path(gguf.path()).stem().string();
    // Converters often write a generic general.name ("llama"); the file name then says more.
    m.display_name = base.empty() ? (name ? *name : std::string("model")) : base;
    if (const std::string* arch = gguf.get_string("general.architecture")) m.architecture = *arch;

    // Parameters, and the type that holds most of the weight bytes (for files without
    // general.file_type).
    int64_t params = 0;
    std::map<std::string, uint64_t> bytesByType;
    for (const GgufTensorInfo& t : gguf.tensors()) {
        params += t.n_elements();
        s.tensorBytes += static_cast<int64_t>(t.n_bytes);
        if (t.dims.size() >= 2) bytesByType[ggml_type_name(t.type)] += t.n_bytes;
    }
    m.parameter_count = params;
    if (auto ft = gguf.get_int("general.file_type")) m.quantization = fileTypeName(*ft);
    if (m.quantization.empty() && !bytesByType.empty()) {
        auto best = bytesByType.begin();
        for (auto it = bytesByType.begin(); it != bytesByType.end(); ++it) {
            if (it->second > best->second) best = it;
        }
        m.quantization = best->first;
        for (char& c : m.quantization) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    m.has_chat_template = gguf.find("tokenizer.chat_template") != nullptr;

    auto config = parse_model_config(gguf);
    if (config) {
        const ModelConfig& c = config.value();
        m.context_length = c.n_ctx_train;
        // K and V, F16, every layer: [n_layers, 2, kv_dim]
        s.kvBytesPerToken = int64_t{c.n_layers} * 2 * c.kv_dim() * 2;
        Status weights = ModelWeights::validate(gguf, c);
        s.runnable = weights.is_ok();
        if (!weights.is_ok()) s.problem = weights.message();
    } else {
        s.problem = config.status().message();
        if (!m.architecture.empty()) {
            if (auto ctx = gguf.get_int(m.architecture + ".context_length")) m.context_length = *ctx;
        }
    }
    if (gguf.tensors().empty()) {
        s.runnable = false;
        s.problem = "vocabulary only: the file has no weights";
    }
    return s;
}

Result<GgufSummary> summarizeGguf(const std::string& path) {
    auto gguf = GgufFile::open(path);
    if (!gguf) return gguf.status();
    return summarizeGguf(*gguf.value());
}

int64_t desktopKvCacheBytes(int64_t kvBytesPerToken, int64_t contextTokens) {
    return kvBytesPerToken * contextTokens * 5 / 4;
}

int64_t estimateMemoryBytes(const GgufSummary& summary, int64_t contextTokens) {
    return summary.tensorBytes + desktopKvCacheBytes(summary.kvBytesPerToken, contextTokens);
}

}  // namespace pagoda::bridge
