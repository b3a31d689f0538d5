#!/usr/bin/env bash
# One command to set up, build and run the whole test suite:  ./scripts/test.sh [ctest args]
# e.g. ./scripts/test.sh -L unit     (only the fast unit tests)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
if [[ "${CI:-}" == "true" ]]; then
    # CI compiles the CUDA kernels for one architecture only, to stay fast; the GPU
    # tests skip there (no device) but the code must build.
    export PAGODA_CMAKE_ARGS="${PAGODA_CMAKE_ARGS:-} -DPAGODA_CUDA_ARCHITECTURES=90"
fi
./scripts/build.sh
cd "${PAGODA_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
