// Whole sampling requests next to the logits (CudaBackend::sample_rows): the host
// RowSampler's steps (sample/row_sampler.h, sample/token_sampler.cpp) one block per
// request, so only token ids and the asked-for log-probabilities go back to the host.
//
//   process_rows_kernel   raw row -> scratch row, logit_bias in list order (one thread,
//                         duplicates add twice), then the penalties (unique tokens, in parallel)
//   choose_rows_kernel    greedy argmax, or top_k -> top_p -> min_p -> temperature -> draw
//   logprobs_rows_kernel  log-softmax of the raw row at the chosen token, and the best k
//
// Exactness: the host orders candidates by (logit desc, id asc) and sums in double. Here
// the best M come from a radix select on an order-preserving key (ties at the threshold
// go to the lowest ids) and a bitonic sort, and every sum over a sorted list runs in one
// thread in the host's order, so the sorted paths give the host's token. Sums over whole
// rows (the top_p mass without top_k, the draw without top_k/top_p) are block
// reductions: the same terms in another order (double rounding only).
#include <cmath>
#include <cstdint>
#ifdef PAGODA_CUDA_EMULATION
#include <atomic>
#endif

#include "cuda_common.cuh"
#include "sampling_launch.h"

namespace pagoda::cuda {
namespace {

constexpr int kRowThreads = kSamplingThreads;
constexpr int kBins = 256;  // radix digit: 8 bits, four passes over a 32-bit key
static_assert(kRowThreads == kBins, "one histogram bin per thread");
constexpr int32_t kNoId = INT32_MAX;

__device__ __forceinline__ uint32_t float_bits(float v) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(v);
#else
    uint32_t u;
    __builtin_memcpy(&u, &v, sizeof u);
    return u;
#endif
}

__device__ __forceinline__ void shared_add(int* p, int v) {
#ifdef PAGODA_CUDA_EMULATION
    std::atomic_ref<int>(*p).fetch_add(v, std::memory_order_relaxed);
#else
    atomicAdd(p, v);
#endif
}

// A key whose unsigned order is the float order (no NaN). -0 and +0 compare equal on the
// host, so they share a key and their tie goes by id.
__device__ __forceinline__ uint32_t order_key(float v) {
    const uint32_t b = float_bits(v == 0.0f ? 0.0f : v);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The host's candidate order: descending logit, then ascending id.
__device__ __forceinline__ bool before(float a, int32_t ia, float b, int32_t ib) {
    return a > b || (a == b && ia < ib);
}

// ---- block primitives (every thread of the block calls them) -----------------------------

template <typename T>
struct Scan {
    T exclusive;  // sum over the threads below
    T total;
};

// Prefix sums over the threads in thread order.   s: [kRowThreads] shared
template <typename T>
__device__ Scan<T> block_scan(T v, T* s) {
    const int tid = static_cast<int>(threadIdx.x);
    s[tid] = v;
    __syncthreads();
    for (int offset = 1; offset < kRowThreads; offset <<= 1) {
        const T add = tid >= offset ? s[tid - offset] : T(0);
        __syncthreads();
        s[tid] += add;
        __syncthreads();
    }
    const Scan<T> r{tid > 0 ? s[tid - 1] : T(0), s[kRowThreads - 1]};
    __syncthreads();  // s is reused by the next call
    return r;
}

struct SumOp {
    template <typename T>
    __device__ T operator()(T a, T b) const { return a + b; }
};
struct MinOp {
    template <typename T>
    __device__ T operator()(T a, T b) const { return b < a ? b : a; }
};
struct MaxOp {
    template <typename T>
    __device__ T operator()(T a, T b) const { return b > a ? b : a; }
};

template <typename T, typename Op>
__device__ T block_reduce(T v, T* s, Op op) {
    const int tid = static_cast<int>(threadIdx.x);
    s[tid] = v;
    __syncthreads();
    for (int half = kRowThreads / 2; half > 0; half >>= 1) {
        if (tid < half) s[tid] = op(s[tid], s[tid + half]);
        __syncthreads();
    }
    const T r = s[0];
    __syncthreads();
    return r;
}

// The block's best (value, id) by `before`; every thread gets it.
__device__ void block_best(float& v, int32_t& id, float* sv, int32_t* si) {
    const int tid = static_cast<int>(threadIdx.x);
    sv[tid] = v;
    si[tid] = id;
    __syncthreads();
    for (int half = kRowThreads / 2; half > 0; half >>= 1) {
        if (tid < half && before(sv[tid + half], si[tid + half], sv[tid], si[tid])) {
            sv[tid] = sv[tid + half];
            si[tid] = si[tid + half];
        }
        __syncthreads();
    }
    v = sv[0];
    id = si[0];
    __syncthreads();
}

// This thread's contiguous range of ids, for passes that must keep id order.
__device__ __forceinline__ void thread_chunk(int32_t vocab, int32_t& lo, int32_t& hi) {
    const int32_t chunk = (vocab + kRowThreads - 1) / kRowThreads;
    const int64_t begin = static_cast<int64_t>(threadIdx.x) * chunk;
    lo = begin < vocab ? static_cast<int32_t>(begin) : vocab;
    hi = vocab - lo < chunk ? vocab : lo + chunk;
}

// Shared memory of the selection.
struct Sorted {
    float vals[kMaxSortedCandidates];
    int32_t ids[kMaxSortedCandidates];
    int hist[kBins];
    int digit;
    int need;
};

struct Scratch {
    float f[kRowThreads];
    int32_t i[kRowThreads];
    int32_t j[kRowThreads];
    double d[kRowThreads];
};

// The best m entries of `row` by (logit desc, id asc) into s.vals/ids[0, m), sorted.
// Eligible entries: not NaN, and above -inf unless with_neg_inf. Requires
// 1 <= m <= kMaxSortedCandidates and m <= the number of eligible entries.
__device__ void select_sorted(const float* row, int32_t vocab, int m, bool with_neg_inf, Sorted& s, Scratch& x) {
    const int tid = static_cast<int>(threadIdx.x);
    const auto eligible = [with_neg_inf](float v) { return with_neg_inf ? v == v : v > -INFINITY; };

    // Radix select, most significant digit first: the key of the m-th best (threshold),
    // and how many entries with exactly that key to take (`need`, the lowest ids).
    uint32_t prefix = 0, mask = 0;
    int need = m;
    for (int shift = 24; shift >= 0; shift -= 8) {
        s.hist[tid] = 0;
        __syncthreads();
        for (int32_t i = tid; i < vocab; i += kRowThreads) {
            const float v = row[i];
            if (!eligible(v)) continue;
            const uint32_t k = order_key(v);
            if ((k & mask) == prefix) shared_add(&s.hist[(k >> shift) & 0xFF], 1);
        }
        __syncthreads();
        const int bin = kBins - 1 - tid;  // thread order = digits from the top
        const int count = s.hist[bin];
        const Scan<int> above = block_scan(count, x.i);
        if (above.exclusive < need && need <= above.exclusive + count) {
            s.digit = bin;
            s.need = need - above.exclusive;
        }
        __syncthreads();
        prefix |= static_cast<uint32_t>(s.digit) << shift;
        mask |= 0xFFu << shift;
        need = s.need;
        __syncthreads();
    }
    const uint32_t threshold = prefix;
    const int n_above = m - need;

    // Gather in id order (contiguous ranges + scans), so the threshold's ties are the lowest ids.
    int32_t lo, hi;
    thread_chunk(vocab, lo, hi);
    int above = 0, equal = 0;
    for (int32_t i = lo; i < hi; ++i) {
        const float v = row[i];
        if (!eligible(v)) continue;
        const uint32_t k = order_key(v);
        above += k > threshold;
        equal += k == threshold;
    }
    int pa = block_scan(above, x.i).exclusive;
    int pe = block_scan(equal, x.j).exclusive;
    for (int32_t i = lo; i < hi && (above > 0 || (equal > 0 && pe < need)); ++i) {
        const float v = row[i];
        if (!eligible(v)) continue;
        const uint32_t k = order_key(v);
        if (k > threshold) {
            s.vals[pa] = v;
            s.ids[pa] = i;
            ++pa;
            --above;
        } else if (k == threshold) {
            if (pe < need) {
                s.vals[n_above + pe] = v;
                s.ids[n_above + pe] = i;
            }
            ++pe;
            --equal;
        }
    }
    int n = 1;
    while (n < m) n <<= 1;
    for (int i = m + tid; i < n; i += kRowThreads) {  // padding sorts last
        s.vals[i] = -INFINITY;
        s.ids[i] = kNoId;
    }
    __syncthreads();

    // Bitonic sort of [0, n) into `before` order.
    for (int k = 2; k <= n; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = tid; i < n; i += kRowThreads) {
                const int p = i ^ j;
                if (p <= i) continue;
                const bool p_first = before(s.vals[p], s.ids[p], s.vals[i], s.ids[i]);
                if (((i & k) == 0) == p_first) {
                    const float tv = s.vals[i];
                    const int32_t ti = s.ids[i];
                    s.vals[i] = s.vals[p];
                    s.ids[i] = s.ids[p];
                    s.vals[p] = tv;
                    s.ids[p] = ti;
                }
            }
            __syncthreads();
        }
    }
}

