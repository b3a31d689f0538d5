#!/usr/bin/env bash
# A GPU session for the CUDA backend in as few device calls as possible: everything is
# compiled on the development machine (the CUDA toolkit compiles without a GPU) and the
# GPU machine only runs.
#
#   scripts/gpu_session.sh pack    here: build the binaries for sm_90, llama.cpp's CUDA
#                                  llama-bench if built (LLAMA_BENCH=path), and pack them
#                                  with the build-free dependencies into .devcarry/
#   scripts/gpu_session.sh check   there (call 1, ~5 min on an H100): scripts/gpu_check.sh on
#                                  the carried binaries (parity selftest, gtest gpu suite,
#                                  compute-sanitizer, CLI end to end), then
#                                  bench/gpu/decode_checks.sh (graphs, profiles, decode speed
#                                  per type and batch, device vs host sampling, concurrency)
#   scripts/gpu_session.sh peers   there (call 2, ~5 min): bench/gpu/compare_peers.sh, the same
#                                  GGUF on llama.cpp's CUDA build and on Pagoda, and HF
#                                  transformers' generate() in BF16
#
# On the device: run with carry [".devcarry"]; logs land in $OUT. The carry limit is
# 64 MiB: pack says how much it packed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
CARRY=$ROOT/.devcarry
BUILD=${PAGODA_GPU_BUILD_DIR:-build-devgpu}
TARGETS=(pagoda pagoda-gpu-selftest pagoda-gpu-bench pagoda_gpu_tests pagoda-make-test-model pagoda-lora-bench)

device_env() {
    # The carried libraries come last: only for what the machine lacks (gpu_check.sh --prepare).
    export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}:$CARRY/gpu-deps/root/usr/lib/x86_64-linux-gnu
    export OUT=${OUT:-$ROOT/gpu-session-out}
    mkdir -p "$OUT"
    if [[ ! -x $CARRY/bin/pagoda ]]; then
        tar -xJf "$CARRY/bin.tar.xz" -C "$CARRY" || { echo "gpu_session: no $CARRY/bin.tar.xz (run pack here first)"; exit 1; }
        chmod +x "$CARRY"/bin/*
    fi
    if [[ -f $CARRY/llama-bench.xz && ! -x $CARRY/llama/llama-bench ]]; then
        mkdir -p "$CARRY/llama"
        xz -dc "$CARRY/llama-bench.xz" >"$CARRY/llama/llama-bench" && chmod +x "$CARRY/llama/llama-bench"
    fi
    nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.max.sm --format=csv 2>&1 | tee "$OUT/gpu.txt"
}

case "${1:-}" in
pack)
    if [[ ! -f $BUILD/CMakeCache.txt ]]; then
        cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPAGODA_BUILD_GUI=OFF -DPAGODA_BUILD_SERVER=OFF \
            -DPAGODA_CUDA=ON -DPAGODA_CUDA_ARCHITECTURES=90 -DPAGODA_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3 \
            -DPAGODA_BUILD_TESTS=ON || exit 1
    fi
    cmake --build "$BUILD" -j "${JOBS:-2}" --target "${TARGETS[@]}" || exit 1
    ./scripts/gpu_check.sh --prepare || exit 1
    staging=$(mktemp -d)
    trap 'rm -rf "$staging"' EXIT
    mkdir "$staging/bin"
    for t in "${TARGETS[@]}"; do cp "$BUILD/bin/$t" "$staging/bin/"; done
    strip "$staging"/bin/*
    rm -rf "$CARRY/bin"
    tar -cJf "$CARRY/bin.tar.xz" -C "$staging" bin
    rm -f "$CARRY/llama-bench.xz"
    if [[ -n "${LLAMA_BENCH:-}" ]]; then
        cp "$LLAMA_BENCH" "$staging/llama-bench" && strip "$staging/llama-bench" &&
            xz -9 -T2 -c "$staging/llama-bench" >"$CARRY/llama-bench.xz"
        # llama.cpp's CPU part uses OpenMP, which a GPU image may not have.
        cp -L /usr/lib/x86_64-linux-gnu/libgomp.so.1 "$CARRY/gpu-deps/root/usr/lib/x86_64-linux-gnu/" 2>/dev/null
    fi
    rm -f "$CARRY/llama-src.tar.xz"  # the prebuilt llama-bench replaces building it there
    du -sh "$CARRY" "$CARRY"/* | sort -h
    size=$(du -sm "$CARRY" | cut -f1)
    ((size < 64)) || echo "gpu_session: WARNING: .devcarry is ${size} MiB, over the 64 MiB carry limit"
    echo "gpu_session: packed; on the device run 'scripts/gpu_session.sh check' with carry [\".devcarry\"]"
    ;;
check)
    device_env
    ./scripts/gpu_check.sh --prebuilt "$CARRY/bin"
    LIMIT=${LIMIT:-240} bench/gpu/decode_checks.sh "$CARRY"
    ;;
peers)
    device_env
    llama=""
    [[ -x $CARRY/llama/llama-bench ]] && llama=$CARRY/llama/llama-bench
    bench/gpu/compare_peers.sh "$CARRY/bin" $llama 2>&1 | tee "$OUT/peers.log"
    ;;
*)
    sed -n '2,21p' "$0"
    exit 2
    ;;
esac
