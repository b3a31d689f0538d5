#!/usr/bin/env bash
# Request throughput of 1, 2 and 3 `pagoda serve` replicas behind nginx (installer/nginx/
# pagoda.conf, its upstream rewritten to N replicas), plus 1 replica without nginx to show
# the proxy's own cost. Everything on loopback; nginx runs as a plain child process with its
# own prefix in a temp dir (never the system service). The load is serving_bench.mjs
# (streamed /v1/completions, no session header, so nginx spreads requests round robin).
#   bench/serving/replicas.sh [PAGODA] [MODEL]
#   defaults: build/bin/pagoda and ../shared/models/stories260K.gguf
#   env: REPLICAS="1 2 3"  CONCURRENCY=24  NUM_PROMPTS=192  SERVE_ARGS="--threads 1 --parallel 16"
#        BENCH_ARGS="--input-len 64 --output-len 64"  NGINX=/usr/sbin/nginx
# A figure, not a test: on a machine with few cores the replicas share the same CPUs and
# little gain is to be expected; on one GPU per replica (or one machine each) it scales.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pagoda=${1:-$root/build/bin/pagoda}
model=${2:-$root/../shared/models/stories260K.gguf}
replicas=${REPLICAS:-1 2 3}
concurrency=${CONCURRENCY:-24}
num_prompts=${NUM_PROMPTS:-192}
serve_args=${SERVE_ARGS:---threads 1 --parallel 16}
bench_args=${BENCH_ARGS:---input-len 64 --output-len 64}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[[ -x $pagoda ]] || { echo "replicas.sh: no pagoda binary at $pagoda" >&2; exit 2; }
[[ -f $model ]] || { echo "replicas.sh: no model at $model" >&2; exit 2; }
[[ -x $nginx ]] || { echo "replicas.sh: nginx is not installed (apt-get install nginx)" >&2; exit 2; }
name=$(basename "$model" .gguf)
# The load is greedy and seeded, so a response cache would answer repeats without the engine.
if "$pagoda" serve --help 2>&1 | grep -q -- '--cache '; then serve_args+=" --cache off"; fi

work=$(mktemp -d /tmp/pagoda-replicas-XXXXXX)
chmod 755 "$work"
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

free_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    return 1
}

# Starts replica $1 (its id); sets $rport once it is ready. (Not called in $(...): the pid
# must land in this shell's list.)
start_replica() {
    local log="$work/$1.log" port=""
    # shellcheck disable=SC2086
    "$pagoda" serve --model "$model" --port 0 --replica-id "$1" $serve_args 2>"$log" &
    pids+=($!)
    for _ in $(seq 1 600); do
        port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | sed 's/.*://' || true)
        [[ -n $port ]] && { rport=$port; return; }
        sleep 0.1
    done
    echo "replica $1 did not start:" >&2
    cat "$log" >&2
    return 1
}

# Starts nginx in front of the given replica ports; sets $nport.
start_nginx() {
    local port servers="" p
    port=$(free_port)
    for p in "$@"; do servers+="    server 127.0.0.1:$p max_fails=1 fail_timeout=3s;\n"; done
    # The shipped config with its three example replicas replaced by ours.
    awk -v servers="$servers" -v listen="listen 127.0.0.1:$port;" '
        /^ *server 127\.0\.0\.1:808[0-9] / { if (!done) { printf "%s", servers; done = 1 } next }
        /^ *listen 8080;/ { sub(/listen 8080;/, listen) }
        { print }' "$root/installer/nginx/pagoda.conf" >"$work/pagoda.conf"
    mkdir -p "$work"/{body,proxy,fastcgi,uwsgi,scgi}
    cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/pagoda.conf;
}
CONF
    "$nginx" -p "$work/" -c "$work/nginx.conf" -e "$work/error.log" 2>>"$work/error.log" &
    pids+=($!)
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then nport=$port; return; fi
        sleep 0.1
    done
    echo "nginx did not start:" >&2
    cat "$work/error.log" >&2
    return 1
}

# Runs the load against port $1; prints "req/s tok/s ttft_p50_ms failed".
load() {
    # shellcheck disable=SC2086
    node "$here/serving_bench.mjs" --base-url "http://127.0.0.1:$1" --model "$name" --concurrency "$concurrency" \
        --num-prompts "$num_prompts" $bench_args --json 1 |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
            console.log(j.request_throughput.toFixed(2), j.output_throughput.toFixed(1), j.ttft_ms.p50.toFixed(1), j.failed)})'
}

echo "replicas.sh: $name, concurrency $concurrency, $num_prompts requests, serve: $serve_args, bench: $bench_args" >&2
echo "machine: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rows=()

start_replica direct
load "$rport" >/dev/null  # warm-up (page cache, CPU frequency), not reported
read -r rps tps ttft failed < <(load "$rport")
rows+=("1 (no nginx)|$rps|$tps|$ttft|$failed")
stop_all

for n in $replicas; do
    ports=()
    for i in $(seq 1 "$n"); do
        start_replica "r$i"
        ports+=("$rport")
    done
    start_nginx "${ports[@]}"
    read -r rps tps ttft failed < <(load "$nport")
    rows+=("$n behind nginx|$rps|$tps|$ttft|$failed")
    stop_all
done

printf '%-16s %12s %14s %14s %8s\n' "replicas" "req/s" "output tok/s" "TTFT p50 ms" "failed"
for r in "${rows[@]}"; do
    IFS='|' read -r a b c d e <<<"$r"
    printf '%-16s %12s %14s %14s %8s\n' "$a" "$b" "$c" "$d" "$e"
done
