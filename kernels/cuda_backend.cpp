#include "cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "backend/step_validation.h"
#include "model/ggml_type.h"

namespace pagoda {

Result<std::vector<CudaDeviceInfo>> list_cuda_devices() {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaErrorNoDevice) {
        cudaGetLastError();
        return std::vector<CudaDeviceInfo>{};
    }
    if (err != cudaSuccess) {
        cudaGetLastError();
        return unsupported("no usable CUDA driver: " + cuda::cuda_error_string(err));
    }
    std::vector<CudaDeviceInfo> devices;
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop{};
        const cudaError_t perr = cudaGetDeviceProperties(&prop, i);
        if (perr != cudaSuccess) {
            cudaGetLastError();
            return unsupported("cannot query CUDA device " + std::to_string(i) + ": " + cuda::cuda_error_string(perr));
        }
        CudaDeviceInfo info;
        info.index = i;
        info.name = prop.name;
        info.cc_major = prop.major;
        info.cc_minor = prop.minor;
        info.total_memory = prop.totalGlobalMem;
        info.multiprocessors = prop.multiProcessorCount;
        devices.push_back(std::move(info));
    }
    return devices;
}

Result<std::unique_ptr<Backend>> create_cuda_backend(int device) {
    auto devices = list_cuda_devices();
    if (!devices.is_ok()) return devices.status();
    if (devices->empty()) return unsupported("no CUDA device found");
    if (device < 0 || device >= static_cast<int>(devices->size())) {
        return invalid_argument("cuda:" + std::to_string(device) + " does not exist (" +
                                std::to_string(devices->size()) + " CUDA device" + (devices->size() == 1 ? "" : "s") +
                                " found)");
    }
    const CudaDeviceInfo& info = (*devices)[static_cast<size_t>(device)];
    if (info.cc_major * 10 + info.cc_minor < kMinCudaComputeCapability) {
        return unsupported("cuda:" + std::to_string(device) + " (" + info.name + ") has compute capability " +
                           std::to_string(info.cc_major) + "." + std::to_string(info.cc_minor) +
                           "; Pagoda's kernels need 7.5 or newer");
    }
    auto backend = std::make_unique<cuda::CudaBackend>(info);
    PAGODA_RETURN_IF_ERROR(backend->init());
    return std::unique_ptr<Backend>(std::move(backend));
}

namespace cuda {
namespace {

std::string shape(const Tensor& t) {
    const auto info = ggml_type_info(static_cast<uint32_t>(t.type));
    // Appended piecewise: GCC 12 warns (-Wrestrict, falsely) on "[" + std::to_string(...).
    std::string s = "[";
    s += std::to_string(t.rows);
    s += ", ";
    s += std::to_string(t.cols);
    s += "] ";
    s += info ? info->name : "?";
    return s;
}

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

// The free GPU memory, for out-of-memory messages.
std::string free_memory_note() {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
        cudaGetLastError();
        return "";
    }
    return " (" + mib(free_bytes) + " free of " + mib(total_bytes) + ")";
}

}  // namespace

CudaBackend::CudaBackend(CudaDeviceInfo info) : info_(std::move(info)) {}

CudaBackend::~CudaBackend() {
    if (stream_) cudaStreamSynchronize(stream_);
    for (void* p : weights_) cudaFree(p);
    if (kv_memory_) cudaFree(kv_memory_);
    if (cublas_) cublasDestroy(cublas_);
    // Members holding device memory (arena, buffers) free it before the stream goes.
    arena_.set_stream(nullptr);
    if (stream_) cudaStreamDestroy(stream_);
}

