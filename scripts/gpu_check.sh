#!/usr/bin/env bash
# GPU check of the CUDA backend, run on a machine with an NVIDIA GPU from the repo root:
#   ./scripts/gpu_check.sh
# Builds the CUDA backend for sm_90 into build-gpu, then runs: the CUDA-vs-CPU parity
# selftest (no GoogleTest needed), the gtest suite when GoogleTest is installed,
# compute-sanitizer memcheck and racecheck on a reduced selftest, the CLI end to end on
# stories260K, and the decode benchmark of a Llama-3-8B-shaped model (Q4_0 and F16)
# against the memory-bandwidth roofline.
#
# Fail-soft: every step runs under a time limit and the script goes on when one fails;
# a summary comes last. Logs go to $OUT (default ./gpu-check-out), at most 8 files.
# Environment: OUT, PAGODA_SHARED_DIR (folder holding models/stories260K.gguf; also
# looked for in ./shared, ../shared, ./.devcarry/shared, ./.devcarry), JOBS.
# Sized to finish in under 8 minutes on an H100.
#
# The GPU machine may lack the engine's build dependencies (pkg-config, PCRE2, nlohmann
# json, SQLite, GoogleTest) and has no package registry. On a development machine that
# has them, run first
#   ./scripts/gpu_check.sh --prepare
# which copies those packages' installed files and stories260K.gguf into .devcarry/
# (git-ignored, ~15 MB); carry .devcarry to the GPU machine, where this script uses the
# copies only for what the machine itself lacks.
#
# To spend no GPU time on compiling, build the same targets on the development machine
# (the CUDA toolkit compiles without a GPU), copy build/bin into .devcarry/bin, and run
#   ./scripts/gpu_check.sh --prebuilt .devcarry/bin
# which skips the build step (use -DPAGODA_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3
# so the binaries run on the GPU machine's CPU).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
DEPS=$ROOT/.devcarry/gpu-deps/root
DEP_PACKAGES=(libpcre2-dev libpcre2-8-0 nlohmann-json3-dev libsqlite3-dev libsqlite3-0 libgtest-dev
    libcpp-httplib-dev libcpp-httplib0.11 libssl-dev zlib1g-dev libbrotli-dev libbrotli1
    pkgconf pkgconf-bin libpkgconf3 pkg-config)

if [[ "${1:-}" == "--prepare" ]]; then
    rm -rf "$ROOT/.devcarry/gpu-deps"
    mkdir -p "$DEPS" "$ROOT/.devcarry/shared/models"
    for pkg in "${DEP_PACKAGES[@]}"; do
        if ! dpkg -L "$pkg" >/dev/null 2>&1; then
            echo "gpu_check --prepare: package $pkg is not installed here; skipped" >&2
            continue
        fi
        # Headers, shared libraries, pkg-config and CMake files; static archives only for GoogleTest.
        dpkg -L "$pkg" | grep -v -E '^/usr/share/(doc|man|lintian|bash-completion)' |
            grep -v -E '/lib(ssl|crypto|pcre2-[0-9a-z]+|sqlite3|z|brotli[a-z]*)\.a$' | while read -r f; do
            if [[ -L "$f" || -f "$f" ]]; then cp -a --parents "$f" "$DEPS/"; fi
        done
    done
    for d in "${PAGODA_SHARED_DIR:-}" "$ROOT/../shared" "$ROOT/shared"; do
        if [[ -n "$d" && -f "$d/models/stories260K.gguf" ]]; then
            cp "$d/models/stories260K.gguf" "$ROOT/.devcarry/shared/models/"
            break
        fi
    done
    du -sh "$ROOT/.devcarry"
    echo "gpu_check --prepare: done; carry .devcarry to the GPU machine"
    exit 0
fi

PREBUILT=""
if [[ "${1:-}" == "--prebuilt" ]]; then
    PREBUILT=$(cd "${2:?--prebuilt needs a folder}" && pwd) || exit 1
fi

OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
SUMMARY=$OUT/summary.txt
: >"$LOG"
: >"$SUMMARY"
exec > >(tee -a "$LOG") 2>&1
BUILD=${PAGODA_GPU_BUILD_DIR:-build-gpu}
JOBS=${JOBS:-$(nproc)}
T0=$(date +%s)
RESULTS=()

elapsed() { echo $(($(date +%s) - T0)); }
note() { echo "[gpu_check +$(elapsed)s] $*"; }
record() {  # record STATUS NAME DETAIL
    RESULTS+=("$(printf '%-5s %-22s %s' "$1" "$2" "$3")")
    note "$1 $2 $3"
}
# run_step NAME LIMIT_S LOGFILE CMD...: runs CMD with a time limit, output to the console and LOGFILE.
run_step() {
    local name=$1 limit=$2 logfile=$3
    shift 3
    local s0 rc
    s0=$(date +%s)
    note "== $name (limit ${limit}s): $*"
    timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$logfile"
    rc=${PIPESTATUS[0]}
    LAST_RC=$rc
    LAST_SECS=$(($(date +%s) - s0))
    return "$rc"
}

