#!/usr/bin/env bash
# Starts `pagoda serve` on a free loopback port with MODEL, runs serving_bench.mjs at each
# concurrency (default 1 8 32), and stops the server. Extra serve flags via SERVE_ARGS,
# extra benchmark flags via BENCH_ARGS.
#   bench/serving/run_serving_bench.sh build/bin/pagoda model.gguf [1 8 32]
# A TinyLlama-shaped Q4_0 model with random weights:
#   build/bin/pagoda-make-test-model --arch llama --type q4_0 --dim 2048 --layers 22 --ffn 5632 \
#       --heads 32 --kv-heads 4 --vocab 32000 --ctx 2048 tinyllama-q4_0.gguf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pagoda=${1:?usage: run_serving_bench.sh PAGODA MODEL [CONCURRENCY...]}
model=${2:?usage: run_serving_bench.sh PAGODA MODEL [CONCURRENCY...]}
shift 2
levels=("$@")
[[ ${#levels[@]} -eq 0 ]] && levels=(1 8 32)
max_level=1
for c in "${levels[@]}"; do ((c > max_level)) && max_level=$c; done

log=$(mktemp)
# shellcheck disable=SC2086
# --cache off: the workload is greedy and seeded, so a response cache would answer repeats
# (bench/serving/cache_latency.sh measures the cache itself).
"$pagoda" serve --model "$model" --port 0 --parallel "$max_level" --cache off ${SERVE_ARGS:-} 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 600); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | sed 's/.*://' || true)
    [[ -n $port ]] && break
    kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
[[ -n $port ]] || { echo "pagoda serve did not start" >&2; cat "$log" >&2; exit 1; }
name=$(basename "$model" .gguf)
for c in "${levels[@]}"; do
    # shellcheck disable=SC2086
    node "$here/serving_bench.mjs" --base-url "http://127.0.0.1:$port" --model "$name" --concurrency "$c" \
        --num-prompts $((c * 4 > 16 ? c * 4 : 16)) ${BENCH_ARGS:-}
done