Status CudaBackend::init() {
    const std::string dev = "cuda:" + std::to_string(info_.index);
    cudaError_t err = cudaSetDevice(info_.index);
    if (err != cudaSuccess) return cuda_status(err, dev + ": cannot select the device");
    err = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
    if (err != cudaSuccess) return cuda_status(err, dev + ": cannot create a stream");
    arena_.set_stream(stream_);
    // A no-op kernel proves this build holds code the device can run.
    err = launch_noop(stream_);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) {
        cudaGetLastError();
        if (err == cudaErrorNoKernelImageForDevice || err == cudaErrorInvalidDeviceFunction) {
            return unsupported(dev + " (" + info_.name + ", compute capability " + std::to_string(info_.cc_major) +
                               "." + std::to_string(info_.cc_minor) +
                               ") is not among the architectures this build was compiled for "
                               "(rebuild with -DPAGODA_CUDA_ARCHITECTURES including " +
                               std::to_string(info_.cc_major * 10 + info_.cc_minor) + ")");
        }
        return cuda_status(err, dev + ": test kernel failed");
    }
    const cublasStatus_t cs = cublasCreate(&cublas_);
    if (cs != CUBLAS_STATUS_SUCCESS) {
        cublas_ = nullptr;
        return internal_error(dev + ": cannot create a cuBLAS handle (status " + std::to_string(static_cast<int>(cs)) +
                              ")");
    }
    cublasSetStream(cublas_, stream_);
    // A workspace of our own, so cuBLAS allocates nothing while a graph is captured.
    if (auto ws = cublas_workspace_.get(size_t{32} << 20, stream_, "cuBLAS workspace"); ws.is_ok()) {
        cublasSetWorkspace(cublas_, *ws, size_t{32} << 20);
    }
    graphs_.configure(true);
    // Plain fp32 math for F32 weights: no silent TF32, so results match the CPU's.
    cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH);
    return Status::ok();
}

std::string CudaBackend::name() const {
    return "cuda:" + std::to_string(info_.index) + " (" + info_.name + ", cc " + std::to_string(info_.cc_major) + "." +
           std::to_string(info_.cc_minor) + ", " + std::to_string(info_.total_memory >> 30) + " GiB)";
}

// ---- memory -------------------------------------------------------------------------

Result<Tensor> CudaBackend::load_weight(GgmlType type, int64_t rows, int64_t cols, const void* host_data) {
    bind_device();
    const auto info = ggml_type_info(static_cast<uint32_t>(type));
    if (!info)
        return invalid_argument("load_weight: unknown tensor type " + std::to_string(static_cast<uint32_t>(type)));
    if (!info->runnable || !dequant_supported(type)) {
        return unsupported(std::string("load_weight: type ") + info->name + " is not supported by the CUDA backend");
    }
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
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, total);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return out_of_memory("load_weight: cannot allocate " + mib(total) + " of GPU memory for a [" +
                             std::to_string(rows) + ", " + std::to_string(cols) + "] " + info->name + " weight" +
                             free_memory_note() + " with " + mib(weight_bytes_) + " of weights already uploaded");
    }
    err = cudaMemcpy(p, host_data, total, cudaMemcpyHostToDevice);
    if (err != cudaSuccess) {
        cudaFree(p);
        return cuda_status(err, "load_weight: upload");
    }
    weights_.push_back(p);
    weight_bytes_ += total;
    return Tensor{p, type, rows, cols};
}

Result<Tensor> CudaBackend::alloc_random_weight(GgmlType type, int64_t rows, int64_t cols, uint64_t seed, float scale) {
    const auto info = ggml_type_info(static_cast<uint32_t>(type));
    const auto row_bytes = info ? ggml_row_bytes(type, cols) : std::nullopt;
    if (!info || !info->runnable || rows <= 0 || !row_bytes) return invalid_argument("alloc_random_weight: bad tensor");
    const uint64_t total = *row_bytes * static_cast<uint64_t>(rows);
    void* p = nullptr;
    if (cudaMalloc(&p, total) != cudaSuccess) {
        cudaGetLastError();
        return out_of_memory("alloc_random_weight: cannot allocate " + mib(total) + free_memory_note());
    }
    const int64_t n_blocks = rows * (cols / info->block_size);
    cudaError_t err = launch_fill_random({type, p, n_blocks, seed, scale}, stream_);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) {
        cudaFree(p);
        return cuda_status(err, "alloc_random_weight");
    }
    weights_.push_back(p);
    weight_bytes_ += total;
    return Tensor{p, type, rows, cols};
}

