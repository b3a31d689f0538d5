#include "backend/cpu/cpu_backend.h"

#include <cstring>
#include <new>
#include <string>

#include "backend/cpu/create_cpu_backend.h"
#include "backend/step_validation.h"
#include "model/ggml_type.h"
#include "model/quant/quant.h"

namespace pagoda {

std::unique_ptr<Backend> create_cpu_backend(int n_threads) { return std::make_unique<cpu::CpuBackend>(n_threads); }

namespace cpu {
namespace {

const char* simd_name() {
#if defined(__AVX512F__)
    return "avx512";
#elif defined(__AVX2__)
    return "avx2";
#elif defined(__AVX__)
    return "avx";
#elif defined(__ARM_NEON)
    return "neon";
#elif defined(__SSE2__)
    return "sse2";
#else
    return "scalar";
#endif
}

std::string shape(const Tensor& t) {
    std::string s = "[";
    s += std::to_string(t.rows);
    s += ", ";
    s += std::to_string(t.cols);
    s += "] ";
    s += ggml_type_info(static_cast<uint32_t>(t.type)) ? ggml_type_name(t.type) : "?";
    return s;
}

}  // namespace

CpuBackend::CpuBackend(int n_threads) : pool_(n_threads > 0 ? n_threads : physical_core_count()) {
    thread_scratch_.resize(static_cast<size_t>(pool_.size()));
}

std::string CpuBackend::name() const {
    return "cpu (" + std::to_string(pool_.size()) + (pool_.size() == 1 ? " thread, " : " threads, ") + simd_name() +
           ")";
}

// ---- memory -----------------------------------------------------------------------

Result<Tensor> CpuBackend::load_weight(GgmlType type, int64_t rows, int64_t cols, const void* host_data) {
    const auto info = ggml_type_info(static_cast<uint32_t>(type));
    if (!info)
        return invalid_argument("load_weight: unknown tensor type " + std::to_string(static_cast<uint32_t>(type)));
    if (!info->runnable) return unsupported(std::string("load_weight: type ") + info->name + " is not supported");
    if (rows <= 0 || cols <= 0) {
        return invalid_argument("load_weight: bad shape [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    }
    const auto row_bytes = ggml_row_bytes(type, cols);
    if (!row_bytes) {
        return invalid_argument("load_weight: " + std::to_string(cols) + " columns is not a whole number of " +
                                info->name + " blocks");
    }
    uint64_t total = 0;
    if (__builtin_mul_overflow(*row_bytes, static_cast<uint64_t>(rows), &total)) {
        return invalid_argument("load_weight: tensor size overflows");
    }
    if (!host_data) return invalid_argument("load_weight: no data");
    // Zero-copy: the GGUF mmap outlives the backend, so the weight simply aliases it.
    return Tensor{const_cast<void*>(host_data), type, rows, cols};
}

Result<Tensor> CpuBackend::alloc_activations(int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 0) {
        return invalid_argument("alloc_activations: bad shape [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                "]");
    }
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), &bytes) ||
        __builtin_mul_overflow(bytes, uint64_t{sizeof(float)}, &bytes) || bytes > SIZE_MAX / 2) {
        return out_of_memory("alloc_activations: size overflows");
    }
    if (bytes > host_memory_bytes()) {
        return out_of_memory("alloc_activations: " + std::to_string(bytes >> 20) +
                             " MiB is more than this machine has");
    }
    void* p = arena_.allocate(static_cast<size_t>(bytes));
    if (!p) return out_of_memory("alloc_activations: cannot allocate " + std::to_string(bytes >> 20) + " MiB");
    return Tensor{p, GgmlType::F32, rows, cols};
}

void CpuBackend::reset_scratch() { arena_.reset(); }

Status CpuBackend::init_kv_cache(const KvCacheConfig& config) {
    // The current step's slots and blocks were checked against the old pools.
    step_.valid = false;
    return kv_.init(config);
}

Status CpuBackend::read(const Tensor& src, float* dst) {
    if (src.type != GgmlType::F32) return invalid_argument("read: tensor is " + shape(src) + ", expected f32");
    if (src.rows < 0 || src.cols < 0) return invalid_argument("read: bad shape " + shape(src));
    if (src.n_elements() == 0) return Status::ok();
    if (!src.data || !dst) return invalid_argument("read: null pointer");
    std::memcpy(dst, src.data, static_cast<size_t>(src.n_elements()) * sizeof(float));
    return Status::ok();
}

