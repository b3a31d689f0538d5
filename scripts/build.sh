#!/usr/bin/env bash
# Configures and builds Pagoda into build/ (executables in build/bin/).
# Environment: PAGODA_BUILD_DIR (default build), PAGODA_CMAKE_ARGS (extra cmake flags).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${PAGODA_BUILD_DIR:-build}
GENERATOR=()
command -v ninja >/dev/null 2>&1 && GENERATOR=(-G Ninja)
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] && GENERATOR=()
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release ${PAGODA_CMAKE_ARGS:-} >&2
cmake --build "$BUILD_DIR" -j "$(nproc)" >&2