void CudaBackend::free_weight(const Tensor& weight) {
    const auto it = std::find(weights_.begin(), weights_.end(), weight.data);
    if (weight.data == nullptr || it == weights_.end()) return;
    bind_device();
    // Kernels queued earlier may still read it.
    cudaStreamSynchronize(stream_);
    cudaFree(weight.data);
    weights_.erase(it);
    const auto row_bytes = ggml_row_bytes(weight.type, weight.cols);
    const uint64_t bytes = row_bytes ? *row_bytes * static_cast<uint64_t>(weight.rows) : 0;
    weight_bytes_ -= std::min(weight_bytes_, bytes);
}

void CudaBackend::release_weights() {
    bind_device();
    flush_recorded();
    cudaStreamSynchronize(stream_);
    for (void* p : weights_) cudaFree(p);
    weights_.clear();
    weight_bytes_ = 0;
}

Result<Tensor> CudaBackend::alloc_activations(int64_t rows, int64_t cols) {
    bind_device();
    if (rows < 0 || cols < 0) {
        return invalid_argument("alloc_activations: bad shape [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                "]");
    }
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), &bytes) ||
        __builtin_mul_overflow(bytes, uint64_t{sizeof(float)}, &bytes) || bytes > (uint64_t{1} << 40)) {
        return out_of_memory("alloc_activations: size overflows");
    }
    auto p = arena_.allocate(static_cast<size_t>(bytes));
    if (!p.is_ok()) return p.status();
    return Tensor{*p, GgmlType::F32, rows, cols};
}

void CudaBackend::reset_scratch() {
    bind_device();
    flush_recorded();
    ++launch_epoch_;
    arena_.reset();
}

Status CudaBackend::init_kv_cache(const KvCacheConfig& c) {
    bind_device();
    flush_recorded();
    if (kv_memory_) {
        cudaStreamSynchronize(stream_);
        cudaFree(kv_memory_);
        kv_memory_ = nullptr;
    }
    kv_ready_ = false;
    kv_config_ = KvCacheConfig{};
    step_.valid = false;  // the step's slots were checked against the old cache
    if (c.n_layers <= 0 || c.n_kv_heads <= 0 || c.head_dim <= 0 || c.block_size <= 0 || c.n_blocks <= 0) {
        return invalid_argument("KV cache: n_layers, n_kv_heads, head_dim, block_size and n_blocks must be positive");
    }
    if (c.type != GgmlType::F32 && c.type != GgmlType::F16 && c.type != GgmlType::Q8_0) {
        return unsupported("KV cache: type must be f32, f16 or q8_0");
    }
    if (c.type == GgmlType::Q8_0 && c.head_dim % 32 != 0) {
        return invalid_argument("KV cache: q8_0 needs head_dim a multiple of 32, got " + std::to_string(c.head_dim));
    }
    if (c.head_dim % 2 != 0 || c.head_dim > 256) {
        return unsupported("KV cache: the CUDA attention kernels need an even head_dim of at most 256, got " +
                           std::to_string(c.head_dim));
    }
    const int64_t token_values = static_cast<int64_t>(c.n_kv_heads) * c.head_dim;
    const auto token_bytes = ggml_row_bytes(c.type, token_values);
    if (!token_bytes) return invalid_argument("KV cache: bad head shape");
    const uint64_t slots = static_cast<uint64_t>(c.n_blocks) * static_cast<uint64_t>(c.block_size);
    uint64_t pool_bytes = 0, total = 0;
    if (slots > INT32_MAX || __builtin_mul_overflow(slots, *token_bytes, &pool_bytes) ||
        __builtin_mul_overflow(pool_bytes, 2ull * static_cast<uint64_t>(c.n_layers), &total)) {
        return out_of_memory("KV cache: size overflows");
    }
    // Pools start on 256-byte boundaries so every slot row keeps its natural alignment.
    pool_bytes = align_up(pool_bytes);
    total = pool_bytes * 2ull * static_cast<uint64_t>(c.n_layers);
    cudaError_t err = cudaMalloc(&kv_memory_, total);
    if (err != cudaSuccess) {
        cudaGetLastError();
        kv_memory_ = nullptr;
        return out_of_memory("KV cache: cannot allocate " + mib(total) + " of GPU memory" + free_memory_note());
    }
    // Zeroed, as on the CPU: a slot read before its first write holds zeros, not garbage.
    err = cudaMemsetAsync(kv_memory_, 0, total, stream_);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) return cuda_status(err, "KV cache: clear");
    kv_config_ = c;
    kv_pool_bytes_ = pool_bytes;
    kv_slots_ = static_cast<int64_t>(slots);
    kv_ready_ = true;
    return Status::ok();
}