note "repo $ROOT, logs in $OUT"
# ---- 0. environment ------------------------------------------------------------------
{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 || echo "nvidia-smi failed"
    command -v nvcc >/dev/null && nvcc --version | tail -2
    /usr/local/cuda/bin/nvcc --version 2>/dev/null | tail -1
    cmake --version | head -1
    command -v ninja >/dev/null && echo "ninja $(ninja --version)"
    echo "cores: $(nproc)"
} 2>&1
# Build dependencies the machine lacks come from the carried copies (see --prepare).
EXTRA_CMAKE=()
need_deps=""
command -v pkg-config >/dev/null && pkg-config --exists libpcre2-8 2>/dev/null || need_deps+=" pcre2/pkg-config"
[[ -f /usr/include/nlohmann/json.hpp || -f /usr/local/include/nlohmann/json.hpp ]] || need_deps+=" nlohmann-json"
[[ -f /usr/include/sqlite3.h || -f /usr/local/include/sqlite3.h ]] || need_deps+=" sqlite3"
command -v pkg-config >/dev/null && pkg-config --exists cpp-httplib 2>/dev/null || need_deps+=" cpp-httplib"
if [[ -n "$need_deps" ]]; then
    if [[ -d "$DEPS/usr" ]]; then
        note "missing on this machine:$need_deps; using the carried copies in $DEPS"
        export PATH="$PATH:$DEPS/usr/bin"
        export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$DEPS/usr/lib/x86_64-linux-gnu"
        export PKG_CONFIG_PATH="$DEPS/usr/lib/x86_64-linux-gnu/pkgconfig:$DEPS/usr/share/pkgconfig"
        export PKG_CONFIG_SYSROOT_DIR="$DEPS"
        EXTRA_CMAKE+=(-DCMAKE_PREFIX_PATH="$DEPS/usr" -DCMAKE_INCLUDE_PATH="$DEPS/usr/include"
            -DCMAKE_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu")
        command -v pkg-config >/dev/null || EXTRA_CMAKE+=(-DPKG_CONFIG_EXECUTABLE="$DEPS/usr/bin/pkgconf")
    else
        note "missing on this machine:$need_deps and no carried copies (run --prepare and carry .devcarry)"
    fi
fi
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
HAVE_GTEST=OFF
if [[ -d /usr/include/gtest || -d /usr/local/include/gtest ]]; then
    for lib in /usr/lib/*/libgtest.a /usr/lib/libgtest.a /usr/local/lib/libgtest.a /usr/local/lib64/libgtest.a; do
        [[ -f $lib ]] && HAVE_GTEST=ON
    done
elif [[ -f "$DEPS/usr/lib/x86_64-linux-gnu/libgtest.a" && -d "$DEPS/usr/include/gtest" ]]; then
    HAVE_GTEST=ON
    [[ " ${EXTRA_CMAKE[*]} " == *CMAKE_PREFIX_PATH* ]] || EXTRA_CMAKE+=(-DCMAKE_PREFIX_PATH="$DEPS/usr")
fi
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)
SHARED=""
for d in "${PAGODA_SHARED_DIR:-}" "$ROOT/shared" "$ROOT/../shared" "$ROOT/.devcarry/shared"; do
    if [[ -n "$d" && -f "$d/models/stories260K.gguf" ]]; then
        SHARED=$(cd "$d" && pwd)
        break
    fi
done
[[ -n "$SHARED" ]] && export PAGODA_SHARED_DIR=$SHARED
note "GoogleTest: $HAVE_GTEST; compute-sanitizer: ${SANITIZER:-none}; shared data: ${SHARED:-none}"

# ---- 1. configure + build ----------------------------------------------------------------
BUILD_LOG=$OUT/build.log
if [[ -n "$PREBUILT" ]]; then
    BIN=$PREBUILT
    HAVE_GTEST=OFF
    [[ -x $BIN/pagoda_gpu_tests ]] && HAVE_GTEST=ON
    # Libraries the binaries were linked against that this machine lacks come from the copies.
    export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$DEPS/usr/lib/x86_64-linux-gnu"
    missing=$(ldd "$BIN"/* 2>/dev/null | grep 'not found' | sort -u | tr '\n' ' ')
    if [[ -z "$missing" ]]; then
        record PASS build "prebuilt binaries in $BIN"
    else
        record FAIL build "prebuilt binaries miss: $missing"
    fi
else
: >"$BUILD_LOG"
CONFIGURE=(cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPAGODA_BUILD_GUI=OFF
    -DPAGODA_CUDA_ARCHITECTURES=90 -DPAGODA_NATIVE=ON "${EXTRA_CMAKE[@]}")
# The HTTP server needs Debian's compiled cpp-httplib (with OpenSSL), which GPU machines lack.
pkg-config --exists cpp-httplib 2>/dev/null || CONFIGURE+=(-DPAGODA_BUILD_SERVER=OFF)
[[ -f "$BUILD/CMakeCache.txt" ]] || CONFIGURE+=("${GEN[@]}")
if run_step configure 120 "$BUILD_LOG" "${CONFIGURE[@]}" -DPAGODA_BUILD_TESTS="$HAVE_GTEST"; then
    record PASS configure "tests=$HAVE_GTEST (${LAST_SECS}s)"
elif [[ $HAVE_GTEST == ON ]] && run_step configure-notests 120 "$BUILD_LOG" "${CONFIGURE[@]}" -DPAGODA_BUILD_TESTS=OFF; then
    HAVE_GTEST=OFF
    record PASS configure "tests=OFF after a failed configure with tests (${LAST_SECS}s)"
else
    record FAIL configure "see build.log"
fi
TARGETS=(pagoda_cuda pagoda-gpu-selftest pagoda-gpu-bench pagoda)
[[ $HAVE_GTEST == ON ]] && TARGETS+=(pagoda_gpu_tests)
if run_step build 300 "$BUILD_LOG" cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}"; then
    record PASS build "${TARGETS[*]} (${LAST_SECS}s)"
else
    # Build what still builds, one target at a time.
    built=()
    for t in "${TARGETS[@]}"; do
        run_step "build $t" 200 "$BUILD_LOG" cmake --build "$BUILD" -j "$JOBS" --target "$t" >/dev/null && built+=("$t")
    done
    record FAIL build "only [${built[*]:-nothing}] built; errors in build.log: $(grep -m3 -E 'error' "$BUILD_LOG" | tr '\n' ' ' | cut -c1-300)"
fi
BIN=$BUILD/bin
fi

# ---- 2. parity selftest -------------------------------------------------------------------
SELFTEST_LOG=$OUT/selftest.log
: >"$SELFTEST_LOG"
if [[ -x $BIN/pagoda-gpu-selftest ]]; then
    run_step selftest 200 "$SELFTEST_LOG" "$BIN/pagoda-gpu-selftest"
    rc=$LAST_RC
    counts=$(grep -m1 '^SUMMARY' "$SELFTEST_LOG" | sed 's/^SUMMARY selftest: //')
    fails=$(grep '^FAIL' "$SELFTEST_LOG" | head -5 | cut -c1-160 | tr '\n' ';')
    case $rc in
        0) record PASS selftest "$counts" ;;
        2) record SKIP selftest "no CUDA device: $(grep -m1 'SKIP all' "$SELFTEST_LOG")" ;;
        124 | 137) record FAIL selftest "timed out after ${LAST_SECS}s; $counts" ;;
        *) record FAIL selftest "rc=$rc; $counts; first failures: $fails" ;;
    esac
else
    record SKIP selftest "not built"
fi

# ---- 2b. CUDA graphs (opt-in with PAGODA_CUDA_GRAPHS=1 until this step passes on a GPU) --
if [[ -x $BIN/pagoda-gpu-selftest ]]; then
    run_step selftest-graphs 120 "$SELFTEST_LOG" env PAGODA_CUDA_GRAPHS=1 "$BIN/pagoda-gpu-selftest" \
        --filter Model_,GraphDecode
    counts=$(grep '^SUMMARY' "$SELFTEST_LOG" | tail -1 | sed 's/^SUMMARY selftest: //')
    if [[ $LAST_RC == 0 ]]; then record PASS selftest-graphs "$counts"; else record FAIL selftest-graphs "rc=$LAST_RC; $counts"; fi
fi

# ---- 3. GoogleTest suite (same cases in one process, plus error-handling tests) --------
GTEST_LOG=$OUT/gtest.log
: >"$GTEST_LOG"
if [[ $HAVE_GTEST == ON && -x $BIN/pagoda_gpu_tests ]]; then
    # The parity cases just ran in the selftest: here only the tests beyond them.
    run_step gtest 120 "$GTEST_LOG" "$BIN/pagoda_gpu_tests" --gtest_filter='-Cases/*' --gtest_brief=1
    rc=$LAST_RC
    line=$(grep -E '^\[  (PASSED|FAILED)' "$GTEST_LOG" | tr '\n' ' ')
    if [[ $rc == 0 ]]; then record PASS gtest "$line"; else record FAIL gtest "rc=$rc $line"; fi
else
    record SKIP gtest "GoogleTest not installed (the selftest covers the parity cases)"
fi

# ---- 4. compute-sanitizer -----------------------------------------------------------------
SAN_LOG=$OUT/sanitizer.log
: >"$SAN_LOG"
if [[ -n "$SANITIZER" && -x $BIN/pagoda-gpu-selftest ]]; then
    run_step memcheck 120 "$SAN_LOG" "$SANITIZER" --tool memcheck --error-exitcode 99 --print-limit 20 \
        "$BIN/pagoda-gpu-selftest" --quick
    rc=$LAST_RC
    errs=$(grep -m1 -E 'ERROR SUMMARY' "$SAN_LOG" | tail -1)
    case $rc in
        0) record PASS memcheck "quick set, ${LAST_SECS}s; $errs" ;;
        124 | 137) record TIME memcheck "stopped at the ${LAST_SECS}s limit; $errs (see sanitizer.log)" ;;
        *) record FAIL memcheck "rc=$rc; $errs" ;;
    esac
    # racecheck tracks shared memory: the kernels that use it (attention, rms_norm).
    if (($(elapsed) > 300)); then
        record SKIP racecheck "out of time budget"
    else
        run_step racecheck 120 "$SAN_LOG" "$SANITIZER" --tool racecheck --racecheck-report all --error-exitcode 99 \
            --print-limit 20 "$BIN/pagoda-gpu-selftest" --quick --filter Attention,RmsNorm,Model
        rc=$LAST_RC
        errs=$(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$SAN_LOG" | tail -1)
        case $rc in
            0) record PASS racecheck "attention/norm/model quick cases, ${LAST_SECS}s; $errs" ;;
            124 | 137) record TIME racecheck "stopped at the ${LAST_SECS}s limit; $errs (see sanitizer.log)" ;;
            *) record FAIL racecheck "rc=$rc; $errs" ;;
        esac
    fi
else
    record SKIP sanitizer "compute-sanitizer or the selftest missing"
fi

# ---- 5. CLI end to end ----------------------------------------------------------------------
if [[ -x $BIN/pagoda && -n "$SHARED" ]]; then
    model=$SHARED/models/stories260K.gguf
    gpu_text=$(timeout 60 "$BIN/pagoda" generate --model "$model" --prompt "Once upon a time" -n 40 --temp 0 --device cuda 2>>"$LOG")
    gpu_rc=$?
    cpu_text=$(timeout 60 "$BIN/pagoda" generate --model "$model" --prompt "Once upon a time" -n 40 --temp 0 --device cpu 2>>"$LOG")
    echo "cuda: $gpu_text"
    echo "cpu:  $cpu_text"
    if [[ $gpu_rc == 0 && -n "$gpu_text" && "$gpu_text" == "$cpu_text" ]]; then
        record PASS cli-e2e "pagoda generate --device cuda == --device cpu (40 greedy tokens of stories260K)"
    else
        record FAIL cli-e2e "rc=$gpu_rc; cuda [$(echo "$gpu_text" | head -c 80)] cpu [$(echo "$cpu_text" | head -c 80)]"
    fi
else
    record SKIP cli-e2e "pagoda not built or stories260K.gguf not found (set PAGODA_SHARED_DIR)"
fi

# ---- 6. benchmark -------------------------------------------------------------------------
BENCH_LOG=$OUT/bench.log
BENCH_JSON=$OUT/bench.jsonl
: >"$BENCH_LOG"
: >"$BENCH_JSON"
if [[ -x $BIN/pagoda-gpu-bench ]]; then
    for cfg in "q4_0 1" "q4_k 1" "f16 1" "q4_0 8" "q4_0 32" "q4_0 128"; do
        set -- $cfg  # type batch
        if (($(elapsed) > 420)); then
            record SKIP "bench $1 b$2" "out of time budget"
            continue
        fi
        run_step "bench $1 batch $2" 90 "$BENCH_LOG" "$BIN/pagoda-gpu-bench" --type "$1" --batch "$2" --ctx 512 \
            --tokens 64 --json "$BENCH_JSON"
        rc=$LAST_RC
        res=$(grep -E "^RESULT $1 batch $2 " "$BENCH_LOG" | tail -1 | sed 's/^RESULT //')
        if [[ $rc == 0 && -n "$res" ]]; then
            record PASS "bench $1 b$2" "$res"
        else
            record FAIL "bench $1 b$2" "rc=$rc $(grep -E '^(FAIL|SKIP) bench' "$BENCH_LOG" | tail -1)"
        fi
    done
else
    record SKIP bench "pagoda-gpu-bench not built"
fi

# ---- summary --------------------------------------------------------------------------------
{
    echo
    echo "================ gpu_check summary ($(elapsed)s) ================"
    nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1
    for r in "${RESULTS[@]}"; do echo "$r"; done
    echo "logs: $OUT"
} | tee -a "$SUMMARY"
grep -q '^FAIL' "$SUMMARY" && exit 1
exit 0