// ---- kernels --------------------------------------------------------------------------------

// The processed row: raw + logit_bias (in order) with the penalties (apply_logit_bias,
// apply_penalties: the same float operations).
__global__ void __launch_bounds__(kRowThreads) process_rows_kernel(SampleRowsArgs a) {
    const RowSampleJob& job = a.jobs[blockIdx.x];
    if (!job.processed) return;
    const int tid = static_cast<int>(threadIdx.x);
    const int32_t vocab = static_cast<int32_t>(a.vocab);
    float* row = job.processed;
    for (int32_t i = tid; i < vocab; i += kRowThreads) row[i] = job.raw[i];
    __syncthreads();
    if (tid == 0) {
        for (int32_t b = 0; b < job.n_bias; ++b) {
            const RowSampleBias e = job.bias[b];
            if (e.token >= 0 && e.token < vocab) row[e.token] += e.value;
        }
    }
    __syncthreads();
    const bool repetition = job.repetition != 1.0f && job.repetition > 0.0f;
    const bool additive = job.presence != 0.0f || job.frequency != 0.0f;
    for (int32_t p = tid; p < job.n_penalties; p += kRowThreads) {
        const RowSamplePenalty e = job.penalties[p];
        if (e.token < 0 || e.token >= vocab) continue;
        float l = row[e.token];
        if (repetition) l = l > 0.0f ? l / job.repetition : l * job.repetition;
        // presence + frequency * count with one rounding, as apply_penalties computes it.
        if (additive && e.output_count > 0) l -= fmaf(job.frequency, static_cast<float>(e.output_count), job.presence);
        row[e.token] = l;
    }
}