Status CudaBackend::read(const Tensor& src, float* dst) {
    bind_device();
    flush_recorded();
    if (src.type != GgmlType::F32) return invalid_argument("read: tensor is " + shape(src) + ", expected f32");
    if (src.rows < 0 || src.cols < 0) return invalid_argument("read: bad shape " + shape(src));
    if (src.n_elements() == 0) return Status::ok();
    if (!src.data || !dst) return invalid_argument("read: null pointer");
    const size_t bytes = static_cast<size_t>(src.n_elements()) * sizeof(float);
    auto staging = staging_.get(bytes, stream_, "read");
    if (!staging.is_ok()) return staging.status();
    cudaError_t err = cudaMemcpyAsync(*staging, src.data, bytes, cudaMemcpyDeviceToHost, stream_);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) return cuda_status(err, "read");
    std::memcpy(dst, *staging, bytes);
    return Status::ok();
}

Status CudaBackend::write(Tensor& dst, const float* src) {
    bind_device();
    flush_recorded();
    ++launch_epoch_;  // dst may be the x of cached quantized activations
    if (dst.type != GgmlType::F32) return invalid_argument("write: tensor is " + shape(dst) + ", expected f32");
    if (dst.rows < 0 || dst.cols < 0) return invalid_argument("write: bad shape " + shape(dst));
    if (dst.n_elements() == 0) return Status::ok();
    if (!dst.data || !src) return invalid_argument("write: null pointer");
    const size_t bytes = static_cast<size_t>(dst.n_elements()) * sizeof(float);
    auto staging = staging_.get(bytes, stream_, "write");
    if (!staging.is_ok()) return staging.status();
    // The staging buffer may still feed an earlier copy: wait before overwriting it.
    cudaError_t err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) return cuda_status(err, "write");
    std::memcpy(*staging, src, bytes);
    err = cudaMemcpyAsync(dst.data, *staging, bytes, cudaMemcpyHostToDevice, stream_);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
    return cuda_status(err, "write");
}

// ---- step ---------------------------------------------------------------------------


