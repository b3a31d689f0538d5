#!/usr/bin/env bash
# GPU figures beside the peers, on the machine with the GPU (issue 7's benchmark):
#  - llama.cpp's CUDA build (llama-bench) and `pagoda bench --device cuda` on the SAME
#    GGUF file: a Llama-3-8B-shaped body (dim 4096, ffn 14336, 32/8 heads) with LAYERS
#    layers and a 32000-token vocabulary (the test-model writer's limit), random weights,
#    written here by pagoda-make-test-model, for each TYPES entry;
#  - Hugging Face transformers' generate() in BF16 on the full Llama-3-8B shape
#    (bench/gpu/transformers_bench.py), beside pagoda-gpu-bench's figures for that shape.
#
# usage: bench/gpu/compare_peers.sh BIN_DIR [LLAMA_BENCH]
#   BIN_DIR      folder with pagoda, pagoda-make-test-model (and pagoda-gpu-bench)
#   LLAMA_BENCH  llama.cpp's llama-bench built with -DGGML_CUDA=ON (skipped when absent)
# environment: LAYERS [8], TYPES ["q4_0 f16"], PP [512], TG [128], REPS [3], WORK [/tmp/pagoda-peers],
#              HF_BATCHES ["1 8"] (empty: skip transformers)
set -uo pipefail
bin=$(cd "${1:?usage: compare_peers.sh BIN_DIR [LLAMA_BENCH]}" && pwd)
llama_bench=${2:-}
layers=${LAYERS:-8}
types=${TYPES:-"q4_0 f16"}
pp=${PP:-512}
tg=${TG:-128}
reps=${REPS:-3}
work=${WORK:-/tmp/pagoda-peers}
hf_batches=${HF_BATCHES-"1 8"}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

# Each prints "pp tg" tokens/s read from the tool's JSON output.
pagoda_tps() {
    "$bin/pagoda" bench --model "$1" -p "$pp" -n "$tg" --reps "$reps" --device cuda --json 2>"$work/pagoda_bench.err" |
        python3 -c 'import json,sys
d=json.load(sys.stdin)
print("%.1f %.1f" % (d["pp"]["tokens_per_second"], d["tg"]["tokens_per_second"]))'
}
llama_tps() {
    "$llama_bench" -m "$1" -p "$pp" -n "$tg" -r "$reps" -ngl 99 -o json 2>"$work/llama_bench.err" |
        python3 -c 'import json,sys
t=json.load(sys.stdin)
pp=[x for x in t if x["n_prompt"]>0]; tg=[x for x in t if x["n_gen"]>0]
print("%.1f %.1f" % (pp[0]["avg_ts"], tg[0]["avg_ts"]))'
}

echo "# same GGUF on both: Llama-3-8B body, $layers layers, vocab 32000, random weights; pp$pp / tg$tg, $reps reps"
printf '%-6s | %-12s | %-12s | %-8s | %-12s | %-12s | %-8s\n' type "pagoda pp" "llama pp" ratio "pagoda tg" "llama tg" ratio
for type in $types; do
    model=$work/llama8b-body-$layers-$type.gguf
    [[ -f $model ]] || "$bin/pagoda-make-test-model" --type "$type" --dim 4096 --layers "$layers" --ffn 14336 \
        --heads 32 --kv-heads 8 --vocab 32000 --ctx 4096 "$model" || { echo "$type: model not written"; continue; }
    read -r p_pp p_tg < <(pagoda_tps "$model" || echo "nan nan")
    l_pp=nan l_tg=nan
    [[ -n "$llama_bench" && -x "$llama_bench" ]] && read -r l_pp l_tg < <(llama_tps "$model" || echo "nan nan")
    python3 - "$type" "$p_pp" "$l_pp" "$p_tg" "$l_tg" <<'PY'
import sys
t, p_pp, l_pp, p_tg, l_tg = sys.argv[1], *map(float, sys.argv[2:])
r = lambda a, b: f"{a / b:.2f}x" if b == b and b > 0 and a == a else "n/a"
print(f"{t:<6} | {p_pp:<12.1f} | {l_pp:<12.1f} | {r(p_pp, l_pp):<8} | {p_tg:<12.1f} | {l_tg:<12.1f} | {r(p_tg, l_tg):<8}")
PY
done
[[ -s $work/pagoda_bench.err ]] && tail -3 "$work/pagoda_bench.err"
[[ -s $work/llama_bench.err ]] && grep -m3 -iE 'error|cuda' "$work/llama_bench.err"

if [[ -n "$hf_batches" ]]; then
    echo "# full Llama-3-8B shape, ctx 512, 64 new tokens: transformers BF16 generate() vs pagoda-gpu-bench F16"
    # shellcheck disable=SC2086
    python3 "$here/transformers_bench.py" --batch $hf_batches --ctx 512 --tokens 64
    if [[ -x $bin/pagoda-gpu-bench ]]; then
        for b in $hf_batches; do
            "$bin/pagoda-gpu-bench" --type f16 --batch "$b" --ctx 512 --tokens 64 2>&1 | grep '^RESULT'
        done
    fi
fi
