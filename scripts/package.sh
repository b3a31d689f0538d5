#!/usr/bin/env bash
# Builds the release packages into build-package/: pagoda_<version>-1_<arch>.deb and the
# portable tarball pagoda-<version>-linux-<arch>[-headless][-cuda].tar.gz, then lists them.
#
#   ./scripts/package.sh                      desktop app + server, CPU backend
#   PAGODA_PACKAGE_GUI=OFF ./scripts/package.sh   headless (no Qt): the more portable tarball
#   PAGODA_PACKAGE_CUDA=ON ./scripts/package.sh   with the CUDA backend (needs NVIDIA's cuBLAS)
#
# Environment: PAGODA_PACKAGE_DIR (default build-package), PAGODA_PACKAGE_MARCH (the CPU
# baseline, default x86-64-v3 = AVX2/FMA/F16C: packages must not be built with -march=native),
# PAGODA_CMAKE_ARGS (extra cmake flags), PAGODA_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${PAGODA_PACKAGE_DIR:-build-package}
GUI=${PAGODA_PACKAGE_GUI:-ON}
CUDA=${PAGODA_PACKAGE_CUDA:-OFF}
MARCH=${PAGODA_PACKAGE_MARCH:-x86-64-v3}
JOBS=${PAGODA_JOBS:-$(nproc)}

command -v dpkg-shlibdeps >/dev/null 2>&1 ||
    { echo "package: dpkg-shlibdeps is missing (Debian package dpkg-dev; ./scripts/setup.sh installs it)" >&2; exit 1; }

GENERATOR=()
command -v ninja >/dev/null 2>&1 && [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]] && GENERATOR=(-G Ninja)
MARCH_FLAGS=()
[[ "$(uname -m)" == "x86_64" && -n "$MARCH" ]] && MARCH_FLAGS=("-DCMAKE_CXX_FLAGS=-march=$MARCH")
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPAGODA_BUILD_GUI="$GUI" -DPAGODA_CUDA="$CUDA" -DPAGODA_NATIVE=OFF -DPAGODA_BUILD_TESTS=OFF \
    "${MARCH_FLAGS[@]}" ${PAGODA_CMAKE_ARGS:-} >&2
cmake --build "$BUILD_DIR" -j "$JOBS" >&2

cd "$BUILD_DIR"
rm -f ./*.deb ./*.tar.gz
cpack -G "DEB;TGZ" >&2
echo "package: built in $BUILD_DIR:" >&2
for f in ./*.deb ./*.tar.gz; do
    [[ -f "$f" ]] && echo "$(pwd)/${f#./}  $(du -h "$f" | cut -f1)"
done
if command -v dpkg-deb >/dev/null 2>&1; then
    for f in ./*.deb; do dpkg-deb --field "$f" Package Version Architecture Depends Recommends >&2; done
fi