Status CpuBackend::write(Tensor& dst, const float* src) {
    if (dst.type != GgmlType::F32) return invalid_argument("write: tensor is " + shape(dst) + ", expected f32");
    if (dst.rows < 0 || dst.cols < 0) return invalid_argument("write: bad shape " + shape(dst));
    if (dst.n_elements() == 0) return Status::ok();
    if (!dst.data || !src) return invalid_argument("write: null pointer");
    std::memcpy(dst.data, src, static_cast<size_t>(dst.n_elements()) * sizeof(float));
    return Status::ok();
}

// ---- step -------------------------------------------------------------------------


Status CpuBackend::begin_step(const StepInputs& in) {
    step_.valid = false;
    step_error_ = Status::ok();
    ++step_id_;
    Status status = validate_step_inputs(in, kv_.initialized() ? &kv_.config() : nullptr);
    if (status.is_ok()) {
        try {
            step_.tokens.assign(in.tokens.begin(), in.tokens.end());
            step_.positions.assign(in.positions.begin(), in.positions.end());
            step_.slot_mapping.assign(in.slot_mapping.begin(), in.slot_mapping.end());
            step_.query_start.assign(in.query_start.begin(), in.query_start.end());
            step_.context_lens.assign(in.context_lens.begin(), in.context_lens.end());
            step_.block_tables.assign(in.block_tables.begin(), in.block_tables.end());
            step_.max_blocks_per_seq = in.max_blocks_per_seq;
            step_.logit_rows.assign(in.logit_rows.begin(), in.logit_rows.end());
            step_.seq_of_token.resize(in.tokens.size());
            for (size_t s = 0; s + 1 < step_.query_start.size(); ++s) {
                for (int32_t i = step_.query_start[s]; i < step_.query_start[s + 1]; ++i) {
                    step_.seq_of_token[static_cast<size_t>(i)] = static_cast<int32_t>(s);
                }
            }
            step_.valid = true;
        } catch (const std::bad_alloc&) {
            status = out_of_memory("begin_step: out of memory");
        }
    }
    // Ops run after a refused begin_step fail too, and end_step reports why.
    step_error_ = status;
    return status;
}

Status CpuBackend::end_step() {
    Status status = step_error_;
    step_error_ = Status::ok();
    step_.valid = false;
    return status;
}

// ---- shared op checks ----------------------------------------------------------------

void CpuBackend::fail(Status status) {
    if (step_error_.is_ok()) step_error_ = std::move(status);
}

bool CpuBackend::check_f32(const char* op, const char* what, const Tensor& t, int64_t rows, int64_t cols) {
    bool ok = t.type == GgmlType::F32 && t.rows >= 0 && t.cols >= 0 && (rows < 0 || t.rows == rows) &&
              (cols < 0 || t.cols == cols) && (t.data != nullptr || t.n_elements() == 0);
    if (!ok) {
        fail(invalid_argument(std::string(op) + ": " + what + " is " + shape(t) + ", expected [" +
                              (rows < 0 ? std::string("*") : std::to_string(rows)) + ", " +
                              (cols < 0 ? std::string("*") : std::to_string(cols)) + "] f32" +
                              (t.data == nullptr ? " (or it has no data)" : "")));
    }
    return ok;
}

bool CpuBackend::check_step(const char* op) {
    if (!step_.valid) fail(invalid_argument(std::string(op) + ": no valid step (call begin_step first)"));
    return step_.valid;
}

bool CpuBackend::check_kv(const char* op, int32_t layer) {
    if (!kv_.initialized()) {
        fail(invalid_argument(std::string(op) + ": KV cache not initialized"));
        return false;
    }
    if (layer < 0 || layer >= kv_.config().n_layers) {
        fail(invalid_argument(std::string(op) + ": layer " + std::to_string(layer) + " outside the KV cache's " +
                              std::to_string(kv_.config().n_layers)));
        return false;
    }
    return true;
}

const float* CpuBackend::as_f32_vector(const char* op, const char* what, const Tensor& t, int64_t n,
                                       std::vector<float>& storage) {
    const auto info = ggml_type_info(static_cast<uint32_t>(t.type));
    const bool ok = info && info->runnable && t.data != nullptr && t.rows >= 0 && t.cols >= 0 && t.n_elements() == n &&
                    n % info->block_size == 0;
    if (!ok) {
        fail(invalid_argument(std::string(op) + ": " + what + " is " + shape(t) + ", expected " + std::to_string(n) +
                              " values"));
        return nullptr;
    }
    if (t.type == GgmlType::F32) return static_cast<const float*>(t.data);
    try {
        storage.resize(static_cast<size_t>(n));
    } catch (const std::bad_alloc&) {
        fail(out_of_memory(std::string(op) + ": out of memory"));
        return nullptr;
    }
    dequantize_row(t.type, t.data, storage.data(), n);
    return storage.data();
}

}  // namespace cpu
}  // namespace pagoda
