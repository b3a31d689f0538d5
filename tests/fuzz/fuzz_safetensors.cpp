// libFuzzer target for the safetensors reader: parses the input, checks what it accepts
// (every tensor inside the image, the data buffer covered exactly, lookups consistent),
// converts float tensors, survives a SafetensorsWriter round trip unchanged, and feeds the
// PEFT adapter reader (tensor-name parsing, pairing, shapes) with a permissive config.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "lora/peft_adapter_loader.h"
#include "model/safetensors_file.h"
#include "model/safetensors_writer.h"

namespace {

using pagoda::SafetensorsDtype;
using pagoda::SafetensorsFile;

#define FUZZ_CHECK(cond)               \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

uint64_t g_sink = 0;  // read at exit so the touches are not optimized away
volatile uint64_t g_sink_out = 0;

void round_trip(const SafetensorsFile& f) {
    pagoda::SafetensorsWriter w;
    for (const auto& [k, v] : f.metadata()) w.set_metadata(k, v);
    for (const auto& t : f.tensors()) {
        FUZZ_CHECK(w.add_tensor(t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.n_bytes)).is_ok());
    }
    const auto bytes = w.to_bytes();
    auto again = SafetensorsFile::parse(bytes, "roundtrip.safetensors");
    FUZZ_CHECK(again.is_ok());
    const SafetensorsFile& g = *again.value();
    FUZZ_CHECK(g.metadata() == f.metadata());
    FUZZ_CHECK(g.tensors().size() == f.tensors().size());
    for (size_t i = 0; i < f.tensors().size(); ++i) {
        const auto& a = f.tensors()[i];
        const auto* b = g.find_tensor(a.name);
        FUZZ_CHECK(b != nullptr && b->dtype == a.dtype && b->shape == a.shape && b->n_bytes == a.n_bytes);
        FUZZ_CHECK(a.n_bytes == 0 || std::memcmp(a.data, b->data, a.n_bytes) == 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto result = SafetensorsFile::parse(std::span<const uint8_t>(data, size), "fuzz.safetensors");
    if (!result.is_ok()) {
        const std::string message = result.status().message();  // status() is a copy
        FUZZ_CHECK(message.rfind("fuzz.safetensors: ", 0) == 0 && message.size() > 20);
        return 0;
    }
    const SafetensorsFile& f = *result.value();
    uint64_t header_len = 0;
    std::memcpy(&header_len, data, 8);
    const uint8_t* buffer = data + 8 + header_len;
    uint64_t pos = 0;
    for (const auto& t : f.tensors()) {
        FUZZ_CHECK(f.find_tensor(t.name) == &t);
        FUZZ_CHECK(t.offset == pos && t.data == buffer + t.offset);  // in order, no holes
        FUZZ_CHECK(t.data + t.n_bytes <= data + size);
        FUZZ_CHECK(t.n_elements() >= 0 &&
                   static_cast<uint64_t>(t.n_elements()) * pagoda::safetensors_dtype_size(t.dtype) == t.n_bytes);
        pos += t.n_bytes;
        if (t.n_bytes > 0) g_sink += t.data[0] + t.data[t.n_bytes - 1];
        if (t.n_bytes <= (1u << 20)) {
            auto v = f.to_f32(t);
            const bool is_float = t.dtype == SafetensorsDtype::F32 || t.dtype == SafetensorsDtype::F16 ||
                                  t.dtype == SafetensorsDtype::BF16;
            FUZZ_CHECK(v.is_ok() == is_float);
            if (v.is_ok()) FUZZ_CHECK(v.value().size() == static_cast<size_t>(t.n_elements()));
        }
    }
    FUZZ_CHECK(8 + header_len + pos == size);
    if (f.tensors().size() <= 64) round_trip(f);
    // rank_pattern set: any rank is accepted, so the reader gets as far as the tensors allow.
    auto adapter = pagoda::parse_peft_adapter(R"({"r":1,"lora_alpha":2,"rank_pattern":{"q_proj":1}})", f);
    if (adapter.is_ok()) {
        FUZZ_CHECK(adapter->rank > 0 && !adapter->layers.empty());
        g_sink += adapter->bytes();
    }
    g_sink_out = g_sink;
    return 0;
}
