#!/usr/bin/env bash
# GPU checks for a machine that has a CUDA LibTorch (e.g. a PyTorch wheel) but none of the other
# dependencies: builds the LibTorch-only model core with its tests and runs the parity tests on
# CUDA and the encoder benchmark.
#   scripts/gpu_check.sh prepare   # here, with Debian's libgtest-dev and nlohmann-json3-dev:
#                                  # copies their sources/headers into third_party/ (ignored)
#   scripts/gpu_check.sh run       # on the GPU machine (carry third_party/)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-run}" in
  prepare)
    mkdir -p third_party/include
    rm -rf third_party/googletest && cp -r /usr/src/googletest third_party/googletest
    cp -r /usr/include/nlohmann third_party/include/
    ;;
  run)
    prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DSAMRI_MODEL_ONLY=ON \
      -DCMAKE_PREFIX_PATH="$prefix"
    cmake --build build-gpu --parallel "$(nproc)" --target samri_model_tests samri_bench_encoder
    build-gpu/tests/samri_model_tests
    build-gpu/tests/benchmarks/samri_bench_encoder vit_b 5 0 cuda
    ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
