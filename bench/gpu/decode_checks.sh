#!/usr/bin/env bash
# GPU checks for the decode-speed work, as one call on the device machine:
#   bench/gpu/decode_checks.sh [BUILD_DIR]     (default build-cudaperf)
# 1. parity: every CUDA-vs-CPU case (new matmul paths, graph replay in the matmul and
#    model cases), then the model cases again with graphs off;
# 2. where decode time goes (--profile: graphs off, events around each op);
# 3. decode speed with graphs on and off, per weight type and batch;
# 4. batch-1 rows per mmvq block (PAGODA_MMVQ_ROWS) A/B; greedy tokens picked on the GPU
#    vs all logits read back (--host-sampling) at batch 128;
# 5. `pagoda bench --concurrency` through the engine on an 8-layer Llama-3-8B body.
# Full logs go to $OUT (or /tmp) as decode_checks.log; the RESULT/PROFILE lines are
# printed again at the end as the summary.
set -u
# Graphs are opt-in in the backend until verified on a GPU; these checks are that verification.
export PAGODA_CUDA_GRAPHS=1
B=${1:-build-cudaperf}/bin
LOG=${OUT:-/tmp}/decode_checks.log
: >"$LOG"
run() {
    echo "=== $*" | tee -a "$LOG"
    timeout "${LIMIT:-240}" "$@" >>"$LOG" 2>&1
    echo "=== exit $?" | tee -a "$LOG"
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,memory.used --format=csv >>"$LOG" 2>&1
LIMIT=420 run "$B/pagoda-gpu-selftest"
run env PAGODA_CUDA_GRAPHS=0 "$B/pagoda-gpu-selftest" --filter Model_,GraphDecode
run "$B/pagoda-gpu-bench" --type q4_0 --profile --tokens 32
run "$B/pagoda-gpu-bench" --type q4_0
run "$B/pagoda-gpu-bench" --type q4_0 --no-graphs
run env PAGODA_MMVQ_ROWS=1 "$B/pagoda-gpu-bench" --type q4_0
run env PAGODA_MMVQ_ROWS=4 "$B/pagoda-gpu-bench" --type q4_0
run "$B/pagoda-gpu-bench" --type q4_k
run "$B/pagoda-gpu-bench" --type f16
run "$B/pagoda-gpu-bench" --type f16 --profile --tokens 16
run "$B/pagoda-gpu-bench" --type q4_0 --batch 8
run "$B/pagoda-gpu-bench" --type q4_0 --batch 32 --tokens 32
run "$B/pagoda-gpu-bench" --type q4_0 --batch 128 --tokens 16 --profile
run "$B/pagoda-gpu-bench" --type q4_0 --batch 128 --tokens 16
run "$B/pagoda-gpu-bench" --type q4_0 --batch 128 --tokens 16 --host-sampling
run "$B/pagoda-gpu-bench" --type q4_0 --batch 256 --tokens 16
M8=/tmp/pagoda-peers/llama8b-body-8-q4_0.gguf; [[ -f $M8 ]] || { mkdir -p /tmp/pagoda-peers && "$B/pagoda-make-test-model" --type q4_0 --dim 4096 --layers 8 --ffn 14336 --heads 32 --kv-heads 8 --vocab 32000 --ctx 4096 "$M8" >>"$LOG" 2>&1; }
LIMIT=420 run "$B/pagoda" bench --model "$M8" --device cuda --concurrency 1,8,32,128,256 -p 512 -n 256 --kv-memory 0.9
echo "---- summary"
grep -E "^(=== |RESULT|PROFILE|bench: graphs|FAIL|SUMMARY|pagoda: CUDA graphs|\\|)" "$LOG"
