// libFuzzer target for the GGUF reader: parses the input as a GGUF image, then touches every
// metadata value and tensor (so ASan sees any pointer that escapes the image), and checks that
// what the reader accepts survives a GgufWriter round trip unchanged.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "model/gguf_file.h"
#include "model/gguf_writer.h"

namespace {

using pagoda::GgufFile;
using pagoda::GgufValue;

#define FUZZ_CHECK(cond)               \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)

uint64_t g_sink = 0;  // read at exit so the touches are not optimized away
volatile uint64_t g_sink_out = 0;

void touch(const GgufValue& v) {
    if (auto i = v.as_int()) g_sink += static_cast<uint64_t>(*i);
    if (auto u = v.as_uint()) g_sink += *u;
    if (auto f = v.as_float()) g_sink += static_cast<uint64_t>(std::isfinite(*f));
    if (auto b = v.as_bool()) g_sink += *b;
    if (const auto* s = v.as_string()) {
        if (!s->empty()) g_sink += static_cast<uint8_t>(s->front()) + static_cast<uint8_t>(s->back());
    }
    if (const auto* a = v.as_array()) {
        for (const auto& item : a->items) {
            FUZZ_CHECK(item.type == a->element_type);
            touch(item);
        }
    }
    g_sink += std::strlen(pagoda::gguf_value_type_name(v.type));
}

bool same_value(const GgufValue& a, const GgufValue& b) {
    if (a.type != b.type) return false;
    if (const auto* x = a.as_array()) {
        const auto* y = b.as_array();
        if (!y || x->element_type != y->element_type || x->items.size() != y->items.size()) return false;
        for (size_t i = 0; i < x->items.size(); ++i) {
            if (!same_value(x->items[i], y->items[i])) return false;
        }
        return true;
    }
    if (auto x = std::get_if<double>(&a.data)) {
        auto y = std::get_if<double>(&b.data);
        // float32 NaN payloads may be quieted on the way through double; NaN is NaN.
        return y && ((std::isnan(*x) && std::isnan(*y)) || *x == *y);
    }
    if (a.data.index() != b.data.index()) return false;
    if (auto x = std::get_if<std::string>(&a.data)) return *x == std::get<std::string>(b.data);
    if (auto x = std::get_if<uint64_t>(&a.data)) return *x == std::get<uint64_t>(b.data);
    if (auto x = std::get_if<int64_t>(&a.data)) return *x == std::get<int64_t>(b.data);
    return std::get<bool>(a.data) == std::get<bool>(b.data);
}

void round_trip(const GgufFile& f) {
    uint64_t total = 0;
    for (const auto& t : f.tensors()) total += t.n_bytes;
    // Keep each execution cheap: the writer pads the header and every tensor to the alignment,
    // so a (legal) alignment of 2^30 would make it write gigabytes of zeros.
    if (total > (uint64_t{1} << 20) || f.alignment() > 4096) return;

    pagoda::GgufWriter w(f.alignment());
    for (const auto& [key, value] : f.metadata()) w.set(key, value);
    for (const auto& t : f.tensors()) {
        // The writer is stricter than the reader (tensor names llama.cpp can load); a refusal
        // just ends the round trip.
        if (!w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes)).is_ok()) return;
    }
    const auto bytes = w.to_bytes();
    if (bytes.empty()) return;  // e.g. an alignment the writer refuses, or a non-uint32 general.alignment
    auto again = GgufFile::parse(bytes, "roundtrip.gguf");
    FUZZ_CHECK(again.is_ok());
    const GgufFile& g = *again.value();
    FUZZ_CHECK(g.alignment() == f.alignment());
    FUZZ_CHECK(g.metadata().size() == f.metadata().size());
    for (size_t i = 0; i < f.metadata().size(); ++i) {
        FUZZ_CHECK(g.metadata()[i].first == f.metadata()[i].first);
        if (f.metadata()[i].first == "general.alignment") continue;  // rewritten as uint32
        FUZZ_CHECK(same_value(g.metadata()[i].second, f.metadata()[i].second));
    }
    FUZZ_CHECK(g.tensors().size() == f.tensors().size());
    for (size_t i = 0; i < f.tensors().size(); ++i) {
        const auto& a = f.tensors()[i];
        const auto& b = g.tensors()[i];
        FUZZ_CHECK(a.name == b.name && a.type == b.type && a.dims == b.dims && a.n_bytes == b.n_bytes);
        FUZZ_CHECK(std::memcmp(a.data, b.data, a.n_bytes) == 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto result = GgufFile::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
    if (!result.is_ok()) {
        // Every refusal names the file and says something.
        const std::string message = result.status().message();
        FUZZ_CHECK(message.rfind("fuzz.gguf: ", 0) == 0 && message.size() > 16);
        return 0;
    }
    const GgufFile& f = *result.value();
    FUZZ_CHECK(f.version() == 2 || f.version() == 3);
    FUZZ_CHECK(f.alignment() != 0 && (f.alignment() & (f.alignment() - 1)) == 0);
    for (const auto& [key, value] : f.metadata()) {
        FUZZ_CHECK(f.find(key) == &value);
        touch(value);
    }
    for (const auto& t : f.tensors()) {
        FUZZ_CHECK(f.find_tensor(t.name) == &t);
        FUZZ_CHECK(!t.dims.empty() && t.dims.size() <= 4 && t.n_elements() > 0 && t.n_bytes > 0);
        FUZZ_CHECK(t.data >= data && t.data + t.n_bytes <= data + size);
        FUZZ_CHECK(t.offset % f.alignment() == 0);
        g_sink += t.data[0] + t.data[t.n_bytes - 1];  // ASan checks both ends are inside the input
    }
    round_trip(f);
    g_sink_out = g_sink;
    return 0;
}
