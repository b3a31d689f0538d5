#!/usr/bin/env bash
# Response-cache hit latency against a fresh generation: starts `pagoda serve` on a free
# loopback port with MODEL and a throwaway cache (SQLite by default; CACHE=redis://... for
# Redis), runs cache_latency.mjs (each prompt twice: miss, then hit), stops the server.
#   bench/serving/cache_latency.sh build/bin/pagoda model.gguf [REQUESTS] [MAX_TOKENS]
# Extra serve flags via SERVE_ARGS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pagoda=${1:?usage: cache_latency.sh PAGODA MODEL [REQUESTS] [MAX_TOKENS]}
model=${2:?usage: cache_latency.sh PAGODA MODEL [REQUESTS] [MAX_TOKENS]}
requests=${3:-20}
max_tokens=${4:-64}

tmp=$(mktemp -d)
cache=${CACHE:-sqlite:$tmp/cache.db}
log=$tmp/serve.log
# shellcheck disable=SC2086
"$pagoda" serve --model "$model" --port 0 --cache "$cache" ${SERVE_ARGS:-} 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=""
for _ in $(seq 1 600); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | sed 's/.*://' || true)
    [[ -n $port ]] && break
    kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
[[ -n $port ]] || { echo "pagoda serve did not start" >&2; cat "$log" >&2; exit 1; }
grep 'response cache' "$log" >&2 || true
node "$here/cache_latency.mjs" --base-url "http://127.0.0.1:$port" --model "$(basename "$model" .gguf)" \
    --requests "$requests" --max-tokens "$max_tokens"