Status CudaBackend::upload_step(const StepInputs& in) {
    Step& s = step_;
    s.n_tokens = in.n_tokens();
    s.n_seqs = in.n_seqs();
    s.max_blocks_per_seq = in.max_blocks_per_seq;
    s.n_logit_rows = static_cast<int32_t>(in.logit_rows.size());
    s.tokens.assign(in.tokens.begin(), in.tokens.end());
    s.max_query_len = 0;
    s.max_context = 0;
    s.tiles.clear();
    std::vector<int32_t> token_seq(static_cast<size_t>(s.n_tokens));
    for (int32_t q = 0; q < s.n_seqs; ++q) {
        const int32_t begin = in.query_start[q];
        const int32_t end = in.query_start[q + 1];
        s.max_query_len = std::max(s.max_query_len, end - begin);
        for (int32_t i = begin; i < end; ++i) {
            token_seq[static_cast<size_t>(i)] = q;
            s.max_context = std::max(s.max_context, in.positions[i] + 1);
        }
        for (int32_t t = begin; t < end; t += kPrefillTileRows) {
            s.tiles.push_back({t, std::min(kPrefillTileRows, end - t)});
        }
    }

    // One pinned buffer, one copy: [tokens | positions | slots | block tables | logit rows | token_seq | tiles].
    const size_t n_tok = static_cast<size_t>(s.n_tokens);
    const size_t sizes[] = {
        n_tok * sizeof(int32_t),
        n_tok * sizeof(int32_t),
        n_tok * sizeof(int64_t),
        in.block_tables.size() * sizeof(int32_t),
        in.logit_rows.size() * sizeof(int32_t),
        n_tok * sizeof(int32_t),
        s.tiles.size() * sizeof(PrefillTile),
    };
    const void* sources[] = {in.tokens.data(),     in.positions.data(), in.slot_mapping.data(), in.block_tables.data(),
                             in.logit_rows.data(), token_seq.data(),    s.tiles.data()};
    size_t offsets[7];
    size_t total = 0;
    for (int i = 0; i < 7; ++i) {
        offsets[i] = total;
        total += align_up(sizes[i], 16);
    }
    total = std::max<size_t>(total, 16);
    // The previous step's upload may still be reading the pinned buffer.
    cudaError_t err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) return cuda_status(err, "begin_step");
    auto host = step_host_.get(total, stream_, "begin_step");
    if (!host.is_ok()) return host.status();
    auto device = step_device_.get(total, stream_, "begin_step");
    if (!device.is_ok()) return device.status();
    auto* h = static_cast<char*>(*host);
    auto* d = static_cast<char*>(*device);
    for (int i = 0; i < 7; ++i) {
        if (sizes[i] > 0) std::memcpy(h + offsets[i], sources[i], sizes[i]);
    }
    err = cudaMemcpyAsync(d, h, total, cudaMemcpyHostToDevice, stream_);
    if (err != cudaSuccess) return cuda_status(err, "begin_step: upload");
    s.d_tokens = reinterpret_cast<const int32_t*>(d + offsets[0]);
    s.d_positions = reinterpret_cast<const int32_t*>(d + offsets[1]);
    s.d_slots = reinterpret_cast<const int64_t*>(d + offsets[2]);
    s.d_block_tables = reinterpret_cast<const int32_t*>(d + offsets[3]);
    s.d_logit_rows = reinterpret_cast<const int32_t*>(d + offsets[4]);
    s.d_token_seq = reinterpret_cast<const int32_t*>(d + offsets[5]);
    s.d_tiles = reinterpret_cast<const PrefillTile*>(d + offsets[6]);
    return Status::ok();
}

Status CudaBackend::begin_step(const StepInputs& in) {
    bind_device();
    flush_recorded();  // a step left open: its launches still run, in order
    ++launch_epoch_;
    step_.valid = false;
    Status status = validate_step_inputs(in, kv_ready_ ? &kv_config_ : nullptr);
    if (status.is_ok()) {
        try {
            status = upload_step(in);
        } catch (const std::bad_alloc&) {
            status = out_of_memory("begin_step: out of memory");
        }
        step_.valid = status.is_ok();
        step_.kv_checked = kv_ready_;
    }
    // Decode-only steps are recorded for a CUDA graph (cuda_graph_step.h).
    if (step_.valid && step_.n_tokens > 0 && step_.max_query_len == 1) {
        graphs_.begin({step_.n_tokens, step_.n_seqs, (step_.max_blocks_per_seq + 63) / 64 * 64});
    }
    // Ops run after a refused begin_step fail too, and end_step reports why.
    step_error_ = status;
    return status;
}

