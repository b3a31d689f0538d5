#!/usr/bin/env bash
# llama.cpp's CUDA build, the peer of bench/gpu/compare_peers.sh, from the llama.cpp source
# that the pinned node-llama-cpp package ships (a git bundle in tests/peers), so the peer is
# the same llama.cpp release the CPU parity tests use.
#
#   bench/gpu/build_llama_cpp.sh pack OUT.tar.xz     # here: the source needed for llama-bench (~3 MB)
#   bench/gpu/build_llama_cpp.sh build SRC.tar.xz DIR  # on the GPU machine: DIR/bin/llama-bench
#
# The build is CUDA for sm_90 only, static, without FlashAttention kernels (GGML_CUDA_FA=OFF
# halves the compile; llama-bench then runs with flash attention off) and without the
# tools other than llama-bench. JOBS sets the parallelism (default: all cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
pack)
    out=$(realpath -m "${2:?usage: build_llama_cpp.sh pack OUT.tar.xz}")
    bundle=$here/../../tests/peers/node_modules/node-llama-cpp/llama/gitRelease.bundle
    [[ -f $bundle ]] || { echo "no $bundle: run scripts/setup.sh --test first" >&2; exit 1; }
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    git -c advice.detachedHead=false clone -q "$bundle" "$src/llama.cpp"
    cd "$src/llama.cpp"
    printf 'llama_add_compile_flags()\nadd_subdirectory(llama-bench)\n' >tools/CMakeLists.txt
    backends=(vulkan sycl metal cann musa opencl hip webgpu kompute)
    tar "${backends[@]/#/--exclude=ggml/src/ggml-}" -cJf "$out" CMakeLists.txt cmake ggml src include common \
        vendor tools/CMakeLists.txt tools/llama-bench LICENSE
    ls -la "$out"
    ;;
build)
    tarball=$(realpath "${2:?usage: build_llama_cpp.sh build SRC.tar.xz DIR}")
    dir=$(realpath -m "${3:?usage: build_llama_cpp.sh build SRC.tar.xz DIR}")
    mkdir -p "$dir/src"
    tar -xJf "$tarball" -C "$dir/src"
    cmake -S "$dir/src" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DGGML_CUDA_FA=OFF \
        -DGGML_CUDA_NCCL=OFF -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_BUILD_APP=OFF -DCMAKE_CUDA_COMPILER="${CUDACXX:-/usr/local/cuda/bin/nvcc}" >"$dir/configure.log"
    cmake --build "$dir/build" -j "${JOBS:-$(nproc)}" --target llama-bench >"$dir/build.log"
    mkdir -p "$dir/bin"
    cp "$dir/build/bin/llama-bench" "$dir/bin/"
    echo "$dir/bin/llama-bench"
    ;;
*)
    sed -n '2,12p' "$0"
    exit 2
    ;;
esac