// No top_k / top_p: candidates in id order, min_p against the best, then the draw. Each
// thread walks its contiguous range from the exclusive prefix of the per-thread masses;
// the first id whose cumulative passes u wins, else the last candidate.
__device__ void draw_unsorted(const float* row, int32_t vocab, const RowSampleJob& job, float best, Scratch& x,
                              RowSampleResult* out) {
    const double top = best;
    const double cut =
        job.min_p > 0.0f ? top + log(static_cast<double>(job.min_p < 1.0f ? job.min_p : 1.0f)) : -INFINITY;
    const double inv_temp = 1.0 / static_cast<double>(job.temperature);
    int32_t lo, hi;
    thread_chunk(vocab, lo, hi);
    double mass = 0.0;
    for (int32_t i = lo; i < hi; ++i) {
        const float v = row[i];
        if (v > -INFINITY && static_cast<double>(v) >= cut) mass += exp((static_cast<double>(v) - top) * inv_temp);
    }
    const Scan<double> prefix = block_scan(mass, x.d);
    const double u = job.uniform * prefix.total;
    double cumulative = prefix.exclusive;
    int32_t first = kNoId, last = -1;
    for (int32_t i = lo; i < hi; ++i) {
        const float v = row[i];
        if (!(v > -INFINITY && static_cast<double>(v) >= cut)) continue;
        last = i;
        if (first != kNoId) continue;
        cumulative += exp((static_cast<double>(v) - top) * inv_temp);
        if (u < cumulative) first = i;
    }
    first = block_reduce(first, x.i, MinOp{});
    last = block_reduce(last, x.j, MaxOp{});
    if (threadIdx.x == 0) {
        out->token = first != kNoId ? first : last;
        out->needs_host = 0;
    }
}