Status CudaBackend::end_step() {
    if (graphs_.recording()) {
        if (op_failed()) {
            flush_recorded();  // what ran before the failure, as eagerly
        } else if (const LaunchOutcome o = graphs_.finish(stream_); o.err != cudaSuccess) {
            launched(o.err, o.op);
        }
    }
    ++launch_epoch_;
    const cudaError_t err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) fail(cuda_status(err, "end_step: a kernel failed"));
    Status status = step_error_;
    step_error_ = Status::ok();
    step_.valid = false;
    return status;
}

// ---- shared op checks ------------------------------------------------------------------

void CudaBackend::fail(Status status) {
    if (step_error_.is_ok()) step_error_ = std::move(status);
}

bool CudaBackend::launched(cudaError_t err, const char* op) {
    ++launch_epoch_;
    if (err == cudaSuccess) return true;
    cudaGetLastError();
    fail(cuda_status(err, std::string(op) + ": kernel launch"));
    return false;
}

bool CudaBackend::check_f32(const char* op, const char* what, const Tensor& t, int64_t rows, int64_t cols) {
    const bool ok = t.type == GgmlType::F32 && t.rows >= 0 && t.cols >= 0 && (rows < 0 || t.rows == rows) &&
                    (cols < 0 || t.cols == cols) && (t.data != nullptr || t.n_elements() == 0);
    if (!ok) {
        fail(invalid_argument(std::string(op) + ": " + what + " is " + shape(t) + ", expected [" +
                              (rows < 0 ? std::string("*") : std::to_string(rows)) + ", " +
                              (cols < 0 ? std::string("*") : std::to_string(cols)) + "] f32" +
                              (t.data == nullptr ? " (or it has no data)" : "")));
    }
    return ok;
}

bool CudaBackend::check_vector(const char* op, const char* what, const Tensor& t, int64_t n) {
    const bool ok = (t.type == GgmlType::F32 || t.type == GgmlType::F16 || t.type == GgmlType::BF16) &&
                    t.data != nullptr && t.rows >= 0 && t.cols >= 0 && t.n_elements() == n;
    if (!ok) {
        fail(invalid_argument(std::string(op) + ": " + what + " is " + shape(t) + ", expected " + std::to_string(n) +
                              " f32, f16 or bf16 values"));
    }
    return ok;
}

bool CudaBackend::check_step(const char* op) {
    if (!step_.valid) fail(invalid_argument(std::string(op) + ": no valid step (call begin_step first)"));
    return step_.valid;
}

bool CudaBackend::check_kv(const char* op, int32_t layer) {
    if (!kv_ready_) {
        fail(invalid_argument(std::string(op) + ": KV cache not initialized"));
        return false;
    }
    if (layer < 0 || layer >= kv_config_.n_layers) {
        fail(invalid_argument(std::string(op) + ": layer " + std::to_string(layer) + " outside the KV cache's " +
                              std::to_string(kv_config_.n_layers)));
        return false;
    }
    if (!step_.kv_checked) {
        fail(invalid_argument(std::string(op) + ": the step began before the KV cache was initialized"));
        return false;
    }
    return true;
}

void* CudaBackend::workspace(size_t bytes, const char* op) { return device_buffer(workspace_, bytes, op); }

void CudaBackend::flush_recorded() {
    if (!graphs_.recording()) return;
    if (const LaunchOutcome o = graphs_.flush(stream_); o.err != cudaSuccess) launched(o.err, o.op);
}

void* CudaBackend::device_buffer(DeviceBuffer& buffer, size_t bytes, const char* op) {
    // Growing frees the old buffer, which recorded launches may still use.
    if (bytes > buffer.size()) flush_recorded();
    auto p = buffer.get(std::max<size_t>(bytes, 1), stream_, op);
    if (!p.is_ok()) {
        fail(p.status());
        return nullptr;
    }
    return *p;
}

}  // namespace cuda
}  // namespace pagoda
