// A Backend that hands every call to another one (the CPU backend by default), for
// tests that change one behaviour of a real backend: override just that method.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/cpu/create_cpu_backend.h"

namespace pagoda::engine_test {

class ForwardingBackend : public Backend {
public:
    explicit ForwardingBackend(std::unique_ptr<Backend> inner = create_cpu_backend(2)) : inner_(std::move(inner)) {}
    std::string name() const override { return inner_->name(); }
    Result<Tensor> load_weight(GgmlType t, int64_t r, int64_t c, const void* d) override {
        return inner_->load_weight(t, r, c, d);
    }
    void free_weight(const Tensor& w) override { inner_->free_weight(w); }
    Result<Tensor> alloc_activations(int64_t r, int64_t c) override { return inner_->alloc_activations(r, c); }
    void reset_scratch() override { inner_->reset_scratch(); }
    Status init_kv_cache(const KvCacheConfig& c) override { return inner_->init_kv_cache(c); }
    Status read(const Tensor& s, float* d) override { return inner_->read(s, d); }
    Status write(Tensor& d, const float* s) override { return inner_->write(d, s); }
    std::optional<MemoryInfo> device_memory() const override { return inner_->device_memory(); }
    Status check_weights_fit(uint64_t bytes) const override { return inner_->check_weights_fit(bytes); }
    Status begin_step(const StepInputs& i) override { return inner_->begin_step(i); }
    Status end_step() override { return inner_->end_step(); }
    void embed(const Tensor& t, Tensor& o) override { inner_->embed(t, o); }
    void rms_norm(const Tensor& x, const Tensor& w, float e, Tensor& o) override { inner_->rms_norm(x, w, e, o); }
    void add(Tensor& x, const Tensor& y) override { inner_->add(x, y); }
    void add_bias(Tensor& x, const Tensor& b) override { inner_->add_bias(x, b); }
    void matmul(const Tensor& w, const Tensor& x, Tensor& o) override { inner_->matmul(w, x, o); }
    void rope(Tensor& x, int32_t h, const RopeParams& p) override { inner_->rope(x, h, p); }
    void kv_write(int32_t l, const Tensor& k, const Tensor& v) override { inner_->kv_write(l, k, v); }
    void attention(int32_t l, const Tensor& q, Tensor& o, const AttentionParams& p) override {
        inner_->attention(l, q, o, p);
    }
    void silu_mul(const Tensor& g, const Tensor& u, Tensor& o) override { inner_->silu_mul(g, u, o); }
    void gather_logit_rows(const Tensor& x, Tensor& o) override { inner_->gather_logit_rows(x, o); }
    bool supports_lora() const override { return inner_->supports_lora(); }
    void lora_add(const Tensor& x, std::span<const LoraSegment> s, Tensor& o) override { inner_->lora_add(x, s, o); }

private:
    std::unique_ptr<Backend> inner_;
};

}  // namespace pagoda::engine_test