__global__ void __launch_bounds__(kRowThreads) choose_rows_kernel(SampleRowsArgs a) {
    __shared__ Sorted s;
    __shared__ Scratch x;
    __shared__ double probs[kMaxSortedCandidates];
    // One shared word per decision: a later write never races a slow thread's earlier read.
    __shared__ int s_nucleus;
    __shared__ int s_host;
    __shared__ int s_min_p_keep;
    const RowSampleJob& job = a.jobs[blockIdx.x];
    RowSampleResult* out = a.results + blockIdx.x;
    const float* row = job.processed ? job.processed : job.raw;
    const int32_t vocab = static_cast<int32_t>(a.vocab);
    const int tid = static_cast<int>(threadIdx.x);

    // The best candidate (above -inf, NaN never; +inf included), lowest id on ties, and how many.
    float best = -INFINITY;
    int32_t best_id = kNoId;
    int32_t count = 0;
    for (int32_t i = tid; i < vocab; i += kRowThreads) {
        const float v = row[i];
        if (v > -INFINITY) {
            ++count;
            if (v > best) {
                best = v;
                best_id = i;
            }
        }
    }
    block_best(best, best_id, x.f, x.i);
    const int32_t n_cand = block_reduce(count, x.j, SumOp{});
    // Greedy is TokenSampler::argmax; a +inf is certain (first one); nothing above -inf: 0.
    if (!(job.temperature > 0.0f) || best == INFINITY || n_cand == 0) {
        if (tid == 0) {
            out->token = n_cand > 0 ? best_id : 0;
            out->needs_host = 0;
        }
        return;
    }
    const bool k_active = job.top_k > 0 && job.top_k < n_cand;
    const bool p_active = job.top_p < 1.0f;
    if (!k_active && !p_active) {
        draw_unsorted(row, vocab, job, best, x, out);
        return;
    }
    if (k_active && job.top_k > kMaxSortedCandidates) {
        if (tid == 0) out->needs_host = 1;
        return;
    }
    // The sorted best m: the top_k set, or for top_p alone as much of the nucleus as fits.
    const int m = k_active ? job.top_k : (n_cand < kMaxSortedCandidates ? n_cand : kMaxSortedCandidates);
    select_sorted(row, vocab, m, false, s, x);
    int keep = m;
    if (p_active) {
        const double top = s.vals[0];
        for (int i = tid; i < m; i += kRowThreads) probs[i] = exp(static_cast<double>(s.vals[i]) - top);
        // The host's mass is over the top_k set, or over every candidate.
        const bool whole = k_active || m == n_cand;
        double total = 0.0;
        if (!whole) {
            double part = 0.0;
            for (int32_t i = tid; i < vocab; i += kRowThreads) {
                const float v = row[i];
                if (v > -INFINITY) part += exp(static_cast<double>(v) - top);
            }
            total = block_reduce(part, x.d, SumOp{});
        }
        __syncthreads();
        if (tid == 0) {
            double sum = total;
            if (whole) {
                sum = 0.0;
                for (int i = 0; i < m; ++i) sum += probs[i];
            }
            const double target = static_cast<double>(job.top_p > 0.0f ? job.top_p : 0.0f) * sum;
            double cumulative = 0.0;
            int kept = m;
            bool reached = false;
            for (int i = 0; i < m; ++i) {
                cumulative += probs[i];
                if (cumulative >= target) {
                    kept = i + 1;
                    reached = true;
                    break;
                }
            }
            s_nucleus = kept;
            s_host = !reached && !whole;  // the nucleus is wider than the sorted candidates
        }
        __syncthreads();
        if (s_host) {
            if (tid == 0) out->needs_host = 1;
            return;
        }
        keep = s_nucleus;
    }
    if (job.min_p > 0.0f) {
        // A prefix of the sorted list; the best always passes (log(min_p) <= 0).
        if (tid == 0) {
            const double cut =
                static_cast<double>(s.vals[0]) + log(static_cast<double>(job.min_p < 1.0f ? job.min_p : 1.0f));
            int kept = 0;
            while (kept < keep && static_cast<double>(s.vals[kept]) >= cut) ++kept;
            s_min_p_keep = kept > 1 ? kept : 1;
        }
        __syncthreads();
        keep = s_min_p_keep;
    }
    // Temperature, then the draw, in sorted order as on the host.
    const double top = s.vals[0];
    const double inv_temp = 1.0 / static_cast<double>(job.temperature);
    for (int i = tid; i < keep; i += kRowThreads) probs[i] = exp((static_cast<double>(s.vals[i]) - top) * inv_temp);
    __syncthreads();
    if (tid == 0) {
        double sum = 0.0;
        for (int i = 0; i < keep; ++i) sum += probs[i];
        const double u = job.uniform * sum;
        double cumulative = 0.0;
        int32_t token = s.ids[keep - 1];  // rounding left u just above the total
        for (int i = 0; i < keep; ++i) {
            cumulative += probs[i];
            if (u < cumulative) {
                token = s.ids[i];
                break;
            }
        }
        out->token = token;
        out->needs_host = 0;
    }
}

