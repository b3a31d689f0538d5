#!/usr/bin/env bash
# Smoke test of the benchmark tooling (not a speed test): `pagoda bench` and
# bench/llama_cpp_bench.mjs run on a small random model through bench/compare.sh, and the
# side-by-side table has a ratio for both pp and tg.
# usage: bench_smoke.sh PAGODA MAKE_MODEL WORK_DIR
set -euo pipefail
pagoda=$1 make_model=$2 work=$3
root=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$work"
model=$work/bench_smoke.gguf
"$make_model" --arch llama --type q4_0 --seed 7 "$model"
out=$(P=32 N=4 REPS=2 PAGODA="$pagoda" "$root/bench/compare.sh" "$model" 1)
echo "$out"
grep -Eq '^\| pp32 +\| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+ \|$' <<<"$out"
grep -Eq '^\| tg4 +\| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+ \|$' <<<"$out"
# --json is one object with both series.
"$pagoda" bench --model "$model" -t 1 -p 8 -n 2 -r 1 --json | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    if (!(r.pp.tokens_per_second > 0 && r.tg.tokens_per_second > 0 && r.pp.samples.length === 1)) process.exit(1);'
# A missing model is a clean error, not a crash.
if "$pagoda" bench --model "$work/missing.gguf" -r 1 2>/dev/null; then exit 1; fi
echo "bench smoke: ok"
