#!/usr/bin/env bash
# Runs the same pp/tg measurement through Pagoda (`pagoda bench`) and llama.cpp
# (node-llama-cpp, bench/llama_cpp_bench.mjs), one after the other, and prints them side
# by side with the ratio pagoda / llama.cpp (> 1: Pagoda is faster).
#
# usage: bench/compare.sh MODEL.gguf [THREADS]
# environment: P (prompt tokens, 512), N (generated tokens, 128), REPS (3),
#              PAGODA (path to the pagoda binary, default build/bin/pagoda),
#              PAGODA_PEERS_DIR (node-llama-cpp's folder, default tests/peers)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if [[ $# -lt 1 || $# -gt 2 ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
model=$1
threads=${2:-2}
P=${P:-512}
N=${N:-128}
REPS=${REPS:-3}
PAGODA=${PAGODA:-$root/build/bin/pagoda}
[[ -f "$model" ]] || { echo "compare.sh: no such model: $model" >&2; exit 1; }
[[ -x "$PAGODA" ]] || { echo "compare.sh: pagoda binary not found at $PAGODA (set PAGODA=...)" >&2; exit 1; }

echo "model $model, $threads threads, pp$P / tg$N, $REPS reps" >&2
echo "running pagoda bench ..." >&2
pagoda_json=$("$PAGODA" bench --model "$model" --threads "$threads" -p "$P" -n "$N" --reps "$REPS" --json)
echo "running llama.cpp (node-llama-cpp) ..." >&2
llama_json=$(node "$here/llama_cpp_bench.mjs" --model "$model" --threads "$threads" -p "$P" -n "$N" \
    --reps "$REPS" --json)

node - "$pagoda_json" "$llama_json" <<'JS'
const [pg, lc] = process.argv.slice(2).map((s) => JSON.parse(s));
const row = (test, a, b) => {
    const fmt = (s) => s ? `${s.tokens_per_second.toFixed(2)} ± ${s.stddev.toFixed(2)}` : "-";
    const ratio = a && b ? (a.tokens_per_second / b.tokens_per_second).toFixed(3) : "-";
    console.log(`| ${test.padEnd(7)} | ${fmt(a).padStart(20)} | ${fmt(b).padStart(20)} | ${ratio.padStart(16)} |`);
};
console.log(`pagoda:    ${pg.backend}`);
console.log(`llama.cpp: ${lc.engine}, ${lc.threads} threads`);
console.log(`| test    |     pagoda tokens/s  |  llama.cpp tokens/s  | pagoda/llama.cpp |`);
console.log(`| ------- | -------------------- | -------------------- | ---------------- |`);
if (pg.n_prompt > 0) row(`pp${pg.n_prompt}`, pg.pp, lc.pp);
if (pg.n_gen > 0) row(`tg${pg.n_gen}`, pg.tg, lc.tg);
JS