// compute_logprobs over the raw row: log_z = max + log(sum exp(l - max)) in double; the
// chosen token's log-probability and the best top_logprobs (NaN left out, -inf allowed).
__global__ void __launch_bounds__(kRowThreads) logprobs_rows_kernel(SampleRowsArgs a) {
    __shared__ Sorted s;
    __shared__ Scratch x;
    const RowSampleJob& job = a.jobs[blockIdx.x];
    RowSampleResult* out = a.results + blockIdx.x;
    if (!(job.logprobs || job.top_logprobs > 0) || out->needs_host) return;
    const float* row = job.raw;
    const int32_t vocab = static_cast<int32_t>(a.vocab);
    const int tid = static_cast<int>(threadIdx.x);

    float max_logit = -INFINITY;
    int32_t eligible = 0;
    for (int32_t i = tid; i < vocab; i += kRowThreads) {
        const float v = row[i];
        if (v > max_logit) max_logit = v;  // NaN skipped
        eligible += v == v;
    }
    max_logit = block_reduce(max_logit, x.f, MaxOp{});
    const int32_t n_eligible = block_reduce(eligible, x.i, SumOp{});
    double part = 0.0;
    for (int32_t i = tid; i < vocab; i += kRowThreads) {
        const float v = row[i];
        if (v > -INFINITY) part += exp(static_cast<double>(v) - static_cast<double>(max_logit));
    }
    const double sum = block_reduce(part, x.d, SumOp{});
    const double log_z = static_cast<double>(max_logit) + log(sum);
    const auto logprob = [log_z](float l) -> float {
        return l > -INFINITY ? static_cast<float>(static_cast<double>(l) - log_z) : -INFINITY;
    };
    const int32_t token = out->token;
    const int m = job.top_logprobs < n_eligible ? job.top_logprobs : n_eligible;
    if (m > 0) select_sorted(row, vocab, m, true, s, x);
    if (tid < m) {
        out->top_ids[tid] = s.ids[tid];
        out->top_logprobs[tid] = logprob(s.vals[tid]);
    }
    if (tid == 0) {
        out->logprob = token >= 0 && token < vocab ? logprob(row[token]) : 0.0f;
        out->n_top = m > 0 ? m : 0;
    }
}

}  // namespace

cudaError_t launch_sample_rows(const SampleRowsArgs& a, cudaStream_t stream) {
    if (a.n_jobs == 0) return cudaSuccess;
    if (!a.jobs || !a.results || a.n_jobs < 0 || a.vocab <= 0 || a.vocab > INT32_MAX) return cudaErrorInvalidValue;
    const unsigned int grid = static_cast<unsigned int>(a.n_jobs);
    if (a.any_processed) {
        PAGODA_LAUNCH(grid, kRowThreads, 0, stream, process_rows_kernel)(a);
        if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) return err;
    }
    PAGODA_LAUNCH(grid, kRowThreads, 0, stream, choose_rows_kernel)(a);
    if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) return err;
    if (a.any_logprobs) {
        PAGODA_LAUNCH(grid, kRowThreads, 0, stream, logprobs_rows_kernel)(a);
        if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) return err;
    }
    return cudaSuccess;
}

}  // namespace pagoda::cuda
