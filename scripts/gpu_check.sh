#!/usr/bin/env bash
# GPU checks for a machine that has a CUDA LibTorch (e.g. a PyTorch wheel) but none of the other
# dependencies: builds the LibTorch-only model core with its tests and runs the parity tests on
# CUDA and the encoder benchmark at batch sizes 1, 8 and 32.
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
    # What the machine has, first, so that a failure below can be read.
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available())'
    nvidia-smi -L || true
    prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
    # A CUDA LibTorch's CMake config needs the CUDA toolkit: take nvcc from PATH, the usual
    # install folder, or an nvidia-* pip package next to torch.
    nvcc=$(command -v nvcc || true)
    [[ -z $nvcc && -x /usr/local/cuda/bin/nvcc ]] && nvcc=/usr/local/cuda/bin/nvcc
    if [[ -z $nvcc ]]; then
      site=$(python3 -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')
      nvcc=$(find "$site" -path '*nvidia*' -name nvcc -type f 2>/dev/null | head -1)
    fi
    cuda_args=()
    if [[ -n $nvcc ]]; then
      echo "nvcc: $nvcc ($("$nvcc" --version | tail -1))"
      cuda_args=(-DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc")")")
    else
      echo "nvcc: not found; a CUDA LibTorch's CMake config may refuse to configure" >&2
    fi
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DSAMRI_MODEL_ONLY=ON \
      -DCMAKE_PREFIX_PATH="$prefix" "${cuda_args[@]}"
    cmake --build build-gpu --parallel "$(nproc)" --target samri_model_tests samri_bench_encoder
    build-gpu/tests/samri_model_tests
    # Slices/s per precision at growing batch sizes (issue 7 asks for bf16 at the batch that fits).
    for batch in 1 8 32; do
      build-gpu/tests/benchmarks/samri_bench_encoder vit_b 5 0 cuda "$batch"
    done
    ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
